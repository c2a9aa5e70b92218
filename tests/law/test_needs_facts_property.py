"""Property (issue 9, item 6): NEEDS_FACTS only when the open fact can change the answer.

For every NEEDS_FACTS answer, each needed fact is filled both ways (with the other needed facts
filled every way); for at least one filling of the others, the two answers must differ — where an
answer that still asks for facts stands for the answers its own fillings reach."""

from __future__ import annotations

import copy
import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiexport.io.transactions import parse
from aiexport.law.decide import decide, records

DESTS = ["CN", "MO", "VN", "JP", "DE", "IN", "MY", "SG", "US", "AE", "SA"]
DATES = [dt.date(2023, 6, 1), dt.date(2024, 6, 1), dt.date(2025, 3, 1), dt.date(2025, 6, 2),
         dt.date(2026, 2, 10), dt.date(2026, 8, 1)]

# fact -> (where it goes, the two values)
FILL = {
    "marketed_for_datacenter": ("spec", ("yes", "no")),
    "die_area_mm2": ("spec", ("1", "100000")),
    "memory_bandwidth_gbps": ("spec", ("100", "9000")),
    "interconnect_bandwidth_gbps": ("spec", ("0", "1000")),
    "lpp_consumed_tpp": ("fact", (0, 26_900_000)),
    "approved_or_authorized_designer": ("fact", ("yes", "no")),
    "ultimate_customers_outside_d5_macau": ("fact", ("yes", "no")),
    "published": ("model", ("yes", "no")),
    "training_operations": ("model", ("1e24", "1e27")),
    "process_node_nm": ("fact", (5, 28)),
    "non_planar": ("fact", ("yes", "no")),
    "contains_hbm": ("fact", ("yes", "no")),
    # the legal-reach facts (issue 10)
    "made_in": ("fact", ("US", "TW")),
    "us_controlled_content_share": ("fact", (0, 50)),
    "direct_product_of_us_technology": ("fact", ("yes", "no")),
    "made_by_us_tool_plant": ("fact", ("yes", "no")),
    "eccn_below_3a090": ("fact", ("3A991.p", "EAR99")),
    "ai_training_for_headquarters": ("fact", ("US", "CN")),
}


@st.composite
def foundry_transactions(draw):
    """A fabricator or OSAT exporting a catalog chip (Note 1 to 3A090.a), node sometimes unstated."""
    to = draw(st.sampled_from(DESTS))
    facts = {"exporter_role": draw(st.sampled_from(["front-end fabricator", "OSAT"]))}
    node = draw(st.sampled_from([None, 5, 28]))
    if node is not None:
        facts["process_node_nm"] = node
    if draw(st.booleans()):
        facts |= {"packaged_by": "front-end fabricator", "packaging_location": "TW", "transistor_count": draw(st.sampled_from(["2e10", "3.2e10"]))}
    return {"id": "f", "date": draw(st.sampled_from(DATES[3:])), "kind": "export", "from": "TW", "to": to,
            "item": {"chip": draw(st.sampled_from(["H20", "H100 SXM", "RTX 4090", "L40 PCIe"]))}, "quantity": 1,
            "consignee": {"country": to}, "facts": facts}


@st.composite
def chip_transactions(draw):
    to = draw(st.sampled_from(DESTS))
    spec = {"name": "Custom part", "dense_tops_fp8": f"{draw(st.integers(100, 4000))}"}
    for key, values in (("marketed_for_datacenter", ["yes", "no"]), ("die_area_mm2", ["300", "800"]),
                        ("memory_bandwidth_gbps", ["2000", "8000"])):
        if draw(st.booleans()):
            spec[key] = draw(st.sampled_from(values))
    kind, origin = draw(st.sampled_from([("export", "US"), ("reexport", "SG"), ("transfer", to)]))
    facts = {}
    if draw(st.booleans()):
        facts["lpp_consumed_tpp"] = 0
    if draw(st.booleans()):
        facts["purpose"] = draw(st.sampled_from(["production", "storage", "resale"]))
    hq = draw(st.sampled_from([to, "US", "CN", "JP"]))
    return {"id": "p", "date": draw(st.sampled_from(DATES)), "kind": kind, "from": origin, "to": to,
            "item": {"specs": spec}, "quantity": draw(st.integers(1, 2000)),
            "consignee": {"country": to, "headquarters": hq}, "facts": facts}


@st.composite
def model_transactions(draw):
    to = draw(st.sampled_from(DESTS))
    mf = {"name": "M"}
    if draw(st.booleans()):
        mf["training_operations"] = draw(st.sampled_from(["5e25", "2e26"]))
    if draw(st.booleans()):
        mf["published"] = draw(st.sampled_from(["yes", "no"]))
    return {"id": "m", "date": draw(st.sampled_from(DATES)), "kind": "export", "from": "US", "to": to,
            "item": {"model_facts": mf}, "quantity": 1, "consignee": {"country": to}}


def decide_raw(raw: dict, posture: str) -> dict:
    txs, errors, _ = parse([raw], "prop")
    assert not errors, errors
    return records(decide(txs, posture=posture))[0]


def fill(raw: dict, fact: str, value) -> dict:
    out = copy.deepcopy(raw)
    where, _ = FILL[fact]
    if where == "spec":
        out["item"]["specs"][fact] = value
    elif where == "model":
        out["item"]["model_facts"][fact] = value
    else:
        out.setdefault("facts", {})[fact] = value
    return out


def answer(rec: dict) -> tuple:
    return rec["outcome"], rec["license_exception"], rec["review_policy"]


def resolved(raw: dict, posture: str, depth: int = 3) -> frozenset:
    """The answers reachable by filling every fact still asked (each both ways), up to ``depth`` rounds."""
    rec = decide_raw(raw, posture)
    if rec["outcome"] != "NEEDS_FACTS" or depth == 0:
        return frozenset([answer(rec)])
    out: set = set()
    for f in (x["fact"] for x in rec["needs_facts"]):
        assert f in FILL, f"no test filling for {f}"
        for v in FILL[f][1]:
            out |= resolved(fill(raw, f, v), posture, depth - 1)
    return frozenset(out)


def check_needed_facts_matter(raw: dict, posture: str) -> None:
    rec = decide_raw(raw, posture)
    if rec["outcome"] != "NEEDS_FACTS":
        return
    needed = [f["fact"] for f in rec["needs_facts"]]
    assert needed, rec
    for fact in needed:
        assert fact in FILL, f"no test filling for {fact}"
        others = [f for f in needed if f != fact]
        differs = False
        for combo in itertools.product(*(FILL[o][1] for o in others)):
            base = raw
            for o, v in zip(others, combo, strict=True):
                base = fill(base, o, v)
            a, b = (resolved(fill(base, fact, v), posture) for v in FILL[fact][1])
            if a != b:
                differs = True
                break
        assert differs, f"{fact} is asked but cannot change the answer: {raw} / {posture} -> {rec}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chip_transactions(), st.sampled_from(["enforced", "codified"]))
def test_needed_chip_facts_can_change_the_answer(raw, posture):
    check_needed_facts_matter(raw, posture)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model_transactions(), st.sampled_from(["enforced", "codified"]))
def test_needed_model_facts_can_change_the_answer(raw, posture):
    check_needed_facts_matter(raw, posture)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(foundry_transactions(), st.sampled_from(["enforced", "codified"]))
def test_needed_foundry_facts_can_change_the_answer(raw, posture):
    check_needed_facts_matter(raw, posture)


def test_the_property_can_fail():
    """A fact that is asked although it cannot matter is caught (the check is not vacuous)."""
    import pytest

    raw = {"id": "x", "date": dt.date(2025, 6, 2), "kind": "export", "from": "US", "to": "JP",
           "item": {"specs": {"name": "Custom part", "dense_tops_fp8": "3000", "die_area_mm2": "300", "marketed_for_datacenter": "yes"}},
           "quantity": 1, "consignee": {"country": "JP"}}
    assert decide_raw(raw, "codified")["outcome"] == "NEEDS_FACTS"
    check_needed_facts_matter(raw, "codified")  # the designer decides AIA: passes
    with pytest.raises(AssertionError, match="cannot change"):
        FILL["approved_or_authorized_designer"] = ("fact", ("no", "no"))
        try:
            check_needed_facts_matter(raw, "codified")
        finally:
            FILL["approved_or_authorized_designer"] = ("fact", ("yes", "no"))
