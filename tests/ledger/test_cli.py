"""The CLI contract of `aiexport ledger|holds|audit`, as later tooling relies on it."""

from __future__ import annotations

import getpass
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


LOCAL = f"local:{getpass.getuser()}"  # the CLI's identity while no user exists (docs/api.md)


@pytest.fixture
def cli(db_url, tmp_path):
    def run(*args: str, token: str | None = None, actor: str = "mallory"):
        # AIEXPORT_ACTOR is set to show it is no identity: only the configured user's token counts
        env = {"AIEXPORT_DATABASE_URL": db_url, "AIEXPORT_ACTOR": actor, "COLUMNS": "200",
               "AIEXPORT_TOKEN": token or "", "AIEXPORT_TOKEN_FILE": str(tmp_path / "no-token")}
        return runner.invoke(app, list(args), env=env)

    return run


def _one_line(stderr: str) -> bool:
    """One line of error (besides the line saying where the ledger is)."""
    return len([ln for ln in stderr.strip().splitlines() if not ln.startswith("ledger: ")]) == 1


@pytest.fixture
def users(ledger):
    """An admin (`users init`), an analyst and an officer, with their tokens."""
    from aiexport.auth import service as auth

    admin = auth.Actor("root", "admin")
    tokens = {"root": auth.init_admin(ledger, "root")}
    for name, role in (("ana", "analyst"), ("olivia", "officer"), ("vic", "viewer")):
        tokens[name] = auth.add_user(ledger, admin, name, role)[1]
    return tokens


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
    """Before any user exists the OS user acts as the local admin, recorded as local:<osuser>."""
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
        ("draw", 4, LOCAL),
        ("release", -4, LOCAL),
        ("adjust", 2.25, LOCAL),
    ]
    assert json.loads(cli("ledger", "balance", "q", "--format", "json").stdout)["remaining"] == 8.25


def test_once_users_exist_writes_need_the_configured_user_and_its_role(cli, users):
    """`--actor` and $AIEXPORT_ACTOR prove nothing; the token's user acts, and only with the role."""
    assert cli("ledger", "open", "q", "--limit", "10", token=users["ana"]).exit_code == 77  # opening: officer
    assert cli("ledger", "open", "q", "--limit", "10", token=users["olivia"]).exit_code == 0
    r = cli("ledger", "draw", "q", "4", "--ref", "a")  # no token: not authenticated
    assert r.exit_code == 77 and _one_line(r.stderr) and "AIEXPORT_TOKEN" in r.stderr
    assert cli("ledger", "draw", "q", "4", "--ref", "a", token=users["vic"]).exit_code == 77  # a viewer
    assert cli("ledger", "draw", "q", "4", "--ref", "a", token=users["ana"], actor="olivia").exit_code == 0
    for args in (("ledger", "adjust", "q", "-4", "--reason", "x"), ("ledger", "release", "q", "--ref", "a", "--reason", "x")):
        r = cli(*args, token=users["ana"], actor="olivia")
        assert r.exit_code == 77 and "officer" in r.stderr and _one_line(r.stderr), r.output
    r = cli("ledger", "draw", "q", "1", "--ref", "b", "--actor", "olivia", token=users["ana"])
    assert r.exit_code == 2 and "--actor" in r.stderr  # refused, not silently ignored
    assert cli("ledger", "adjust", "q", "-4", "--reason", "counted again", token=users["olivia"]).exit_code == 0
    hist = json.loads(cli("ledger", "history", "q", "--format", "json").stdout)
    assert [(h["kind"], h["actor"]) for h in hist] == [("draw", "ana"), ("adjust", "olivia")]
    assert json.loads(cli("ledger", "balance", "q", "--format", "json").stdout)["drawn"] == 0
    r = cli("holds", "grant", "mallory", token=users["ana"])
    assert r.exit_code == 2 and "users add mallory --role officer" in r.stderr


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


def test_holds_and_audit_verify(cli, ledger, users):
    from aiexport.ledger import record_decisions
    from tests.ledger.helpers import decision

    record_decisions(ledger, [decision(1, "LICENSE_REQUIRED")], actor="erp")
    holds = json.loads(cli("holds", "list", "--format", "json").stdout)
    assert [h["decision_id"] for h in holds] == ["dec-1"]
    hid = str(holds[0]["id"])
    r = cli("holds", "release", hid, "--reason-code", "LICENSE_GRANTED", "--reason", "D123", token=users["ana"],
            actor="olivia")
    assert r.exit_code == 77 and "officer" in r.stderr  # an analyst, whatever AIEXPORT_ACTOR says
    r = cli(
        "holds",
        "release",
        hid,
        "--reason-code",
        "LICENSE_GRANTED",
        "--reason",
        "license D123",
        token=users["olivia"],
    )
    assert r.exit_code == 0, r.output
    assert "by olivia" in r.stdout
    assert json.loads(cli("holds", "list", "--format", "json").stdout) == []
    r = cli("holds", "reject", hid, "--reason-code", "OTHER", "--reason", "again", token=users["olivia"])
    assert r.exit_code == 3
    r = cli("audit", "verify")
    assert r.exit_code == 0 and "intact" in r.stdout
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE ledger_holds SET reason_text = 'nothing to see'")
    r = cli("audit", "verify")
    assert r.exit_code == 1
    assert "hold 1 differs from audit entry #" in r.stderr


def test_the_local_admin_releases_a_hold_before_any_user_exists(cli, ledger):
    from aiexport.ledger import record_decisions
    from tests.ledger.helpers import decision

    record_decisions(ledger, [decision(1, "LICENSE_REQUIRED")], actor="erp")
    hid = str(json.loads(cli("holds", "list", "--format", "json").stdout)[0]["id"])
    r = cli("holds", "release", hid, "--reason-code", "LICENSE_GRANTED", "--reason", "D123", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["resolved_by"] == LOCAL
    assert cli("audit", "verify").exit_code == 0


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


def test_check_record_acts_as_the_configured_user(db_url, ledger, tmp_path):
    """`check --record`: the local admin on a fresh ledger; once users exist, an analyst's token
    (a viewer exits 77 and nothing is recorded; $AIEXPORT_ACTOR and --actor are no identity)."""
    from aiexport.auth import service as auth
    from aiexport.cli import app as main_app

    orders = tmp_path / "o.yaml"
    orders.write_text(
        "- {id: A, date: 2025-06-02, from: US, to: CN, item: {chip: H100 SXM}, quantity: 8, consignee: {country: CN}}\n"
        "- {id: B, date: 2025-06-02, from: US, to: DE, item: {chip: H100 SXM}, quantity: 8, consignee: {country: DE}}\n",
        encoding="utf-8")

    def check(path, token=None, *extra):
        env = {"AIEXPORT_DATABASE_URL": db_url, "AIEXPORT_ACTOR": "mallory", "COLUMNS": "200",
               "AIEXPORT_TOKEN": token or "", "AIEXPORT_TOKEN_FILE": str(tmp_path / "no-token")}
        return runner.invoke(main_app, ["check", str(path), "--record", "--format", "json", *extra], env=env)

    r = check(orders)
    assert r.exit_code == 0, r.output
    assert ledger.decision("A@2025-06-02/enforced")["actor"] == LOCAL
    root = auth.init_admin(ledger, "root")
    viewer = auth.add_user(ledger, auth.Actor("root", "admin"), "vic", "viewer")[1]
    analyst = auth.add_user(ledger, auth.Actor("root", "admin"), "ana", "analyst")[1]
    orders2 = tmp_path / "o2.yaml"
    orders2.write_text(orders.read_text(encoding="utf-8").replace("id: A", "id: C").replace("id: B", "id: D"),
                       encoding="utf-8")
    for token in (None, viewer):
        r = check(orders2, token)
        assert r.exit_code == 77, r.output
        assert ledger.decision("C@2025-06-02/enforced") is None
    assert check(orders2, analyst, "--actor", "root").exit_code == 2
    r = check(orders2, analyst)
    assert r.exit_code == 0, r.output
    assert ledger.decision("C@2025-06-02/enforced")["actor"] == "ana"
    assert root


def test_screening_writes_act_as_the_configured_officer(db_url, users, tmp_path):
    """`lists load` and `disposition add` record the authenticated officer, like the ledger's writes:
    an analyst exits 77, `--actor` exits 2, and the chain names the officer."""
    from aiexport.cli import app as main_app

    def cli(*args, token):
        env = {"AIEXPORT_DATABASE_URL": db_url, "AIEXPORT_ACTOR": "mallory", "COLUMNS": "200",
               "AIEXPORT_TOKEN": token, "AIEXPORT_TOKEN_FILE": str(tmp_path / "no-token")}
        return runner.invoke(main_app, list(args), env=env)

    fixture = Path(__file__).resolve().parents[1] / "law" / "reach" / "fixtures" / "csl_reach.csv"
    r = cli("lists", "load", str(fixture), token=users["ana"])
    assert r.exit_code == 77 and "officer" in r.stderr, r.output
    assert cli("lists", "load", str(fixture), "--actor", "olivia", token=users["olivia"]).exit_code == 2
    assert cli("lists", "load", str(fixture), token=users["olivia"]).exit_code == 0
    r = cli("disposition", "add", "--party", "Nobody Ltd", "--entry", "x", "--status", "false_positive",
            "--reason", "not them", token=users["ana"])
    assert r.exit_code == 77 and "officer" in r.stderr, r.output
    log = json.loads(cli("audit", "log", "--format", "json", token=users["ana"]).stdout)
    assert any("olivia" in json.dumps(e.get("payload")) for e in log if e["kind"] != "user"), [e["kind"] for e in log]
