"""Property tests for legal reach: monotonicity at the thresholds, and "not subject" wins.

Each example is a whole frame of generated rows evaluated in one pass (the rules are columnar), built
directly with the columns `prepare` produces, so the properties run fast."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from aiexport.law.metrics import MICRO
from aiexport.law.reach import reach_frame
from aiexport.law.reach.facts import COLUMNS, coerce

DATES = [dt.date(2022, 10, 20), dt.date(2023, 11, 17), dt.date(2025, 11, 1), dt.date(2026, 12, 1)]
DESTS = ["CN", "SG", "IN", "IR", "CU", "RU", "MO", "VE", "DE", "MY"]


def frame(rows: list[dict]) -> pl.DataFrame:
    base = {
        "id": [str(i) for i in range(len(rows))],
        "date": [r["date"] for r in rows],
        "kind": ["export"] * len(rows),
        "from": [r.get("from", "TW") for r in rows],
        "to": [r["to"] for r in rows],
        "quantity": [1] * len(rows),
        "c_name": ["X"] * len(rows), "c_hq": [r["to"] for r in rows], "c_phq": [r.get("phq", r["to"]) for r in rows],
        "e_name": ["X"] * len(rows), "e_hq": [r["to"] for r in rows], "e_phq": [r.get("phq", r["to"]) for r in rows],
        "eccn": [r.get("eccn") for r in rows],
        "item_needs": [[] for _ in rows],
        "system_tpp": [15_832 * MICRO] * len(rows),
        "datacenter": [True] * len(rows),
    }
    cols = {}
    for name, (col, dtype) in COLUMNS.items():
        cols[col] = pl.Series(col, [coerce(name, r.get(name)) for r in rows], dtype=dtype)
    strings = {c: pl.String for c in ("id", "kind", "from", "to", "c_name", "c_hq", "c_phq", "e_name", "e_hq", "e_phq", "eccn")}
    schema = {**strings, "date": pl.Date, "quantity": pl.Int64, "item_needs": pl.List(pl.String), "system_tpp": pl.Int64,
              "datacenter": pl.Boolean}
    return pl.DataFrame(base, schema_overrides=schema).with_columns(**cols)


row = st.fixed_dictionaries({
    "date": st.sampled_from(DATES),
    "to": st.sampled_from(DESTS),
    "eccn": st.sampled_from([None, "3A090.a", "4A090.b"]),
    "made_in": st.sampled_from(["TW", "MY", "KR"]),
    "us_controlled_content_share": st.decimals(min_value=0, max_value=100, places=2),
    "made_by_us_tool_plant": st.sampled_from([True, False]),
    "direct_product_of_us_technology": st.sampled_from([True, False]),
    "end_use": st.sampled_from(["none", "supercomputer", "military", "advanced_node_ic_production"]),
    "eccn_below_3a090": st.sampled_from(["3A991.p", "EAR99"]),
    "phq": st.sampled_from(["CN", "US", "SG"]),
})


@settings(max_examples=10, deadline=None)
@given(st.lists(row, min_size=1, max_size=12), st.decimals(min_value=0, max_value=50, places=2), st.sampled_from(["enforced", "codified"]))
def test_more_us_content_never_makes_an_item_not_subject(rows, more, posture):
    raised = [dict(r, us_controlled_content_share=min(r["us_controlled_content_share"] + more, 100)) for r in rows]
    a = reach_frame(frame(rows), posture=posture)["subject_to_ear"].to_list()
    b = reach_frame(frame(raised), posture=posture)["subject_to_ear"].to_list()
    for x, y in zip(a, b, strict=True):
        assert not (x is True and y is not True)


@settings(max_examples=10, deadline=None)
@given(st.lists(row, min_size=1, max_size=12), st.sampled_from(["enforced", "codified"]))
def test_an_item_that_is_not_subject_carries_no_requirement_and_no_question_about_requirements(rows, posture):
    out = reach_frame(frame(rows), posture=posture)
    for r in out.iter_rows(named=True):
        if r["subject_to_ear"] is False:
            assert r["reach_requirement_rules"] == [] and r["reach_policy"] is None
            assert "eccn_below_3a090" not in r["reach_needs_facts"] and "owners" not in r["reach_needs_facts"]
        if r["reach_requirement_rules"]:
            assert r["reach_policy"] in ("denial", "case-by-case", "approval") and r["reach_policy_rule"]


@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(st.decimals(min_value=0, max_value=100, places=3), st.sampled_from([True, False, None])),
                min_size=0, max_size=4),
       st.decimals(min_value=0, max_value=100, places=3))
def test_adding_a_listed_owner_never_removes_the_affiliates_requirement(owners, extra):
    def as_rows(os):
        return [{"date": dt.date(2026, 12, 1), "to": "MY", "from": "US", "eccn": "3A090.a",
                 "owners": [{"name": f"o{i}", "share": s, "listed": lst} for i, (s, lst) in enumerate(os)]}]
    before = reach_frame(frame(as_rows(owners)))["744.11(a)(1)"][0]
    after = reach_frame(frame(as_rows([*owners, (extra, True)])))["744.11(a)(1)"][0]
    assert not (before is True and after is not True)
    if sum(s for s, lst in owners if lst is True) >= 50:
        assert before is True
    if sum(s for s, lst in owners if lst is not False) < 50:
        assert before is False
