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


def test_gp10_queries_name_every_chip_gp10_can_reach_and_no_designer_never_in_d5():
    """``gp10_queries`` picks the rows batch hands to ``gp10``: every chip GP10 reaches on some day
    (each designer and vendor on each date D:5 changed, both postures) must match one of them. A
    designer never headquartered in D:5 or Macau (NVIDIA, AMD, ...) is left out: it named most rows
    of a book, and every row then went through ``gp10``."""
    store = default_store()
    queries = overlays.gp10_queries(store)
    designers = {str(k) for v in store.parameter("ic_designer_headquarters").values for k in (v.value or {})}
    vendors = {x for v in store.parameter("d5_headquartered_chip_developers").values for x in (v.value or [])}
    days = sorted({v.since for v in store.parameter("group:D:5").values} | {DAY})
    days = [d for d in days if d >= store.parameter("gp10_prc_ic_presumption").values[0].since] + [DAY]
    names = [f"{d} X1" for d in sorted(designers | vendors)]
    base = _frame().head(1).drop("item_name")
    frame = pl.concat([base.with_columns(pl.lit(n).alias("item_name"), pl.lit(day).alias("date"))
                       for n in names for day in sorted(set(days))])
    reached = set()
    for posture in ("enforced", "codified"):
        out = overlays.apply(frame, [{}] * frame.height, posture=posture)
        reached |= set(out.filter(pl.col("rules").list.contains("GP10"))["item_name"])
    assert {"MetaX X1", "Enflame X1", "HiSilicon X1"} <= reached
    assert all(any(overlays.names_match(q, n) for q in queries) for n in reached)
    us = {k for v in store.parameter("ic_designer_headquarters").values for k, hq in v.value.items() if hq == "US"}
    assert {"NVIDIA", "AMD", "Intel"} <= us and not us & set(queries)


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_a_frame_gp10_reaches_nowhere_comes_out_as_in_a_frame_it_reaches(posture):
    """``gp10`` returns early when no row is reached (no day in force, or no named or stated
    chip): those rows come out exactly as the full path gives them beside a row it reaches, with
    the same columns."""
    store = default_store()
    frame = _frame()
    reached = frame.filter(pl.col("case") == "exception")
    untouched = frame.filter(pl.col("case").is_in(["not named", "before the guidance", "not 3A090 a/b"]))
    for rows in (untouched, untouched.filter(pl.col("case") == "before the guidance")):
        alone = overlays.gp10(rows, *overlays._gp10_stated([{}] * rows.height, rows.height), posture=posture, store=store)
        both = pl.concat([reached, rows])
        full = overlays.gp10(both, *overlays._gp10_stated([{}] * both.height, both.height), posture=posture, store=store)
        assert alone.columns == full.columns
        assert alone.equals(full.slice(1)), (alone, full.slice(1))
        assert full["__gp10"].to_list()[0] is True and not alone["__gp10"].any()
