"""Is the item subject to the EAR? (15 CFR 734.3, 734.4, 734.9)

Decided before classification matters: an item in the US or of US origin is subject; a foreign-made
item is subject if its controlled US content exceeds the de minimis level, or if a foreign direct
product rule reaches it (product scope AND destination / end-user / end-use scope). Every path is
a boolean trace column named by its paragraph; null means a fact that can change the answer is
missing.
"""

from __future__ import annotations

import polars as pl

from aiexport.engine.params import Snapshot
from aiexport.law.metrics import MICRO
from aiexport.law.reach.rules import hq_cols, labels, starts_with_any

PATHS = [
    "734.3(a)(1)",
    "734.3(a)(2)",
    "734.4(a)",
    "734.4(c)",
    "734.4(d)",
    "734.9(h)",
    "734.9(e)(1)",
    "734.9(e)(2)",
    "734.9(g)",
    "734.9(i)",
]


def _fdp_h_destination(p: Snapshot) -> pl.Expr:
    to = pl.col("to")
    scope = p.value("reach_fdp_advanced_computing_scope")
    if scope is None:
        return pl.lit(False)
    if scope == "china":
        return to == "CN"
    if scope == "china_macau":
        return to.is_in(["CN", "MO"])
    if scope == "worldwide":
        return pl.lit(True)
    D1, D4, D5 = p.group("D:1"), p.group("D:4"), p.group("D:5")
    A5, A6 = p.group("A:5"), p.group("A:6")
    d5mo = sorted(D5 | {"MO"})
    in_scope = to.is_in(sorted((D1 | D4 | D5) - (A5 | A6))) | (to == "MO")
    hq = pl.any_horizontal([c.is_in(d5mo) for c in hq_cols()])
    return in_scope | hq


def subject_to_ear(frame, p: Snapshot):
    """Add the §734 trace columns, ``subject_to_ear`` (true/false/null), ``subject_rules`` (the
    paths that made it subject, or the rules that determined it is not) and ``subject_needs``."""
    to = pl.col("to")
    made = pl.col("rf_made_in")
    us_item = pl.col("from") == "US"
    us_origin = made == "US"
    foreign = made != "US"
    e12 = sorted(p.group("E:1") | p.group("E:2"))
    in_e = to.is_in(e12)
    level_e = p.value("reach_de_minimis_percent_e1_e2")
    level_other = p.value("reach_de_minimis_percent_other")
    share = pl.col("rf_us_share")
    level = pl.when(in_e).then(pl.lit(level_e * MICRO)).otherwise(pl.lit(level_other * MICRO))
    exceeds = share > level  # "exceeds": a share equal to the level is de minimis
    product = pl.col("rf_direct_product") | pl.col("rf_tool_plant")

    eccn = pl.col("eccn")
    item_open = pl.col("item_needs").list.len() > 0
    h_items = p.value("reach_fdp_advanced_computing_items") or []
    h_item = (
        pl.when(eccn.is_not_null())
        .then(starts_with_any(eccn, h_items))
        .when(item_open)
        .then(pl.lit(None, pl.Boolean))
        .otherwise(pl.lit(False))
    )
    h_scope = h_item & _fdp_h_destination(p)
    fn = pl.col("rf_footnotes")
    e1_scope = pl.lit(p.in_force("reach_fdp_entity_list_footnote_1")) & fn.list.contains(1)
    e2_scope = pl.lit(p.in_force("reach_fdp_entity_list_footnote_4")) & fn.list.contains(4)
    g_scope = pl.lit(p.in_force("reach_fdp_russia_belarus_meu_footnote_3")) & fn.list.contains(3)
    sc_dest = p.value("reach_fdp_supercomputer_destinations") or []
    i_scope = (
        pl.lit(bool(sc_dest))
        & (pl.col("rf_end_use") == "supercomputer")
        & to.is_in(sorted(sc_dest))
    )
    any_scope = (h_scope | e1_scope | e2_scope | g_scope | i_scope).fill_null(True)

    trace = {
        "734.3(a)(1)": us_item,
        "734.3(a)(2)": us_origin,
        "734.4(a)": foreign & pl.col("rf_no_de_minimis"),
        "734.4(c)": foreign & in_e & exceeds,
        "734.4(d)": foreign & ~in_e & exceeds,
        "734.9(h)": foreign & product & h_scope,
        "734.9(e)(1)": foreign & product & e1_scope,
        "734.9(e)(2)": foreign & product & e2_scope,
        "734.9(g)": foreign & product & g_scope,
        "734.9(i)": foreign & product & i_scope,
    }
    frame = frame.with_columns(**trace)
    T = {k: pl.col(k) for k in trace}
    subject = pl.any_horizontal(
        list(T.values())
    )  # Kleene: null when nothing holds and a fact is missing
    frame = frame.with_columns(subject.alias("subject_to_ear"))
    S = pl.col("subject_to_ear")
    level_rule = pl.when(in_e).then(pl.lit("734.4(c)")).otherwise(pl.lit("734.4(d)"))
    not_subject = pl.concat_list(
        [
            pl.lit(["734.3.not-subject"]),
            pl.concat_list([level_rule]),
            labels(
                [
                    ("734.9(h)", h_scope),
                    ("734.9(e)(1)", e1_scope),
                    ("734.9(e)(2)", e2_scope),
                    ("734.9(g)", g_scope),
                    ("734.9(i)", i_scope),
                ]
            ),
        ]
    )
    rules = (
        pl.when(S)
        .then(labels([(k, T[k]) for k in PATHS]))
        .when(~S)
        .then(not_subject)
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
    )
    open_ = S.is_null()
    needs = labels(
        [
            ("made_in", open_ & made.is_null() & ~us_item),
            (
                "us_controlled_content_share",
                open_ & foreign & share.is_null() & ~pl.col("rf_no_de_minimis").fill_null(False),
            ),
            (
                "direct_product_of_us_technology",
                open_
                & foreign
                & any_scope
                & product.is_null()
                & pl.col("rf_direct_product").is_null(),
            ),
            (
                "made_by_us_tool_plant",
                open_ & foreign & any_scope & product.is_null() & pl.col("rf_tool_plant").is_null(),
            ),
        ]
    )
    # lists, from a few distinct combinations of what they read (engine.plan.by_distinct)
    return frame.with_columns_by_distinct(
        rules.alias("subject_rules"),
        needs.alias("subject_needs"),
        distinct=("subject_rules", "subject_needs"),
    )
