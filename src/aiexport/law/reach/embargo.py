"""Embargoes and sanctioned destinations (15 CFR Part 746): Cuba, North Korea, Iran, Syria,
Russia and Belarus, and the occupied regions of Ukraine. Each requirement is a trace column named
by its paragraph, so a memo cites §746.8(a)(1) and not only "D:5"."""

from __future__ import annotations

import polars as pl

from aiexport.engine.params import Snapshot
from aiexport.law.reach.end_use import on_ccl
from aiexport.law.reach.rules import labels


def embargo_requirements(frame: pl.LazyFrame, p: Snapshot) -> pl.LazyFrame:
    to, region = pl.col("to"), pl.col("rf_region")
    rb = sorted(p.value("reach_embargo_russia_belarus") or [])
    in_force = p.value("reach_embargo_policies") is not None
    occupied = region.is_in(["crimea", "dnr", "lnr"])
    trace = {
        "746.2(a)": pl.lit(in_force) & (to == "CU"),
        "746.4(a)": pl.lit(in_force) & (to == "KP"),
        "746.6(a)": pl.lit(in_force) & (to == "UA") & occupied,
        "746.7(a)(1)(i)": pl.lit(in_force) & (to == "IR") & on_ccl(),
        "746.8(a)(1)": to.is_in(rb) & on_ccl(),
        "746.9(a)": pl.lit(in_force) & (to == "SY"),
    }
    frame = frame.with_columns(**trace)
    below_unknown = pl.col("eccn").is_null() & pl.col("rf_eccn_below").is_null()
    needs = labels([
        ("destination_region", pl.lit(in_force) & (to == "UA") & region.is_null()),
        ("eccn_below_3a090", below_unknown & (to.is_in(rb) | (to == "IR"))),
    ])
    return frame.with_columns(needs.alias("embargo_needs"))
