"""Issue 14 on the ledger: amended orders are new versions; a used-up allocation holds one line,
not the file; a rejected hold gives its allocation back; every field of a decision and every
running total is covered by `audit verify`; recording is chunked and resumable."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from aiexport.cli import app
from aiexport.commands import record as record_mod
from aiexport.ledger import Ledger

runner = CliRunner()


def cli(db_url: str, *args: str, actor: str = "alice"):
    return runner.invoke(app, list(args), env={"AIEXPORT_DATABASE_URL": db_url, "COLUMNS": "200", "AIEXPORT_ACTOR": actor})


def write(tmp_path: Path, name: str, rows: list[dict]) -> Path:
    f = tmp_path / name
    f.write_text(yaml.safe_dump(rows))
    return f


def order(i: str, to: str = "IN", q: int = 1000, date: str = "2025-06-02", name: str = "Mumbai AI Labs") -> dict:
    return {"id": i, "date": date, "from": "US", "to": to, "item": {"chip": "H100 SXM"}, "quantity": q,
            "consignee": {"name": name, "country": to}}


def balance(db_url: str, account: str) -> dict:
    r = cli(db_url, "ledger", "balance", account, "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_an_amended_order_is_decided_again_as_a_new_version(db_url, tmp_path):
    f = write(tmp_path, "o.yaml", [order("a", q=1000)])
    first = cli(db_url, "check", str(f), "--posture", "codified", "--record", "--format", "json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)[0]["license_exception"] == "LPP"
    assert balance(db_url, "lpp:MUMBAI-AI-LABS:2025")["drawn"] == 15_832_000

    # Same id, new quantity: over the LPP limit now, so a license is required and a hold opens.
    f = write(tmp_path, "o.yaml", [order("a", q=2000)])
    second = cli(db_url, "check", str(f), "--posture", "codified", "--record", "--format", "json")
    assert second.exit_code == 0, second.output
    rec = json.loads(second.stdout)[0]
    assert rec["outcome"] == "LICENSE_REQUIRED" and "740.29.LPP.exceeded" in rec["rules"]
    assert rec["version"] == 2 and rec["supersedes_record"] == 1
    assert "amended" in second.stderr and "v2 supersedes record 1" in " ".join(second.stderr.split())
    # the old version's LPP draw is returned; the new one drew nothing from LPP
    assert balance(db_url, "lpp:MUMBAI-AI-LABS:2025")["drawn"] == 0
    holds = json.loads(cli(db_url, "holds", "list", "--format", "json").stdout)
    assert [h["decision_id"] for h in holds] == ["a@2025-06-02/codified#v2"]

    # Running it again changes nothing (idempotent on the content); a new destination is v3.
    again = cli(db_url, "check", str(f), "--posture", "codified", "--record", "--format", "json")
    assert again.exit_code == 0 and "already recorded" in again.stderr
    f = write(tmp_path, "o.yaml", [order("a", to="DE", q=2000, name="Mumbai AI Labs")])
    third = cli(db_url, "check", str(f), "--posture", "codified", "--record", "--format", "json")
    assert json.loads(third.stdout)[0]["version"] == 3
    all_holds = {h["decision_id"]: h["status"] for h in json.loads(cli(db_url, "holds", "list", "--status", "all", "--format", "json").stdout)}
    assert all_holds["a@2025-06-02/codified#v2"] == "superseded"
    # every version stays in the audit chain
    log = json.loads(cli(db_url, "audit", "log", "--limit", "100", "--format", "json").stdout)
    assert {p["payload"].get("decision_id") for p in log if p["kind"] == "decision"} == {
        "a@2025-06-02/codified", "a@2025-06-02/codified#v2", "a@2025-06-02/codified#v3"}
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_the_same_order_under_a_notice_is_a_new_version_too(db_url, tmp_path):
    f = write(tmp_path, "h.yaml", [{**order("h", to="CN", q=10, name="X"), "item": {"chip": "H20"}}])
    assert cli(db_url, "check", str(f), "--record").exit_code == 0
    r = cli(db_url, "check", str(f), "--record", "--notice", "h20-mi308-2025-04", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["version"] == 2


def test_a_used_up_allocation_holds_that_line_and_records_the_others(db_url, tmp_path):
    # A small allocation for India, opened by hand: two of three license-required orders fit.
    assert cli(db_url, "ledger", "open", "allocation:IN:2025-2027", "--limit", "40000000", "--kind", "allocation",
               "--valid-from", "2025-01-01", "--valid-to", "2027-12-31").exit_code == 0
    rows = [order(i, q=2000, name=f"Party {i}") for i in ("x", "y", "z")]  # 31,664,000 TPP each > LPP
    f = write(tmp_path, "alloc.yaml", rows)
    r = cli(db_url, "check", str(f), "--posture", "codified", "--record", "--format", "json")
    assert r.exit_code == 0, r.output
    assert [x["outcome"] for x in json.loads(r.stdout)] == ["LICENSE_REQUIRED"] * 3
    assert "did not fit" in r.stderr
    led = Ledger(db_url)
    try:
        y = led.decision("y@2025-06-02/codified")["decision"]
        assert y["draws_refused"][0]["account"] == "allocation:IN:2025-2027"
        assert led.decision("z@2025-06-02/codified") is not None
    finally:
        led.close()
    assert balance(db_url, "allocation:IN:2025-2027")["drawn"] == 31_664_000
    holds = json.loads(cli(db_url, "holds", "list", "--format", "json").stdout)
    assert len(holds) == 3

    # Rejecting x's hold returns its allocation (no user defined yet: the CLI acts as the local admin).
    hx = next(h["id"] for h in holds if h["decision_id"].startswith("x@"))
    rej = cli(db_url, "holds", "reject", str(hx), "--reason-code", "LICENSE_DENIED", "--reason", "denied",
              "--format", "json")
    assert rej.exit_code == 0, rej.output
    assert json.loads(rej.stdout)["released_draws"][0]["account"] == "allocation:IN:2025-2027"
    assert balance(db_url, "allocation:IN:2025-2027")["drawn"] == 0
    assert cli(db_url, "audit", "verify").exit_code == 0


def _sql(db_url: str, stmt: str) -> None:
    led = Ledger(db_url)
    try:
        with led.engine.begin() as conn:
            conn.execute(text(stmt))
    finally:
        led.close()


def _recorded(db_url, tmp_path) -> None:
    f = write(tmp_path, "o.yaml", [order("a", q=1000), order("b", to="CN", q=8, name="X")])
    assert cli(db_url, "check", str(f), "--posture", "codified", "--record").exit_code == 0
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_changing_any_column_of_a_decision_is_detected(db_url, tmp_path):
    _recorded(db_url, tmp_path)
    for stmt in ("UPDATE ledger_decisions SET outcome = 'NLR' WHERE outcome = 'LICENSE_REQUIRED'",
                 "UPDATE ledger_decisions SET posture = 'enforced'",
                 "UPDATE ledger_decisions SET rule_set = 'R0'",
                 "UPDATE ledger_decisions SET date = '2020-01-01'",
                 "UPDATE ledger_decisions SET version = 7",
                 "UPDATE ledger_decisions SET content_hash = 'x'"):
        fresh = tmp_path / stmt.split("SET ")[1].split(" ")[0]
        fresh.mkdir()
        if db_url.startswith("sqlite"):
            url = f"sqlite:///{fresh / 'l.db'}"
        else:
            url = db_url
            _sql(url, "DELETE FROM ledger_holds")
            _sql(url, "DELETE FROM ledger_entries")
            _sql(url, "DELETE FROM ledger_decisions")
            _sql(url, "DELETE FROM ledger_accounts")
            _sql(url, "DELETE FROM audit_log")
            _sql(url, "UPDATE audit_head SET seq = 0, hash = '" + "0" * 64 + "'")
        _recorded(url, fresh)
        _sql(url, stmt)
        r = cli(url, "audit", "verify")
        assert r.exit_code == 1, (stmt, r.output)
        assert "changed" in r.output


def test_a_changed_running_total_is_detected(db_url, tmp_path):
    _recorded(db_url, tmp_path)
    _sql(db_url, "UPDATE ledger_accounts SET drawn = 0")
    r = cli(db_url, "audit", "verify")
    assert r.exit_code == 1 and "running total" in r.output


def test_recording_is_chunked_and_a_killed_run_resumes(db_url, tmp_path, monkeypatch):
    monkeypatch.setattr(record_mod, "CHUNK", 2)
    rows = [order(f"o{i}", to="CN", q=1, name="X") for i in range(5)]
    f = write(tmp_path, "many.yaml", rows)
    # Simulate a run killed after the first chunk: the first two are committed.
    calls = {"n": 0}
    real = Ledger.record_decisions

    def dies_after_one_chunk(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, *a, **kw)

    monkeypatch.setattr(Ledger, "record_decisions", dies_after_one_chunk)
    r = cli(db_url, "check", str(f), "--record")
    assert r.exit_code != 0
    monkeypatch.setattr(Ledger, "record_decisions", real)
    led = Ledger(db_url)
    try:
        assert [led.decision(f"o{i}@2025-06-02/enforced") is not None for i in range(5)] == [True, True, False, False, False]
    finally:
        led.close()
    again = cli(db_url, "check", str(f), "--record", "--format", "json")
    assert again.exit_code == 0, again.output
    assert "2 of 5 orders were already recorded" in " ".join(again.stderr.split())
    assert len(json.loads(cli(db_url, "holds", "list", "--format", "json").stdout)) == 5
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_another_writer_gets_in_between_chunks(db_url, tmp_path, monkeypatch):
    """The write lock is held for one chunk at a time: a draw by another process's connection
    (here: another Ledger) succeeds while a long record is under way."""
    monkeypatch.setattr(record_mod, "CHUNK", 2)
    assert cli(db_url, "ledger", "open", "L", "--limit", "100").exit_code == 0
    f = write(tmp_path, "many.yaml", [order(f"o{i}", to="CN", q=1, name="X") for i in range(6)])
    real = Ledger.record_decisions
    other = Ledger(db_url)
    drawn = []

    def record_then_let_another_writer_in(self, *a, **kw):
        ids = real(self, *a, **kw)
        drawn.append(other.draw("L", 1, f"between-{len(drawn)}", actor="other").status)
        return ids

    monkeypatch.setattr(Ledger, "record_decisions", record_then_let_another_writer_in)
    try:
        r = cli(db_url, "check", str(f), "--record")
    finally:
        other.close()
    assert r.exit_code == 0, r.output
    assert drawn == ["drawn", "drawn", "drawn"]  # three chunks of two, a draw after each
    assert balance(db_url, "L")["drawn"] == 3
    assert cli(db_url, "audit", "verify").exit_code == 0
