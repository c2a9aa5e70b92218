"""`explain` reproduces `check`: the same options give the same answer, and a recorded decision
is explained from the inputs that were recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aiexport.cli import app

runner = CliRunner()


def run(*args: str, db: str | None = None):
    env = {"COLUMNS": "200", "AIEXPORT_ACTOR": "a"}
    if db:
        env["AIEXPORT_DATABASE_URL"] = db
    return runner.invoke(app, list(args), env=env)


def write(tmp_path: Path, rows: list[dict]) -> Path:
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump(rows))
    return f


H20 = {"id": "h", "date": "2025-06-02", "from": "US", "to": "CN", "item": {"chip": "H20"}, "quantity": 10,
       "consignee": {"country": "CN"}}
LPP = {"id": "l", "date": "2025-06-02", "from": "US", "to": "IN", "item": {"chip": "H100 SXM"}, "quantity": 100,
       "consignee": {"name": "Mumbai AI Labs", "country": "IN"}}


def _outcome(memo: str) -> str:
    for o in ("LICENSE_REQUIRED", "LICENSE_EXCEPTION", "NEEDS_FACTS", "NLR"):
        if o in memo.split("Outcome")[-1]:
            return o
    raise AssertionError(memo)


@pytest.mark.parametrize("extra", [[], ["--notice", "h20-mi308-2025-04"], ["--on", "2024-01-02"],
                                   ["--posture", "codified"], ["--on", "2023-06-01", "--posture", "codified"]])
def test_explain_takes_the_options_of_check_and_gives_its_answer(tmp_path, extra):
    f = write(tmp_path, [H20])
    checked = run("check", str(f), "--format", "json", *extra)
    assert checked.exit_code == 0, checked.output
    want = json.loads(checked.stdout)[0]
    memo = run("explain", str(f), "--id", "h", *extra)
    assert memo.exit_code == 0, memo.output
    assert _outcome(memo.stdout) == want["outcome"]
    for rule in want["rules"]:
        assert rule in memo.stdout


def test_the_notice_changes_the_memo(tmp_path):
    f = write(tmp_path, [H20])
    plain = run("explain", str(f), "--id", "h")
    noticed = run("explain", str(f), "--id", "h", "--notice", "h20-mi308-2025-04")
    assert "notice:h20-mi308-2025-04" not in plain.stdout.split("Outcome")[-1].split("Under the")[0]
    assert "notice:h20-mi308-2025-04" in noticed.stdout


def test_explain_a_recorded_decision_from_its_recorded_inputs(tmp_path):
    db = f"sqlite:///{tmp_path / 'l.db'}"
    f = write(tmp_path, [LPP, {**LPP, "id": "l2", "quantity": 1000}])
    r = run("check", str(f), "--posture", "codified", "--record", "--format", "json", db=db)
    assert r.exit_code == 0, r.output
    got = {x["id"]: x for x in json.loads(r.stdout)}
    assert got["l"]["license_exception"] == "LPP" and got["l2"]["license_exception"] == "LPP"
    f.unlink()  # the file is gone: the ledger has what was decided on
    memo = run("explain", "--id", "l2@2025-06-02/codified", db=db)
    assert memo.exit_code == 0, memo.output
    text = " ".join(memo.stdout.split())
    assert "Recorded decision l2@2025-06-02/codified" in text and "the same answer" in text
    assert "codified posture" in text and "LPP" in text
    # an order key finds its latest version
    assert run("explain", "--id", "l@2025-06-02/codified", db=db).exit_code == 0


def test_explain_an_unknown_recorded_decision_or_no_ledger(tmp_path):
    db = f"sqlite:///{tmp_path / 'none' / 'l.db'}"
    r = run("explain", "--id", "x@2025-01-01/enforced", db=db)
    assert r.exit_code == 2 and "no ledger" in r.output
    assert not (tmp_path / "none").exists()
    db = f"sqlite:///{tmp_path / 'l.db'}"
    assert run("check", str(write(tmp_path, [H20])), "--record", db=db).exit_code == 0
    r = run("explain", "--id", "nope", db=db)
    assert r.exit_code == 2 and "recorded decision id" in r.output


def test_a_date_before_the_first_rule_says_no_rule_in_force(tmp_path):
    f = write(tmp_path, [H20])
    r = run("check", str(f), "--on", "2019-01-01", "--format", "json")
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)[0]
    assert rec["rule_set"].startswith("R0:") and rec["eccn"] is None
    assert "no rule in force" in r.stderr
    later = run("check", str(f), "--on", "2022-10-21", "--format", "json")
    assert not json.loads(later.stdout)[0]["rule_set"].startswith("R0:") and "no rule in force" not in later.stderr
