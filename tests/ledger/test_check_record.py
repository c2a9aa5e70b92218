"""`aiexport check --record`: decisions into the ledger, LPP read from and drawn into it, holds,
idempotent re-runs, an intact audit chain — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from aiexport.cli import app

runner = CliRunner()


def orders(tmp_path: Path, name: str, rows: list[tuple[str, str, str, int]]) -> Path:
    f = tmp_path / name
    f.write_text(yaml.safe_dump([
        {"id": i, "date": d, "from": "US", "to": to, "item": {"chip": "H100 SXM"}, "quantity": q,
         "consignee": {"name": "Mumbai AI Labs" if to == "IN" else "X", "country": to}}
        for i, d, to, q in rows
    ]))
    return f


def cli(db_url: str, *args: str):
    return runner.invoke(app, list(args), env={"AIEXPORT_DATABASE_URL": db_url, "COLUMNS": "200", "AIEXPORT_ACTOR": "alice"})


def test_record_draws_lpp_in_order_opens_holds_and_is_idempotent(db_url, tmp_path):
    f = orders(tmp_path, "batch.yaml", [
        ("a", "2025-06-02", "IN", 1000),   # 15,832,000 TPP
        ("b", "2025-06-03", "IN", 600),    # +9,499,200 = 25,331,200
        ("c", "2025-06-04", "IN", 200),    # +3,166,400 would exceed 26,900,000
        ("d", "2025-06-04", "CN", 2),
    ])
    r = cli(db_url, "check", str(f), "--posture", "codified", "--record", "--format", "json")
    assert r.exit_code == 0, r.output
    got = {x["id"]: x for x in json.loads(r.stdout)}
    assert [got[k]["license_exception"] for k in "ab"] == ["LPP", "LPP"]
    assert got["c"]["outcome"] == "LICENSE_REQUIRED" and "740.29.LPP.exceeded" in got["c"]["rules"]
    bal = json.loads(cli(db_url, "ledger", "balance", "lpp:MUMBAI-AI-LABS:2025", "--format", "json").stdout)
    assert bal["drawn"] == 25_331_200 and bal["limit"] == 26_900_000
    alloc = json.loads(cli(db_url, "ledger", "balance", "allocation:IN:2025-2027", "--format", "json").stdout)
    assert alloc["drawn"] == 3_166_400
    holds = cli(db_url, "holds", "list", "--format", "json")
    assert holds.exit_code == 0
    assert sorted(h["decision_id"] for h in json.loads(holds.stdout)) == ["c@2025-06-04/codified", "d@2025-06-04/codified"]

    again = cli(db_url, "check", str(f), "--posture", "codified", "--record", "--format", "json")
    assert again.exit_code == 0, again.output
    assert [x["outcome"] for x in json.loads(again.stdout)] == [got[k]["outcome"] for k in "abcd"]
    bal2 = json.loads(cli(db_url, "ledger", "balance", "lpp:MUMBAI-AI-LABS:2025", "--format", "json").stdout)
    assert bal2["drawn"] == 25_331_200  # nothing drawn twice

    # A later order reads the prior consumption from the ledger instead of a stated fact.
    g = orders(tmp_path, "later.yaml", [("e", "2025-07-01", "IN", 99), ("f", "2025-07-02", "IN", 1)])
    later = {x["id"]: x for x in json.loads(cli(db_url, "check", str(g), "--posture", "codified", "--record", "--format", "json").stdout)}
    assert later["e"]["license_exception"] == "LPP"      # 25,331,200 + 1,567,368 = 26,898,568
    assert later["f"]["outcome"] == "LICENSE_REQUIRED"   # + 15,832 > 26,900,000
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_enforced_record_draws_nothing(db_url, tmp_path):
    f = orders(tmp_path, "enf.yaml", [("a", "2025-06-02", "IN", 1000), ("b", "2024-06-01", "CN", 8)])
    r = cli(db_url, "check", str(f), "--record", "--format", "json")
    assert r.exit_code == 0, r.output
    assert [x["outcome"] for x in json.loads(r.stdout)] == ["NLR", "LICENSE_REQUIRED"]
    accounts = cli(db_url, "ledger", "list", "--format", "json")
    assert json.loads(accounts.stdout) == []
    assert len(json.loads(cli(db_url, "holds", "list", "--format", "json").stdout)) == 1
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_record_with_an_enabled_notice(db_url, tmp_path):
    f = tmp_path / "h20.yaml"
    f.write_text(yaml.safe_dump([{"id": "h20", "date": "2025-06-01", "from": "US", "to": "CN",
                                  "item": {"chip": "H20"}, "quantity": 100, "consignee": {"country": "CN"}}]))
    r = cli(db_url, "check", str(f), "--record", "--notice", "h20-mi308-2025-04", "--format", "json")
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)[0]
    assert rec["outcome"] == "LICENSE_REQUIRED" and "notice:h20-mi308-2025-04" in rec["rules"]
    holds = json.loads(cli(db_url, "holds", "list", "--format", "json").stdout)
    assert [h["decision_id"] for h in holds] == ["h20@2025-06-01/enforced"]
    assert cli(db_url, "audit", "verify").exit_code == 0
