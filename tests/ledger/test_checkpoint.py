"""`audit checkpoint` / `audit verify --against`: truncation (the last entries deleted and the head
moved back, consistently) passes a plain verify and is caught against a checkpoint kept
elsewhere; a signed checkpoint cannot be edited; read-only commands never create a database."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from aiexport.cli import app
from aiexport.ledger import Ledger

runner = CliRunner()


def cli(db_url: str, *args: str):
    return runner.invoke(app, list(args), env={"AIEXPORT_DATABASE_URL": db_url, "AIEXPORT_ACTOR": "a", "COLUMNS": "200"})


def _truncate_last(db_url: str) -> None:
    """What someone with write access to the database does to hide the last draw."""
    led = Ledger(db_url)
    try:
        with led.engine.begin() as c:
            last = c.execute(text("SELECT MAX(seq) FROM audit_log")).scalar()
            c.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": last})
            c.execute(text("DELETE FROM ledger_entries WHERE id = (SELECT MAX(id) FROM ledger_entries)"))
            c.execute(text("UPDATE audit_head SET seq = :s, hash = (SELECT hash FROM audit_log WHERE seq = :s)"),
                      {"s": last - 1})
            c.execute(text("UPDATE ledger_accounts SET drawn = (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries "
                           "WHERE ledger_entries.account_id = ledger_accounts.id)"))
    finally:
        led.close()


def test_truncation_is_caught_against_a_checkpoint(db_url, tmp_path):
    assert cli(db_url, "ledger", "open", "L", "--limit", "100").exit_code == 0
    assert cli(db_url, "ledger", "draw", "L", "5", "--ref", "a").exit_code == 0
    early = cli(db_url, "audit", "checkpoint")
    assert early.exit_code == 0
    (tmp_path / "early.json").write_text(early.stdout)
    assert cli(db_url, "ledger", "draw", "L", "7", "--ref", "b").exit_code == 0
    r = cli(db_url, "audit", "checkpoint", "--out", str(tmp_path / "cp.json"))
    cp = json.loads(r.stdout)
    assert cp["seq"] == 3 and cp["entries"] == 3 and len(cp["hash"]) == 64
    assert cli(db_url, "audit", "verify", "--against", str(tmp_path / "cp.json")).exit_code == 0

    _truncate_last(db_url)
    assert cli(db_url, "audit", "verify").exit_code == 0  # consistent truncation: invisible without a checkpoint
    assert cli(db_url, "ledger", "balance", "L", "--format", "json").stdout.count('"drawn": 5') == 1
    r = cli(db_url, "audit", "verify", "--against", str(tmp_path / "cp.json"))
    assert r.exit_code == 1
    assert "truncated" in r.output and "ends at #2" in r.output
    # an older checkpoint is still a prefix of the chain: fine
    assert cli(db_url, "audit", "verify", "--against", str(tmp_path / "early.json")).exit_code == 0


def test_a_rewritten_chain_is_caught_against_a_checkpoint(db_url, tmp_path):
    assert cli(db_url, "ledger", "open", "L", "--limit", "100").exit_code == 0
    (tmp_path / "cp.json").write_text(cli(db_url, "audit", "checkpoint").stdout)
    led = Ledger(db_url)
    try:
        with led.engine.begin() as c:  # a different chain of the same length
            c.execute(text("UPDATE audit_log SET hash = :h WHERE seq = 1"), {"h": "f" * 64})
    finally:
        led.close()
    r = cli(db_url, "audit", "verify", "--against", str(tmp_path / "cp.json"))
    assert r.exit_code == 1 and "rewritten" in r.output


def test_a_signed_checkpoint_cannot_be_edited(db_url, tmp_path):
    key = tmp_path / "key"
    key.write_text("a secret of at least sixteen bytes")
    assert cli(db_url, "ledger", "open", "L", "--limit", "100").exit_code == 0
    r = cli(db_url, "audit", "checkpoint", "--key-file", str(key))
    cp = json.loads(r.stdout)
    assert len(cp["signature"]) == 64
    (tmp_path / "cp.json").write_text(json.dumps(cp))
    assert cli(db_url, "audit", "verify", "--against", str(tmp_path / "cp.json"), "--key-file", str(key)).exit_code == 0
    cp["seq"] = 0  # an edited checkpoint that would accept any truncation
    (tmp_path / "cp.json").write_text(json.dumps(cp))
    r = cli(db_url, "audit", "verify", "--against", str(tmp_path / "cp.json"), "--key-file", str(key))
    assert r.exit_code == 2 and "signature" in r.output


def test_a_bad_checkpoint_file_is_bad_input(db_url, tmp_path):
    assert cli(db_url, "ledger", "open", "L", "--limit", "1").exit_code == 0
    (tmp_path / "cp.json").write_text('{"seq": "x"}')
    r = cli(db_url, "audit", "verify", "--against", str(tmp_path / "cp.json"))
    assert r.exit_code == 2 and "audit checkpoint" in r.output
    assert cli(db_url, "audit", "verify", "--against", str(tmp_path / "missing.json")).exit_code == 2


def test_read_only_commands_never_create_a_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'typo' / 'ledgr.db'}"
    for args in (("audit", "verify"), ("audit", "log"), ("audit", "checkpoint"), ("ledger", "list"),
                 ("ledger", "balance", "L"), ("ledger", "history", "L"), ("holds", "list"), ("holds", "officers")):
        r = cli(url, *args)
        assert r.exit_code == 2, (args, r.output)
        assert "there is no ledger at" in r.output and "never creates one" in r.output
    assert not (tmp_path / "typo").exists()


def test_ledger_commands_say_where_the_ledger_is(db_url):
    r = cli(db_url, "ledger", "open", "L", "--limit", "1")
    assert r.exit_code == 0 and "ledger: " in r.stderr
    r = cli(db_url, "holds", "list")
    assert "ledger: " in r.stderr


def test_empty_account_names_and_fractional_units_are_refused(db_url):
    for name in ("", "  ", " padded"):
        r = cli(db_url, "ledger", "open", name, "--limit", "1")
        assert r.exit_code == 2 and "account name" in r.output, (name, r.output)
    r = cli(db_url, "ledger", "open", "U", "--limit", "1.5", "--unit", "units")
    assert r.exit_code == 2 and "whole number of units" in r.output
    assert cli(db_url, "ledger", "open", "U", "--limit", "10", "--unit", "units").exit_code == 0
    r = cli(db_url, "ledger", "draw", "U", "0.5", "--ref", "a")
    assert r.exit_code == 2 and "whole number of units" in r.output
    assert cli(db_url, "ledger", "draw", "U", "2", "--ref", "a").exit_code == 0
    # TPP accounts keep exact decimals
    assert cli(db_url, "ledger", "open", "T", "--limit", "10.5").exit_code == 0
    assert cli(db_url, "ledger", "draw", "T", "0.25", "--ref", "a").exit_code == 0
