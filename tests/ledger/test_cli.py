"""The CLI contract of `aiexport ledger|holds|audit`, as later tooling relies on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from aiexport.commands.ledger import register

app = typer.Typer()
register(app)
runner = CliRunner()


@pytest.fixture
def cli(db_url):
    def run(*args: str, actor: str = "clerk"):
        env = {"AIEXPORT_DATABASE_URL": db_url, "AIEXPORT_ACTOR": actor, "COLUMNS": "200"}
        return runner.invoke(app, list(args), env=env)

    return run


def test_open_draw_balance_contract(cli):
    r = cli(
        "ledger",
        "open",
        "license:D1",
        "--limit",
        "1000",
        "--unit",
        "units",
        "--valid-from",
        "2025-01-01",
        "--valid-to",
        "2025-12-31",
    )
    assert r.exit_code == 0, r.output
    r = cli("ledger", "draw", "license:D1", "600", "--ref", "so-1", "--on", "2025-05-01")
    assert r.exit_code == 0, r.output
    r = cli("ledger", "draw", "license:D1", "600", "--ref", "so-1", "--on", "2025-05-01")
    assert r.exit_code == 0 and "already drawn" in r.stdout
    r = cli(
        "ledger",
        "draw",
        "license:D1",
        "401",
        "--ref",
        "so-2",
        "--on",
        "2025-05-01",
        "--format",
        "json",
    )
    assert r.exit_code == 3
    refused = json.loads(r.stdout)
    assert (refused["status"], refused["remaining"]) == ("refused", 400)
    r = cli("ledger", "draw", "license:D1", "1", "--ref", "so-3", "--on", "2026-01-02")
    assert r.exit_code == 3 and "expired" in r.stderr
    r = cli("ledger", "balance", "license:D1", "--format", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout) == {
        "account": "license:D1",
        "limit": 1000,
        "drawn": 600,
        "remaining": 400,
        "unit": "units",
        "kind": "license",
        "valid_from": "2025-01-01",
        "valid_to": "2025-12-31",
    }


def test_release_adjust_history(cli):
    assert cli("ledger", "open", "q", "--limit", "10.5", "--kind", "quota").exit_code == 0
    assert cli("ledger", "draw", "q", "4", "--ref", "a").exit_code == 0
    r = cli("ledger", "release", "q", "--ref", "a", "--reason", "order cancelled")
    assert r.exit_code == 0, r.output
    r = cli("ledger", "adjust", "q", "-0.5", "--reason", "too much")
    assert r.exit_code == 3  # drawn would go below zero
    r = cli("ledger", "adjust", "q", "2.25", "--reason", "shipped by hand", actor="auditor")
    assert r.exit_code == 0, r.output
    hist = json.loads(cli("ledger", "history", "q", "--format", "json").stdout)
    assert [(h["kind"], h["amount"], h["actor"]) for h in hist] == [
        ("draw", 4, "clerk"),
        ("release", -4, "clerk"),
        ("adjust", 2.25, "auditor"),
    ]
    assert json.loads(cli("ledger", "balance", "q", "--format", "json").stdout)["remaining"] == 8.25


@pytest.mark.parametrize(
    "args, field",
    [
        (["ledger", "draw", "q", "1.5x", "--ref", "r"], "AMOUNT"),
        (["ledger", "draw", "q", "-1", "--ref", "r"], "AMOUNT"),
        (["ledger", "draw", "q", "1", "--ref", "r", "--on", "2025-13-01"], "--on"),
        (["ledger", "open", "z", "--limit", "lots"], "--limit"),
        (
            [
                "ledger",
                "open",
                "z",
                "--limit",
                "1",
                "--valid-from",
                "2025-02-01",
                "--valid-to",
                "2025-01-01",
            ],
            "--valid-to",
        ),
        (["ledger", "adjust", "q", "0", "--reason", "r"], "AMOUNT"),
        (["ledger", "draw", "nope", "1", "--ref", "r"], "nope"),
        (["holds", "release", "1", "--reason-code", "WHY", "--reason", "x"], "--reason-code"),
    ],
)
def test_bad_input_exits_2_naming_the_field(cli, args, field):
    cli("ledger", "open", "q", "--limit", "10")
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert field in r.stderr


def test_holds_and_audit_verify(cli, ledger):
    from aiexport.ledger import record_decisions
    from tests.ledger.helpers import decision

    record_decisions(ledger, [decision(1, "LICENSE_REQUIRED")], actor="erp")
    holds = json.loads(cli("holds", "list", "--format", "json").stdout)
    assert [h["decision_id"] for h in holds] == ["dec-1"]
    hid = str(holds[0]["id"])
    r = cli("holds", "release", hid, "--reason-code", "LICENSE_GRANTED", "--reason", "D123")
    assert r.exit_code == 4  # clerk is not an officer
    assert cli("holds", "grant", "olivia").exit_code == 0
    r = cli(
        "holds",
        "release",
        hid,
        "--reason-code",
        "LICENSE_GRANTED",
        "--reason",
        "license D123",
        actor="olivia",
    )
    assert r.exit_code == 0, r.output
    assert json.loads(cli("holds", "list", "--format", "json").stdout) == []
    r = cli("holds", "reject", hid, "--reason-code", "OTHER", "--reason", "again", actor="olivia")
    assert r.exit_code == 3
    r = cli("audit", "verify")
    assert r.exit_code == 0 and "intact" in r.stdout
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE ledger_holds SET reason_text = 'nothing to see'")
    r = cli("audit", "verify")
    assert r.exit_code == 1
    assert "hold 1 differs from audit entry #4" in r.stderr


def test_the_installed_command_runs_end_to_end(db_url):
    """As a user runs it: `python -m aiexport ledger ...` with --db."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "AIEXPORT_ACTOR": "e2e"}
    env.pop("AIEXPORT_DATABASE_URL", None)

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "aiexport", *args, "--db", db_url],
            capture_output=True,
            text=True,
            env=env,
        )

    assert run("ledger", "init").returncode == 0
    assert (
        run("ledger", "open", "lpp:ACME:2025", "--limit", "26900000", "--kind", "quota").returncode
        == 0
    )
    assert run("ledger", "draw", "lpp:ACME:2025", "26899999", "--ref", "x").returncode == 0
    r = run("ledger", "draw", "lpp:ACME:2025", "2", "--ref", "y")
    assert r.returncode == 3 and "remaining 1 tpp" in r.stderr
    r = run("audit", "verify", "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["checked"] == 2
