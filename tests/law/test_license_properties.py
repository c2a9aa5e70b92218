"""Property tests: raising TPP never loosens an outcome; moving a consignee's ultimate parent to
D:5 never loosens an outcome."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from aiexport.io.transactions import parse
from aiexport.law.decide import decide, records

DESTS = ["CN", "MO", "VN", "SA", "AE", "IN", "SG", "MY", "IL", "DE", "JP", "RU", "KH", "HK"]
DATES = [dt.date(2023, 3, 1), dt.date(2024, 1, 15), dt.date(2024, 6, 1), dt.date(2025, 6, 2),
         dt.date(2026, 2, 10), dt.date(2026, 8, 1)]
RANK = {"NLR": 0, "LICENSE_EXCEPTION": 1, ("LICENSE_REQUIRED", "approval"): 2,
        ("LICENSE_REQUIRED", "case-by-case"): 3, ("LICENSE_REQUIRED", "denial"): 4}


def rank(rec: dict) -> int:
    assert rec["outcome"] != "NEEDS_FACTS", rec
    key = rec["outcome"] if rec["outcome"] != "LICENSE_REQUIRED" else ("LICENSE_REQUIRED", rec["review_policy"])
    return RANK[key]


@st.composite
def transactions(draw):
    to = draw(st.sampled_from(DESTS))
    spec = {
        "name": "p",
        "dense_tops_fp8": f"{draw(st.integers(0, 6_000_000)) / 1000:.3f}",
        "die_area_mm2": f"{draw(st.integers(100, 1000))}",
        "memory_bandwidth_gbps": f"{draw(st.integers(500, 9000))}",
        "interconnect_bandwidth_gbps": f"{draw(st.integers(0, 1000))}",
        "marketed_for_datacenter": draw(st.sampled_from(["yes", "no"])),
    }
    kind, origin = draw(st.sampled_from([("export", "US"), ("reexport", "SG")]))
    return {
        "id": "p", "date": draw(st.sampled_from(DATES)), "kind": kind, "from": origin, "to": to,
        "item": {"specs": spec}, "quantity": draw(st.integers(1, 3000)),
        "consignee": {"country": to, "headquarters": draw(st.sampled_from([to, "US", "IN", "CN"]))},
        # a US-made item (subject to the EAR under §734.3(a)(2) wherever it is), 3A991.p if below 3A090;
        # its designer stated (a custom-specs item without one is rightly NEEDS_FACTS where AIA could
        # apply: facts.yaml approved_or_authorized_designer) — US/TW designers are authorized, CN never
        "facts": {"lpp_consumed_tpp": 0, "made_in": "US", "eccn_below_3a090": "3A991.p",
                  "designer_headquarters": draw(st.sampled_from(["US", "TW", "CN"]))},
    }


def decide_one(raw: dict, posture: str) -> dict:
    txs, errors, _ = parse([raw], "prop")
    assert not errors, errors
    return records(decide(txs, posture=posture))[0]


@settings(max_examples=120, deadline=None)
@given(transactions(), st.integers(1, 4_000_000), st.sampled_from(["enforced", "codified"]))
def test_raising_tpp_never_loosens(raw, extra_milli_tops, posture):
    before = decide_one(raw, posture)
    raised = {**raw, "item": {"specs": dict(raw["item"]["specs"])}}
    spec = raised["item"]["specs"]
    spec["dense_tops_fp8"] = f"{float(spec['dense_tops_fp8']) + extra_milli_tops / 1000:.3f}"
    assert rank(decide_one(raised, posture)) >= rank(before)


@settings(max_examples=120, deadline=None)
@given(transactions(), st.sampled_from(["CN", "RU", "IR", "MO", "HK"]), st.sampled_from(["enforced", "codified"]))
def test_parent_moving_to_d5_never_loosens(raw, parent, posture):
    before = decide_one(raw, posture)
    moved = {**raw, "consignee": {**raw["consignee"], "ultimate_parent_headquarters": parent}}
    assert rank(decide_one(moved, posture)) >= rank(before)


def test_a_custom_chip_without_its_designer_asks_for_it_where_aia_could_apply():
    """Found by the property above (before its designer was stated): 3,200 TPP on 100 mm², to
    Germany under the codified Diffusion text, from specs with no designer. AIA (§740.27(a)(1))
    turns on the designer, so the answer is NEEDS_FACTS naming it — and each stated designer
    decides: US or Taiwan authorized (AIA), China never (licence, case-by-case for Tier 1)."""
    raw = {"id": "p", "date": dt.date(2025, 6, 2), "kind": "export", "from": "US", "to": "DE",
           "item": {"specs": {"name": "p", "dense_tops_fp8": "200.000", "die_area_mm2": "100", "memory_bandwidth_gbps": "500",
                              "interconnect_bandwidth_gbps": "0", "marketed_for_datacenter": "yes"}},
           "quantity": 1, "consignee": {"country": "DE", "headquarters": "DE"},
           "facts": {"lpp_consumed_tpp": 0, "made_in": "US", "eccn_below_3a090": "3A991.p"}}
    rec = decide_one(raw, "codified")
    assert rec["outcome"] == "NEEDS_FACTS" and [f["fact"] for f in rec["needs_facts"]] == ["approved_or_authorized_designer"]
    assert rec["rules"] == ["3A090.a.2", "742.6(a)(6)(iii)(A).worldwide"]
    for hq, outcome, rule in (("US", "LICENSE_EXCEPTION", "740.27.AIA"), ("TW", "LICENSE_EXCEPTION", "740.27.AIA"),
                              ("CN", "LICENSE_REQUIRED", "740.27(a)(1).designer")):
        rec = decide_one({**raw, "facts": {**raw["facts"], "designer_headquarters": hq}}, "codified")
        assert rec["outcome"] == outcome and rule in rec["rules"], (hq, rec["outcome"], rec["rules"])
    assert decide_one(raw, "enforced")["outcome"] == "NLR"  # Diffusion never binds as enforced
