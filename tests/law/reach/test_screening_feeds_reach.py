"""Screening feeds reach (issue 10): an Entity List entry matched to the consignee or end user gives
its FDP footnote designations as `entity_list_footnotes` (unless the order states them), and each
stated owner whose `listed` is not stated is screened by name (§744.11(a)(1)). Each fill names its
source (list, entry id, score)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aiexport.io.transactions import Transaction
from aiexport.law.decide import decide, records
from aiexport.ledger import Ledger
from aiexport.screening import determination as det

FIXTURE = Path(__file__).parent / "fixtures" / "csl_reach.csv"
CSL_BIS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "lists" / "csl_bis_2026-07-09.csv"
POSTURES = ("enforced", "codified")
H20_TW = {"made_in": "TW", "made_by_us_tool_plant": "yes", "us_controlled_content_share": 0}


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    from aiexport.screening import store
    from aiexport.screening.lists import load_list

    url = f"sqlite:///{tmp_path_factory.mktemp('reach-lists') / 'l.db'}"
    with Ledger(url) as led:
        store.load_version(led, load_list(FIXTURE), actor="test")
    return url


def _tx(consignee: str, to: str, day: str, facts: dict, item: dict | None = None, frm: str = "US") -> Transaction:
    return Transaction.model_validate({
        "id": "T1", "date": day, "kind": "export", "from": frm, "to": to, "quantity": 1,
        "item": item or {"chip": "H100 SXM"}, "consignee": {"name": consignee, "country": to}, "facts": facts})


def _decide(t: Transaction, posture: str) -> dict:
    return records(decide([t], posture=posture))[0]


@pytest.mark.parametrize("posture", POSTURES)
def test_a_footnote_4_entity_consignee_makes_a_taiwan_made_chip_subject(db_url, posture):
    item = {"chip": "NVIDIA H20 HGX (SXM) 96GB"}
    t = _tx("Sunrise Supercomputing Institute", "CN", "2024-01-15", dict(H20_TW), item, frm="TW")
    [filled], [fills], info = det.screen_for_reach([t], db_url)
    assert info.status == "screened"
    assert [f["fact"] for f in fills] == ["entity_list_footnotes"] and fills[0]["value"] == [4]
    src = fills[0]["sources"][0]
    assert (src["list"], src["entry_id"], src["role"], src["score"]) == ("EL", "r-fn4", "consignee", 1.0)
    rec = _decide(filled, posture)
    assert rec["reach"]["subject_rules"] == ["734.9(e)(2)"] and "744.11(a)(2)(ii)" in rec["rules"]
    assert rec["outcome"] == "LICENSE_REQUIRED"
    # the other side: the same chip to an unlisted consignee is not subject to the EAR
    other = _tx("Lakeside Research Lab", "CN", "2024-01-15", dict(H20_TW), item, frm="TW")
    [same], [none], _ = det.screen_for_reach([other], db_url)
    assert none == [] and same.facts == other.facts
    rec = _decide(same, posture)
    assert rec["outcome"] == "NLR" and rec["reach"]["subject_rules"][0] == "734.3.not-subject"


def test_stated_footnotes_are_not_overwritten(db_url):
    t = _tx("Sunrise Supercomputing Institute", "CN", "2024-01-15", {**H20_TW, "entity_list_footnotes": []})
    [same], [fills], _ = det.screen_for_reach([t], db_url)
    assert fills == [] and same.facts["entity_list_footnotes"] == []


@pytest.mark.parametrize("posture", POSTURES)
def test_a_stated_owner_is_screened_by_name_for_the_affiliates_rule(db_url, posture):
    listed = _tx("Penang Compute Sdn Bhd", "MY", "2026-12-01",
                 {"owners": [{"name": "Listed Parent Holdings Limited", "share": 60}]})
    clean = _tx("Penang Compute Sdn Bhd", "MY", "2026-12-01",
                {"owners": [{"name": "Tan Family Holdings Sdn Bhd", "share": 60}]})
    stated = _tx("Penang Compute Sdn Bhd", "MY", "2026-12-01",
                 {"owners": [{"name": "Listed Parent Holdings Limited", "share": 60, "listed": "no"}]})
    txs, fills, _ = det.screen_for_reach([listed, clean, stated], db_url)
    assert [f["fact"] for f in fills[0]] == ["owners[0].listed"] and fills[0][0]["value"] is True
    assert fills[0][0]["sources"][0]["entry_id"] == "r-parent"
    assert fills[1][0]["value"] is False and fills[1][0]["sources"][0]["entry_id"] is None
    assert fills[2] == []  # a stated answer stays
    recs = records(decide(txs, posture=posture))
    assert "744.11(a)(1)" in recs[0]["rules"] and recs[0]["outcome"] == "LICENSE_REQUIRED"
    assert "744.11(a)(1)" not in recs[1]["rules"] and "owners" not in [f["fact"] for f in recs[1]["needs_facts"]]
    assert "744.11(a)(1)" not in recs[2]["rules"]
    # the day before the suspension ends the affiliates rule is not in force: the listed owner changes nothing
    before = records(decide([txs[0].model_copy(update={"date": dt.date(2026, 11, 9)})], posture=posture))
    assert "744.11(a)(1)" not in before[0]["rules"], before[0]["rules"]


def test_an_undisposed_potential_match_leaves_the_owner_open():
    m = {"list": "EL", "entry_id": "x", "name": "Listed Parent Holdings Limited", "score": 0.9, "matched_name": "x",
         "exact": False, "disposition": None, "footnotes": ["4"]}
    t = _tx("Penang Compute Sdn Bhd", "MY", "2026-12-01", {"owners": [{"name": "Listed Parent Holding", "share": 60}]})
    assert det.reach_fills(t, [], {"Listed Parent Holding": [m]}, True) == []
    # nor does a potential match of the consignee give footnotes; a false positive gives nothing either
    assert det.reach_fills(t, [("consignee", "P", [m])], {}, True)[0]["fact"] != "entity_list_footnotes"
    fp = {**m, "exact": True, "disposition": {"holds": True, "status": "false_positive"}}
    assert det.reach_fills(t, [("consignee", "P", [fp])], {"Listed Parent Holding": [fp]}, True) == [
        {"fact": "owners[0].listed", "value": False, "sources": [
            {"list": "EL/MEU", "entry_id": None, "score": None, "role": "owner", "party": "Listed Parent Holding",
             "how": "no match at the threshold on the loaded lists"}]}]
    # without the Entity List among the loaded lists, a clear owner is not "not listed"
    assert det.reach_fills(t, [], {"Listed Parent Holding": []}, False) == []


def test_without_lists_nothing_is_filled(tmp_path):
    t = _tx("Sunrise Supercomputing Institute", "CN", "2024-01-15", dict(H20_TW))
    txs, fills, info = det.screen_for_reach([t], f"sqlite:///{tmp_path / 'empty.db'}")
    assert info.status == "not_screened" and fills == [[]] and txs[0] is t


def test_on_the_bis_consolidated_list():
    if not CSL_BIS.exists():
        pytest.skip(f"{CSL_BIS} is not present (list files are read from ../shared, never committed)")
    from aiexport.screening import store
    from aiexport.screening.lists import load_list
    from aiexport.screening.match import THRESHOLD, Index

    index = Index(load_list(CSL_BIS).entries)
    t = _tx("Beijing Academy of Artificial Intelligence", "CN", "2025-06-01",
            {"owners": [{"name": "4Paradigm Technology Co., Ltd.", "share": 50}, {"name": "Zhang Wei Family Office", "share": 50}]})
    parties = [("consignee", "Beijing Academy of Artificial Intelligence", "CN")]
    res = store.screen_parties(index, [(None, n, c) for _, n, c in parties] + [(None, o["name"], None) for o in t.facts["owners"]],
                               THRESHOLD)
    fills = det.reach_fills(t, [("consignee", parties[0][1], res[0]["matches"])],
                            {res[1]["query"]: res[1]["matches"], res[2]["query"]: res[2]["matches"]}, True)
    by = {f["fact"]: f for f in fills}
    assert by["entity_list_footnotes"]["value"] == [4] and by["entity_list_footnotes"]["sources"][0]["list"] == "EL"
    assert by["owners[0].listed"]["value"] is True
    assert by.get("owners[1].listed", {"value": False})["value"] is False


def test_the_memo_and_the_record_say_where_a_filled_fact_came_from(db_url):
    from aiexport.law.reach.memo import fact_sources, record, source_text

    item = {"chip": "NVIDIA H20 HGX (SXM) 96GB"}
    t = _tx("Sunrise Supercomputing Institute", "CN", "2024-01-15", dict(H20_TW), item, frm="TW")
    other = _tx("Lakeside Research Lab", "CN", "2024-01-15", dict(H20_TW), item, frm="TW")
    txs, fills, _ = det.screen_for_reach([t, other], db_url)
    frame = det.annotate(decide(txs, posture="codified"), fills)
    rows = frame.to_dicts()
    assert [f["fact"] for f in fact_sources(rows[0])] == ["entity_list_footnotes"] and fact_sources(rows[1]) == []
    text = source_text(fact_sources(rows[0])[0])
    assert "EL r-fn4" in text and "score 1.00" in text and "consignee 'Sunrise Supercomputing Institute'" in text
    assert record(rows[0])["fact_sources"][0]["sources"][0]["entry_id"] == "r-fn4"
    assert records(frame)[0]["reach"]["fact_sources"][0]["value"] == [4]
