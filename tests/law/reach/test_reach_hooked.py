"""The reach step as `check`, `check --record` and `explain` run it (issue 10): VEU authorizations on
record, their limits drawn from the ledger when recording under `codified`, and the screening's
reach facts — through the application use cases (app.decisions, app.record) and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aiexport.app import veu as uc
from aiexport.app.decisions import decide_checked, explain_rows
from aiexport.app.record import record_orders
from aiexport.auth import service as auth
from aiexport.io.transactions import Transaction
from aiexport.ledger import Ledger

AUTHS = [{"id": "NVEU-VN-1", "kind": "nveu", "holder": "Saigon Compute JSC", "headquarters": "VN",
          "sites": [{"country": "VN"}], "eccns": ["4A090", "3A090"], "valid_from": "2025-01-13", "allocation_tpp": 200000}]
DAY = "2025-06-02"
FIXTURE = Path(__file__).parent / "fixtures" / "csl_reach.csv"


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'l.db'}"
    monkeypatch.setenv("AIEXPORT_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "veu.yaml"
    f.write_text(yaml.safe_dump({"authorizations": AUTHS}))
    with Ledger(url) as led:
        auth.init_admin(led, "boss")
        uc.load_file(led, auth.Actor("boss", "admin"), f)
    return url


def _tx(n: int, **facts) -> Transaction:
    return Transaction.model_validate({
        "id": f"S{n}", "date": DAY, "kind": "export", "from": "US", "to": "VN", "quantity": 1,
        "item": {"server": [{"chip": "H100 SXM", "count": 8}]},  # 126,656 TPP
        "consignee": {"name": "Saigon Compute JSC", "country": "VN"}, "facts": {"veu_authorization": "NVEU-VN-1", **facts}})


def test_check_reads_the_authorizations_on_record(db):
    for posture in ("enforced", "codified"):
        frame = decide_checked([_tx(1)], [1], "orders", None, posture)
        row = frame.row(0, named=True)
        assert row["outcome"] == "LICENSE_EXCEPTION" and row["license_exception"] == "VEU", row["rules"]
        assert "748.15(a)(2)(iii).NVEU" in row["rules"]


def test_record_in_sequence_within_then_beyond_the_nveu_installed_base(db):
    with Ledger(db) as led:
        first = record_orders([_tx(1)], [1], "orders", None, "codified", "boss", ledger=led)
        second = record_orders([_tx(2)], [1], "orders", None, "codified", "boss", ledger=led)
        assert first.records[0]["license_exception"] == "VEU"
        assert "veu:NVEU-VN-1:installed-base:VN −126656" in " ".join(first.draws)
        assert second.records[0]["outcome"] == "LICENSE_REQUIRED"
        assert "748.15(a)(2)(iii)(B).allocation" in second.records[0]["rules"]
        assert led.balance("veu:NVEU-VN-1:installed-base:VN").drawn == Decimal("126656")
        # the same two under enforced: no installed-base limit, nothing drawn
        e = [record_orders([_tx(n)], [1], "orders", None, "enforced", "boss", ledger=led) for n in (3, 4)]
        assert [r.records[0]["license_exception"] for r in e] == ["VEU", "VEU"] and not any(r.draws for r in e)
        assert led.verify().ok


def test_a_revoked_authorization_no_longer_authorizes(db):
    with Ledger(db) as led:
        uc.revoke(led, auth.Actor("boss", "admin"), "NVEU-VN-1", dt.date(2025, 6, 2), "removed from Supp. No. 7")
    row = decide_checked([_tx(1)], [1], "orders", None, "enforced").row(0, named=True)
    assert row["outcome"] == "LICENSE_REQUIRED" and "748.15.not-valid-on-date" in row["rules"]
    before = _tx(1).model_copy(update={"date": dt.date(2025, 6, 1)})
    assert decide_checked([before], [1], "orders", None, "enforced")["license_exception"][0] == "VEU"


def test_screening_fills_reach_facts_in_check_and_explain(db):
    from aiexport.screening import store
    from aiexport.screening.lists import load_list

    with Ledger(db) as led:
        store.load_version(led, load_list(FIXTURE), actor="boss")
    t = Transaction.model_validate({
        "id": "FN4", "date": "2024-01-15", "kind": "reexport", "from": "TW", "to": "CN", "quantity": 1,
        "item": {"chip": "NVIDIA H20 HGX (SXM) 96GB"},
        "consignee": {"name": "Sunrise Supercomputing Institute", "country": "CN"},
        "facts": {"made_in": "TW", "made_by_us_tool_plant": "yes", "us_controlled_content_share": 0}})
    row = decide_checked([t], [1], "orders", None, "enforced").row(0, named=True)
    assert row["subject_rules"] == ["734.9(e)(2)"] and "744.11(a)(2)(ii)" in row["rules"]
    assert json.loads(row["reach_fact_sources"])[0]["sources"][0]["entry_id"] == "r-fn4"
    row, other = explain_rows(t, 1, "orders", None, "enforced")
    assert row["subject_rules"] == ["734.9(e)(2)"] and other["reach"]["subject_rules"] == ["734.9(e)(2)"]


def test_the_cli_check_uses_the_authorizations_on_record(db, tmp_path):
    from aiexport.cli import app

    orders = tmp_path / "o.yaml"
    orders.write_text(yaml.safe_dump([_tx(1).model_dump(mode="json", by_alias=True)]))
    r = CliRunner().invoke(app, ["check", str(orders), "--format", "json", "--posture", "codified"])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)[0]
    assert rec["license_exception"] == "VEU" and rec["reach"]["veu_rules"] == ["748.15", "748.15(a)(2)(iii).NVEU"]


def test_batch_decides_a_veu_shipment_as_check_does(db, tmp_path):
    """`batch` reads the authorizations on record for the rows that state one (before, every such
    row came out as an authorization not on record)."""
    import polars as pl

    from aiexport.batch.run import run

    book = tmp_path / "book.csv"
    pl.DataFrame({
        "id": ["S1"], "date": [DAY], "kind": ["export"], "from": ["US"], "to": ["VN"], "chip": ["H100 SXM"],
        "quantity": ["8"], "consignee_name": ["Saigon Compute JSC"], "consignee_country": ["VN"],
        "fact_veu_authorization": ["NVEU-VN-1"],
    }).write_csv(book)
    out = tmp_path / "out.parquet"
    run(book, out, posture="enforced")
    got = pl.read_parquet(out).row(0, named=True)
    checked = decide_checked([_tx(1)], [1], "orders", None, "enforced").row(0, named=True)
    assert got["outcome"] == checked["outcome"] == "LICENSE_EXCEPTION"
    assert got["license_exception"] == "VEU" and "748.15(a)(2)(iii).NVEU" in got["rules"]


def test_shipments_in_one_file_are_sequenced_against_the_nveu_installed_base(db):
    """Two 126,656-TPP servers under a 200,000-TPP NVEU installed base, in one file: under
    `codified` the earlier one (by date) is authorized and the later one exceeds; recorded, only
    the first draws. Under `enforced` (no installed-base limit) both are authorized."""
    later = _tx(2).model_copy(update={"date": dt.date(2025, 6, 3)})
    both = [later, _tx(1)]  # file order is not date order
    codified = decide_checked(both, [1, 2], "orders", None, "codified")
    got = {r["id"]: r for r in codified.iter_rows(named=True)}
    assert got["S1"]["license_exception"] == "VEU"
    assert got["S2"]["outcome"] == "LICENSE_REQUIRED" and "748.15(a)(2)(iii)(B).allocation" in got["S2"]["rules"]
    enforced = decide_checked(both, [1, 2], "orders", None, "enforced")
    assert enforced["license_exception"].to_list() == ["VEU", "VEU"]
    with Ledger(db) as led:
        rec = record_orders(both, [1, 2], "orders", None, "codified", "boss", ledger=led)
        by_id = {r["id"]: r for r in rec.records}
        assert by_id["S1"]["license_exception"] == "VEU" and by_id["S2"]["outcome"] == "LICENSE_REQUIRED"
        assert led.balance("veu:NVEU-VN-1:installed-base:VN").drawn == Decimal("126656")


def test_an_order_checked_again_after_recording_does_not_count_its_own_draw(db):
    with Ledger(db) as led:
        record_orders([_tx(1)], [1], "orders", None, "codified", "boss", ledger=led)
    again = decide_checked([_tx(1)], [1], "orders", None, "codified").row(0, named=True)
    assert again["license_exception"] == "VEU", again["rules"]  # 126,656 drawn by itself, not by another
    other = decide_checked([_tx(2)], [1], "orders", None, "codified").row(0, named=True)
    assert other["outcome"] == "LICENSE_REQUIRED" and "748.15(a)(2)(iii)(B).allocation" in other["rules"]
