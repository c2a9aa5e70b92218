"""Lock contention is not bad input: a writer that waited past the busy timeout exits 75 with a
message saying so (SQLite; PostgreSQL maps lock_timeout the same way)."""

from __future__ import annotations

import sqlite3

import yaml
from typer.testing import CliRunner

from aiexport.cli import app

runner = CliRunner()


def test_a_locked_database_exits_75_not_2(tmp_path):
    path = tmp_path / "l.db"
    env = {"AIEXPORT_DATABASE_URL": f"sqlite:///{path}", "AIEXPORT_ACTOR": "a", "AIEXPORT_BUSY_TIMEOUT": "0.2",
           "COLUMNS": "200"}
    assert runner.invoke(app, ["ledger", "open", "L1", "--limit", "10"], env=env).exit_code == 0
    f = tmp_path / "o.yaml"
    f.write_text(yaml.safe_dump([{"id": "a", "date": "2025-06-02", "from": "US", "to": "CN", "item": {"chip": "H100 SXM"},
                                  "quantity": 1, "consignee": {"country": "CN"}}]))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        r = runner.invoke(app, ["ledger", "draw", "L1", "1", "--ref", "r1"], env=env)
        assert r.exit_code == 75, r.output
        assert "busy" in r.output and "locked by another writer" in r.output
        r = runner.invoke(app, ["check", str(f), "--record"], env=env)
        assert r.exit_code == 75, r.output
        assert "busy" in r.output
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert runner.invoke(app, ["ledger", "draw", "L1", "1", "--ref", "r1"], env=env).exit_code == 0
