"""Bad reach facts and bad VEU authorization files give errors that name the row and field; the
reach rule ids, facts and timeline are documented and cited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aiexport.errors import InputError
from aiexport.io.transactions import Transaction
from aiexport.law.reach import RULES, fact_frame, load_authorizations, reach_frame, timeline
from aiexport.law.reach.facts import COLUMNS, registry
from aiexport.law.reach.rules import REQUIREMENTS
from aiexport.law.reach.subject import PATHS


def _tx(**facts) -> Transaction:
    return Transaction.model_validate({
        "id": "t", "date": "2026-06-01", "from": "TW", "to": "CN", "item": {"chip": "H100 SXM"},
        "consignee": {"country": "CN"}, "facts": facts,
    })


@pytest.mark.parametrize(("facts", "field", "expected"), [
    ({"made_in": "Taiwan"}, "facts.made_in", "alpha-2"),
    ({"made_in": "ZZ"}, "facts.made_in", "alpha-2"),
    ({"us_controlled_content_share": 101}, "facts.us_controlled_content_share", "between 0 and 100"),
    ({"us_controlled_content_share": -1}, "facts.us_controlled_content_share", "between 0 and 100"),
    ({"us_controlled_content_share": "NaN"}, "facts.us_controlled_content_share", "between 0 and 100"),
    ({"us_controlled_content_share": "12.1234567"}, "facts.us_controlled_content_share", "six decimals"),
    ({"made_by_us_tool_plant": "maybe"}, "facts.made_by_us_tool_plant", "yes or no"),
    ({"end_use": "weapons"}, "facts.end_use", "supercomputer"),
    ({"entity_list_footnotes": [2]}, "facts.entity_list_footnotes", "1, 3, 4, 5"),
    ({"eccn_below_3a090": "chip"}, "facts.eccn_below_3a090", "ECCN"),
    ({"destination_region": "donbas"}, "facts.destination_region", "crimea"),
    ({"owners": {"name": "A"}}, "facts.owners", "a list"),
    ({"owners": [{"name": "A"}]}, "facts.owners[0]", "share"),
    ({"owners": [{"name": "A", "share": 60, "listed": "perhaps"}]}, "facts.owners[0].listed", "yes or no"),
    ({"veu_country_tpp": -5}, "facts.veu_country_tpp", "non-negative"),
])
def test_bad_fact_names_row_and_field(facts, field, expected):
    with pytest.raises(InputError) as err:
        fact_frame([_tx(), _tx(**facts)], source="orders.yaml", rows=[4, 7])
    assert err.value.file == "orders.yaml" and err.value.row == 7
    assert err.value.column == field
    assert expected in err.value.expected


def test_defaults_and_coercions():
    f = fact_frame([_tx(made_in="hk", us_controlled_content_share="12.5%", end_use="Military",
                        entity_list_footnotes=["4", 1, 4], owners=[{"name": "A", "share": 50, "listed": "yes"}])])
    row = f.row(0, named=True)
    assert row["rf_made_in"] == "CN"  # Hong Kong is treated as China
    assert row["rf_us_share"] == 12_500_000
    assert row["rf_end_use"] == "military"
    assert row["rf_footnotes"] == [1, 4]
    assert row["rf_owners"] == [{"name": "A", "share": 50_000_000, "listed": True}]
    empty = fact_frame([_tx()]).row(0, named=True)
    assert empty["rf_end_use"] == "none" and empty["rf_no_de_minimis"] is False and empty["rf_made_in"] is None
    assert empty["rf_footnotes"] == [] and empty["rf_owners"] == []


def test_ledger_balances_fill_unstated_veu_facts():
    calls = []

    def lookup(t, auth):
        calls.append(auth)
        return {"veu_country_tpp": 100, "veu_total_tpp": 1000}

    stated = _tx(veu_authorization="NVEU-1", veu_country_tpp=5)
    f = fact_frame([stated, _tx()], veu_lookup=lookup)
    assert calls == ["NVEU-1"]  # rows without a VEU are not looked up
    row = f.row(0, named=True)
    assert row["rf_veu_country"] == 5 * 10**6  # a stated fact wins over the ledger
    assert row["rf_veu_total"] == 1000 * 10**6


def test_every_fact_has_a_question_a_basis_and_a_column():
    reg = registry()
    assert set(reg) == set(COLUMNS)
    for name, spec in reg.items():
        assert spec["question"].strip() and spec["basis"].strip(), name


def test_every_reach_rule_id_is_documented():
    for rid in [*PATHS, *REQUIREMENTS, "734.3.not-subject", "748.15", "guidance:2025-05-13.ai-training"]:
        assert rid in RULES and RULES[rid].cite.strip(), rid
    doc = (Path(__file__).parents[3] / "docs" / "legal-reach.md").read_text()
    for rid in [*PATHS, *REQUIREMENTS]:
        assert f"`{rid}`" in doc, rid


def test_timeline_is_cited_and_ordered():
    t = timeline()
    assert t and all(e["cite"] and e["id"] and e["posture"] in ("both", "enforced", "codified") for e in t)
    assert [e["effective"] for e in t] == sorted(e["effective"] for e in t)
    assert {"90 FR 47201, FR Doc 2025-19001", "90 FR 50857"} <= {e["cite"] for e in t}


def test_a_frame_without_reach_facts_uses_the_defaults():
    from aiexport.law.decide import prepare

    frame = prepare([_tx()])
    out = reach_frame(frame).row(0, named=True)
    assert out["subject_to_ear"] is None and out["reach_needs_facts"] == ["made_in"]


def test_mixed_dates_are_evaluated_per_epoch_in_input_order():
    from aiexport.law.decide import prepare

    days = ["2025-11-10", "2025-09-29", "2026-11-10", "2025-09-28"]
    txs = [Transaction.model_validate({
        "id": d, "date": d, "from": "US", "to": "MY", "item": {"chip": "H100 SXM"}, "consignee": {"country": "MY"},
        "facts": {"owners": [{"name": "L", "share": 51, "listed": True}]}}) for d in days]
    frame = prepare(txs).with_columns(fact_frame(txs))
    out = reach_frame(frame)
    assert out["id"].to_list() == days
    assert out["reach_requirement_rules"].to_list() == [[], ["744.11(a)(1)"], ["744.11(a)(1)"], []]


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "veu.yaml"
    p.write_text(text)
    return p


def test_load_authorizations(tmp_path: Path):
    p = _write(tmp_path, """
authorizations:
  - {id: NVEU-1, kind: nveu, holder: X, sites: [{country: vn}], eccns: [4A090], valid_from: 2025-02-01, allocation_tpp: 1000000}
""")
    auths = load_authorizations(p)
    assert auths["NVEU-1"].sites[0].country == "VN" and auths["NVEU-1"].valid_from == dt.date(2025, 2, 1)


@pytest.mark.parametrize(("text", "row", "field"), [
    ("- {id: A, kind: veu, holder: X, sites: [{country: VN}], eccns: [4A090], valid_from: 2025-02-01}", 1, "kind"),
    ("- {id: A, kind: nveu, holder: X, sites: [], eccns: [4A090], valid_from: 2025-02-01}", 1, "sites"),
    ("- {id: A, kind: nveu, holder: X, sites: [{country: Vietnam}], eccns: [4A090], valid_from: 2025-02-01}", 1, "sites.0.country"),
    ("- {id: A, kind: nveu, holder: X, sites: [{country: VN}], eccns: [4A090], valid_from: soon}", 1, "valid_from"),
    ("- {id: A, kind: nveu, holder: X, sites: [{country: VN}], eccns: [4A090], valid_from: 2025-02-01}\n"
     "- {id: A, kind: nveu, holder: Y, sites: [{country: VN}], eccns: [4A090], valid_from: 2025-02-01}", 2, "id"),
])
def test_bad_authorization_file_names_entry_and_field(tmp_path: Path, text, row, field):
    with pytest.raises(InputError) as err:
        load_authorizations(_write(tmp_path, text))
    assert err.value.row == row and err.value.column == field


def test_reach_parameters_and_frame_dtypes():
    from aiexport.engine.params import default_store

    store = default_store()
    for name, p in store.parameters.items():
        if name.startswith("reach_") or name in ("group:E:1", "group:E:2"):
            assert all(v.cite.strip() for v in p.values), name
    assert dict(fact_frame([_tx()]).schema) == {c: d for c, d in COLUMNS.values()}


def test_memo_section_and_record_show_the_subject_step():
    from aiexport.law.decide import prepare
    from aiexport.law.reach.memo import conclusion, record, steps

    tx = Transaction.model_validate({
        "id": "t", "date": "2024-01-15", "from": "MY", "to": "IN", "item": {"server": [{"chip": "H100 SXM", "count": 8}]},
        "consignee": {"country": "IN"}, "facts": {"made_in": "MY", "us_controlled_content_share": 30}})
    frame = prepare([tx]).with_columns(fact_frame([tx]))
    row = reach_frame(frame).row(0, named=True)
    s = steps(row)
    held = [r["rule"] for r in s["subject"] if r["held"]]
    assert held == ["734.4(d)"]
    assert [r["rule"] for r in s["subject"] if r["held"] is False][:2] == ["734.3(a)(1)", "734.3(a)(2)"]
    assert conclusion(row) == "subject to the EAR by 734.4(d)"
    rec = record(row)
    assert rec["subject_to_ear"] is True and rec["subject_rules"] == ["734.4(d)"] and rec["reach_needs_facts"] == []

    tx2 = tx.model_copy(update={"facts": {"made_in": "MY"}})
    row2 = reach_frame(prepare([tx2]).with_columns(fact_frame([tx2]))).row(0, named=True)
    assert conclusion(row2) == "undetermined: us_controlled_content_share needed"
    assert record(row2)["reach_needs_facts"][0]["question"].startswith("What share (%)")
