"""End-use and end-user controls (15 CFR 744.21, 744.22, 744.23) and the BIS guidance of
2025-05-13 on AI-model training (an advisory flag: guidance, not a rule).

An end use is a stated fact (``end_use``: what the exporter knows); a requirement that holds is a
boolean trace column named by its paragraph."""

from __future__ import annotations

import polars as pl

from aiexport.engine.params import Snapshot
from aiexport.law.reach.rules import labels, starts_with_any


def _scope_744_23(p: Snapshot) -> pl.Expr:
    to = pl.col("to")
    v = p.value("reach_744_23_scope")
    if v is None:
        return pl.lit(False)
    if v == "CN":
        return to == "CN"
    if v == "CN+MO":
        return to.is_in(["CN", "MO"])
    return to.is_in(sorted(p.group("D:5") | {"MO"}))


def item_eccn_in(prefixes: list[str] | None) -> pl.Expr:
    """The item's ECCN (3A090/4A090 from classification, else the stated ECCN below 3A090) is in
    the list; null when the item is below 3A090 and its ECCN is not stated."""
    eccn, below = pl.col("eccn"), pl.col("rf_eccn_below")
    return pl.when(eccn.is_not_null()).then(starts_with_any(eccn, prefixes)).otherwise(starts_with_any(below, prefixes))


def on_ccl() -> pl.Expr:
    """The item is specified in an ECCN on the CCL (not EAR99); null when unknown."""
    eccn, below = pl.col("eccn"), pl.col("rf_eccn_below")
    return pl.when(eccn.is_not_null()).then(pl.lit(True)).otherwise(below != "EAR99")


def end_use_requirements(frame: pl.LazyFrame, p: Snapshot) -> pl.LazyFrame:
    to, use = pl.col("to"), pl.col("rf_end_use")
    d5mo = sorted(p.group("D:5") | {"MO"})
    scope = _scope_744_23(p)
    below_unknown = pl.col("eccn").is_null() & pl.col("rf_eccn_below").is_null()
    a1_items = p.value("reach_744_23_a1_items")
    m1 = sorted(p.value("reach_744_21_a1_countries") or [])
    m2 = sorted(p.value("reach_744_21_a2_countries") or [])
    mi = sorted(set(p.value("reach_744_22_countries") or []) | p.group("E:1") | p.group("E:2"))
    supp2 = p.value("reach_744_21_supplement2_items")
    sme = pl.lit(p.in_force("reach_744_23_a4_sme")) & (use == "sme_development_production") & to.is_in(d5mo)
    trace = {
        "744.23(a)(1)": (use == "supercomputer") & scope & item_eccn_in(a1_items),
        "744.23(a)(2)": (use == "advanced_node_ic_production") & scope,
        "744.23(a)(4)": sme & on_ccl(),
        "744.21(a)(1)": (use == "military") & to.is_in(m1) & item_eccn_in(supp2),
        "744.21(a)(2)": (use == "military") & to.is_in(m2),
        "744.22": (use == "military_intelligence") & to.is_in(mi),
    }
    guidance = (
        pl.lit(p.in_force("reach_ai_training_guidance")) & (use == "ai_model_training")
        & pl.col("rf_ai_training_hq").is_in(d5mo)
    )
    frame = frame.with_columns(**trace).with_columns(guidance.fill_null(False).alias("guidance:2025-05-13.ai-training"))
    asks_eccn = below_unknown & (
        ((use == "supercomputer") & scope) | sme | ((use == "military") & to.is_in(m1))
    )
    asks_hq = (
        pl.lit(p.in_force("reach_ai_training_guidance")) & (use == "ai_model_training") & pl.col("rf_ai_training_hq").is_null()
    )
    return frame.with_columns(
        labels([("eccn_below_3a090", asks_eccn), ("ai_training_for_headquarters", asks_hq)]).alias("end_use_needs")
    )
