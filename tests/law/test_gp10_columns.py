"""GP10 as columns (``overlays.gp10``): each way a row can go, on one frame, with the stated facts
as a frame (batch) and as a dict per row (check)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from aiexport.engine.params import default_store
from aiexport.law import overlays
from aiexport.law.overlays import GP10_NO_POLICY, GP10_OBLIGATION

ASCEND = "Huawei Ascend 910B (910B2-class)"
DAY = dt.date(2025, 6, 2)  # after the guidance of 2025-05-13
LIST = pl.List(pl.String)


def _frame() -> pl.DataFrame:
    rows = [  # (case, date, item, eccn, outcome, policy, obligations, item_needs)
        ("exception", DAY, ASCEND, "3A090.a", "LICENSE_EXCEPTION", None, ["Notify BIS of x", "Other"], []),
        ("open item fact", DAY, ASCEND, "3A090.a", "NEEDS_FACTS", None, [], ["is_3a090"]),
        ("open other fact", DAY, ASCEND, "3A090.a", "NEEDS_FACTS", None, [], []),
        ("denial kept", DAY, ASCEND, "3A090.a", "LICENSE_REQUIRED", "denial", [], []),
        ("not 3A090 a/b", DAY, ASCEND, "3A090.c", "NLR", None, [], []),
        ("before the guidance", dt.date(2025, 5, 12), ASCEND, "3A090.a", "NLR", None, [], []),
        ("not named, stated yes", DAY, "Acme X1", "3A090.b", "NLR", None, [], []),
        ("technical evaluation", DAY, ASCEND, "3A090.a", "NLR", None, [], []),
        ("not named", DAY, "NVIDIA H100 SXM5 80GB", "3A090.a", "NLR", None, [], []),
    ]
    return pl.DataFrame(
        {
            "case": [r[0] for r in rows], "date": [r[1] for r in rows], "item_name": [r[2] for r in rows],
            "eccn": [r[3] for r in rows], "outcome": [r[4] for r in rows], "review_policy": [r[5] for r in rows],
            "obligations": [r[6] for r in rows], "item_needs": [r[7] for r in rows],
            "rules": [["3A090.a.1"]] * len(rows), "needs_facts": [["x"]] * len(rows),
            "license_exception": ["NAC"] + [None] * (len(rows) - 1), "paragraph": ["3A090.a"] * len(rows),
            "to": ["MY"] * len(rows), **{c: [None] * len(rows) for c in ("c_hq", "c_phq", "e_hq", "e_phq")},
        },
        schema_overrides={"review_policy": pl.String, "license_exception": pl.String, "obligations": LIST,
                          "item_needs": LIST, "rules": LIST, "needs_facts": LIST,
                          **{c: pl.String for c in ("c_hq", "c_phq", "e_hq", "e_phq")}},
    )


@pytest.mark.parametrize("as_frame", [True, False])
def test_gp10_each_way_a_row_can_go(as_frame):
    frame = _frame()
    d5 = ["yes" if c == "not named, stated yes" else "" for c in frame["case"]]
    evaluation = ["yes" if c == "technical evaluation" else "" for c in frame["case"]]
    facts = (
        pl.DataFrame({"fact_developed_by_d5_or_macau_entity": d5, "fact_gp10_technical_evaluation": evaluation})
        if as_frame
        else [{k: v for k, v in (("developed_by_d5_or_macau_entity", a), ("gp10_technical_evaluation", b)) if v}
              for a, b in zip(d5, evaluation, strict=True)]
    )
    out = {r["case"]: r for r in overlays.apply(frame, facts, posture="enforced").iter_rows(named=True)}
    policy = default_store().snapshot(DAY, "enforced").value("gp10_review_policy")
    gp10_obligations = [GP10_OBLIGATION] + ([GP10_NO_POLICY] if policy is None else [])
    required = {"outcome": "LICENSE_REQUIRED", "license_exception": None, "needs_facts": []}

    # an exception gives way: its own obligations go, the paragraph and GP10 determine it
    assert {k: out["exception"][k] for k in required} == required
    assert out["exception"]["rules"] == ["3A090.a", "GP10"]
    assert out["exception"]["obligations"] == ["Other", *gp10_obligations]
    assert out["exception"]["review_policy"] == policy
    # an open item fact (is it 3A090?) stays open; any other open fact is decided by GP10
    assert out["open item fact"]["outcome"] == "NEEDS_FACTS" and out["open item fact"]["rules"] == ["3A090.a.1"]
    assert out["open other fact"]["outcome"] == "LICENSE_REQUIRED"
    # a licence already required with a presumption of denial keeps it; GP10 is added
    assert out["denial kept"]["review_policy"] == "denial"
    assert out["denial kept"]["rules"] == ["3A090.a.1", "GP10"]
    assert out["denial kept"]["obligations"] == [GP10_OBLIGATION]
    # a stated D:5 developer reaches a chip the guidance does not name
    assert out["not named, stated yes"]["outcome"] == "LICENSE_REQUIRED"
    assert out["not named, stated yes"]["rules"] == ["3A090.a", "GP10"]
    # the stated carve-out: a note, the outcome left to the other rules
    assert out["technical evaluation"]["outcome"] == "NLR"
    assert out["technical evaluation"]["rules"] == ["3A090.a.1", "GP10.technical-evaluation"]
    for case in ("not 3A090 a/b", "before the guidance", "not named"):
        row = out[case]
        assert (row["outcome"], row["rules"], row["obligations"]) == ("NLR", ["3A090.a.1"], []), case
    assert "__gp10" not in overlays.apply(frame, facts, posture="enforced").columns
