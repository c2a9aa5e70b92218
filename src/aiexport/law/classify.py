"""ECCN 3A090 / 4A090 classification, as of a date, as Polars expressions.

One implementation serves one chip or ten million rows: each rule version is a set of named
boolean columns (the trace), from which the ECCN, the paragraph, the determining rules and the
reasons are derived. Rows are evaluated per parameter epoch (the dates on which a dated parameter
changes), so a frame of mixed dates is one pass per epoch.

Rule ids are the regulation's paragraphs: ``3A090.a.1``, ``3A090.note.datacenter``,
``3A090.a(2022).interconnect``.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import polars as pl

from aiexport.engine.params import ParameterStore, Snapshot, default_store
from aiexport.law.metrics import (
    DEFAULT_TF32_BITS,
    applicable_area_expr,
    fmt_micro,
    fmt_ratio,
    ge_const,
    ratio_ge,
    ratio_gt,
    tpp_basis_expr,
    tpp_expr,
)

CITE = {
    "3A090.a.1": "15 CFR 774 Supp. 1, ECCN 3A090.a.1 (88 FR 73458)",
    "3A090.a.2": "15 CFR 774 Supp. 1, ECCN 3A090.a.2 (88 FR 73458)",
    "3A090.b.1": "15 CFR 774 Supp. 1, ECCN 3A090.b.1 (88 FR 73458)",
    "3A090.b.2": "15 CFR 774 Supp. 1, ECCN 3A090.b.2 (88 FR 73458)",
    "3A090.note.datacenter": "15 CFR 774 Supp. 1, Note to 3A090 (not designed or marketed for datacenters)",
    "3A090.a(2022).tpp": "87 FR 62186; 15 CFR 774 Supp. 1, 3A090.a (Oct 2022): TPP",
    "3A090.a(2022).interconnect": "87 FR 62186; 15 CFR 774 Supp. 1, 3A090.a (Oct 2022): I/O rate",
    "3A090.c": "15 CFR 774 Supp. 1, ECCN 3A090.c (89 FR 96790)",
    "3A090.c.note.co-packaged": "15 CFR 774 Supp. 1, Note to 3A090.c (dominant function processing)",
    "3A090.not-in-force": "87 FR 62186 (ECCN 3A090 and its 742.6(a)(6) requirement effective 2022-10-21)",
    "3A090.tpp": "15 CFR 774 Supp. 1, Technical Note to 3A090 ('total processing performance')",
    "4A090.a": "15 CFR 774 Supp. 1, ECCN 4A090.a",
    "4A090.b": "15 CFR 774 Supp. 1, ECCN 4A090.b",
}

# The facts a user may be asked for, with the question to answer.
QUESTIONS = {
    "marketed_for_datacenter": "Is the chip designed or marketed for use in datacenters? (yes/no)",
    "die_area_mm2": "What is the applicable die area in mm2 (all non-planar logic dies, HBM excluded)?",
    "total_processing_performance": "What are the dense peak TOPS per precision (or the TPP)?",
    "interconnect_bandwidth_gbps": "What is the aggregate bidirectional I/O transfer rate in GB/s?",
    "memory_bandwidth_gbps": "What is the HBM stack's memory bandwidth in GB/s?",
    "package_area_mm2": "What is the HBM package or stack area in mm2?",
}

REASON = pl.Struct(
    {"rule": pl.String, "citation": pl.String, "held": pl.Boolean, "detail": pl.String}
)


def _reason(rule: str, held: pl.Expr, detail: pl.Expr, cite: str | None = None) -> pl.Expr:
    return pl.struct(
        pl.lit(rule).alias("rule"),
        pl.lit(cite or CITE[rule]).alias("citation"),
        held.alias("held"),
        detail.alias("detail"),
    )


def _cmp(label: pl.Expr, held: pl.Expr, ge_text: str, lt_text: str) -> pl.Expr:
    return (
        pl.when(held)
        .then(pl.format("{} {}", label, pl.lit(ge_text)))
        .when(~held)
        .then(pl.format("{} {}", label, pl.lit(lt_text)))
        .otherwise(label)  # a comparison is unknown only when a value is: the label says which
    )


def _labels(mask: pl.Expr, labels: list[str]) -> pl.Expr:
    """Map a bitmask over ``labels`` to the list of labels whose bit is set (vectorised: one
    lookup per row instead of building lists): row ``mask`` of ``label_table(labels)``."""
    return pl.lit(label_table(tuple(labels))).gather(mask)


LABEL_SEP = "\x1f"  # a separator no rule id or label contains


@cache
def label_table(labels: tuple[str, ...]) -> pl.Series:
    """Row ``m``: the labels whose bit is set in ``m``, in order (2**len(labels) rows, built once
    per process: gathering a row is several times cheaper than building the list per row)."""
    assert not any(LABEL_SEP in lab for lab in labels)
    m = pl.int_range(1 << len(labels), dtype=pl.Int64, eager=True).alias("m")
    text = (
        pl.concat_str(
            [
                pl.when(pl.col("m") & (1 << i) != 0)
                .then(pl.lit(lab + LABEL_SEP))
                .otherwise(pl.lit(""))
                for i, lab in enumerate(labels)
            ]
        )
        if labels
        else pl.lit("")
    )
    # each label is followed by the separator: split after removing the last one (an empty label stays)
    return (
        pl.DataFrame(m)
        .select(
            pl.when(pl.col("m") == 0)
            .then(pl.lit([], dtype=pl.List(pl.String)))
            .otherwise(text.str.strip_suffix(LABEL_SEP).str.split(LABEL_SEP))
            .alias("labels")
        )
        .to_series()
    )


def _bits(items: list[tuple[pl.Expr, int]]) -> pl.Expr:
    """Sum of the bits whose condition holds (null counts as not holding)."""
    if not items:
        return pl.lit(0)
    return pl.sum_horizontal(
        [pl.when(c.fill_null(False)).then(pl.lit(b)).otherwise(pl.lit(0)) for c, b in items]
    )


def _str_list(items: list[tuple[pl.Expr, str]]) -> pl.Expr:
    """A list of the labels whose condition holds."""
    if not items:
        return pl.lit([], dtype=pl.List(pl.String))
    return _labels(
        _bits([(c, 1 << i) for i, (c, _) in enumerate(items)]), [lab for _, lab in items]
    )


def _t(v) -> str:
    return str(v.value)


# ---- rule versions ---------------------------------------------------------------------------


def _rules_none(p: Snapshot) -> list[pl.Expr]:
    reasons = pl.concat_list(
        [
            _reason(
                "3A090.not-in-force",
                pl.lit(False),
                pl.lit("no advanced-computing ECCN before 2022-10-21"),
            )
        ]
    )
    return [
        pl.lit(None, pl.String).alias("paragraph"),
        pl.lit(None, pl.Boolean).alias("nac_aca_eligible"),
        pl.lit([], dtype=pl.List(pl.String)).alias("needs_facts"),
        pl.lit(["3A090.not-in-force"]).alias("rules"),
        reasons.alias("reasons"),
    ]


def _rules_2022(p: Snapshot) -> list[pl.Expr]:
    T, io = pl.col("tpp"), pl.col("interconnect")
    tpp_ok = ge_const(T, p.tpp_2022.fraction)
    io_ok = ge_const(io, p.io_rate_2022.fraction)
    met = tpp_ok & io_ok  # Kleene: unknown I/O with TPP below the line is still "not met"
    t_label = pl.format("TPP {}", fmt_micro(T))
    io_label = pl.format("I/O {} GB/s", fmt_micro(io))
    reasons = pl.concat_list(
        [
            _reason(
                "3A090.a(2022).tpp",
                tpp_ok,
                _cmp(t_label, tpp_ok, f">= {_t(p.tpp_2022)}", f"< {_t(p.tpp_2022)}"),
                p.tpp_2022.cite,
            ),
            _reason(
                "3A090.a(2022).interconnect",
                io_ok,
                _cmp(io_label, io_ok, f">= {_t(p.io_rate_2022)}", f"< {_t(p.io_rate_2022)}"),
                p.io_rate_2022.cite,
            ),
        ]
    )
    needs = _str_list(
        [
            (T.is_null(), "total_processing_performance"),
            (met.is_null() & io.is_null(), "interconnect_bandwidth_gbps"),
        ]
    )
    labels = ["3A090.a(2022)", "3A090.a(2022).tpp", "3A090.a(2022).interconnect"]
    rules = _labels(
        pl.when(met)
        .then(pl.lit(1))
        .when(met.is_null())
        .then(_bits([(tpp_ok.is_null(), 2), (io_ok.is_null(), 4)]))
        .otherwise(_bits([(~tpp_ok, 2), (~io_ok, 4)])),
        labels,
    )
    return [
        pl.when(met).then(pl.lit("3A090.a(2022)")).alias("paragraph"),
        pl.when(met).then(False).alias("nac_aca_eligible"),
        needs.alias("needs_facts"),
        rules.alias("rules"),
        reasons.alias("reasons"),
    ]


def _rules_2023(p: Snapshot) -> list[pl.Expr]:
    T, A, dc = pl.col("tpp"), pl.col("applicable_die_area"), pl.col("datacenter")
    a1 = ge_const(T, p.tpp_a1.fraction)
    pd_a = ratio_ge(T, A, p.pd_a2.fraction)
    pd_b1 = ratio_ge(T, A, p.pd_b1.fraction)
    pd_b2 = ratio_ge(T, A, p.pd_b2.fraction)
    a2 = ge_const(T, p.tpp_a2.fraction) & pd_a
    b1 = ge_const(T, p.tpp_b1.fraction) & ~a1 & pd_b1 & ~pd_a
    b2 = ge_const(T, p.tpp_b2.fraction) & pd_b2 & ~pd_a
    below_nd = ~ge_const(T, p.tpp_non_datacenter.fraction)
    excluded = (dc == False) & below_nd  # noqa: E712 (Kleene: unknown flag stays unknown)
    pd_needed = ~a1 & ge_const(T, p.tpp_b2.fraction) & pd_a.is_null() & dc.fill_null(True)
    level = (
        pl.when(a1 | a2)
        .then(pl.lit("a"))
        .when(b1 | b2)
        .then(pl.lit("b"))
        .otherwise(pl.lit(None, pl.String))
    )
    dc_needed = dc.is_null() & ~a1 & level.is_not_null()

    determined = T.is_not_null() & (
        a1 | (~excluded.fill_null(False) & ~pd_needed & ~dc_needed) | excluded.fill_null(False)
    )
    paragraph = (
        pl.when(~determined)
        .then(pl.lit(None, pl.String))
        .when(a1)
        .then(pl.lit("3A090.a.1"))
        .when(excluded.fill_null(False))
        .then(pl.lit(None, pl.String))
        .when(a2)
        .then(pl.lit("3A090.a.2"))
        .when(b1)
        .then(pl.lit("3A090.b.1"))
        .when(b2)
        .then(pl.lit("3A090.b.2"))
    )
    # Note to 3A090: non-datacenter items at TPP >= 4800 are NAC/ACA-eligible; datacenter items
    # are eligible only at the .b level (§740.8; regulations.md §2.5, §5.3).
    eligible = (
        pl.when(paragraph.is_null())
        .then(pl.lit(None, pl.Boolean))
        .when(dc == False)  # noqa: E712
        .then(True)
        .when(dc == True)  # noqa: E712
        .then(level == "b")
        .otherwise(pl.when(level == "b").then(True))
    )
    if not p.in_force("nac_available"):
        eligible = pl.when(paragraph.is_not_null()).then(False)

    t_label = pl.format("TPP {}", fmt_micro(T))
    pd_label = pl.format("PD {}", fmt_ratio(T, A))
    tpa1, tpa2, tpb1, tpb2 = (_t(p.tpp_a1), _t(p.tpp_a2), _t(p.tpp_b1), _t(p.tpp_b2))
    pda, pdb1, pdb2 = _t(p.pd_a2), _t(p.pd_b1), _t(p.pd_b2)
    t_a1 = _cmp(t_label, a1, f">= {tpa1}", f"< {tpa1}")
    reasons = pl.concat_list(
        [
            _reason("3A090.a.1", a1, t_a1, p.tpp_a1.cite),
            _reason(
                "3A090.a.2",
                a2,
                pl.format(
                    "{} and {}",
                    _cmp(t_label, ge_const(T, p.tpp_a2.fraction), f">= {tpa2}", f"< {tpa2}"),
                    _cmp(pd_label, pd_a, f">= {pda}", f"< {pda}"),
                ),
                p.pd_a2.cite,
            ),
            _reason(
                "3A090.b.1",
                b1,
                pl.format(
                    "{} and {}",
                    _cmp(
                        t_label,
                        ge_const(T, p.tpp_b1.fraction) & ~a1,
                        f"in [{tpb1}, {tpa1})",
                        f"outside [{tpb1}, {tpa1})",
                    ),
                    _cmp(
                        pd_label, pd_b1 & ~pd_a, f"in [{pdb1}, {pda})", f"outside [{pdb1}, {pda})"
                    ),
                ),
                p.pd_b1.cite,
            ),
            _reason(
                "3A090.b.2",
                b2,
                pl.format(
                    "{} and {}",
                    _cmp(t_label, ge_const(T, p.tpp_b2.fraction), f">= {tpb2}", f"< {tpb2}"),
                    _cmp(
                        pd_label, pd_b2 & ~pd_a, f"in [{pdb2}, {pda})", f"outside [{pdb2}, {pda})"
                    ),
                ),
                p.pd_b2.cite,
            ),
            _reason(
                "3A090.note.datacenter",
                excluded | ((dc == False) & a1),  # noqa: E712
                pl.when(dc.is_null())
                .then(pl.lit("designed or marketed for datacenters: unknown"))
                .when(dc)
                .then(pl.lit("designed or marketed for datacenters"))
                .when(a1)
                .then(
                    pl.format(
                        "not designed or marketed for datacenters, {}: NAC/ACA-eligible", t_a1
                    )
                )
                .otherwise(
                    pl.format(
                        "not designed or marketed for datacenters and {}: outside 3A090.a/.b", t_a1
                    )
                ),
                p.tpp_non_datacenter.cite,
            ),
        ]
    )
    needs = _str_list(
        [
            (T.is_null(), "total_processing_performance"),
            (T.is_not_null() & pd_needed, "die_area_mm2"),
            (T.is_not_null() & (dc_needed | (pd_needed & dc.is_null())), "marketed_for_datacenter"),
        ]
    )
    labels = [
        "3A090.a.1",
        "3A090.a.2",
        "3A090.b.1",
        "3A090.b.2",
        "3A090.note.datacenter",
        "3A090.tpp",
    ]
    met_bits = _bits([(a2, 2), (b1, 4), (b2, 8)])
    rules = _labels(
        pl.when(T.is_null())
        .then(pl.lit(32))
        .when(a1 & (dc == False))  # noqa: E712
        .then(pl.lit(1 | 16))
        .when(a1)
        .then(pl.lit(1))
        .when(excluded.fill_null(False))
        .then(pl.lit(16))
        .when(pd_needed)
        .then(pl.lit(2 | 4 | 8))
        .when(dc_needed)
        .then(met_bits + 16)
        .when(level.is_null())
        .then(pl.lit(1 | 2 | 4 | 8))
        .otherwise(met_bits),
        labels,
    )
    return [
        paragraph.alias("paragraph"),
        eligible.alias("nac_aca_eligible"),
        needs.alias("needs_facts"),
        rules.alias("rules"),
        reasons.alias("reasons"),
    ]


def _rules_hbm(p: Snapshot) -> list[pl.Expr]:
    """3A090.c: HBM with 'memory bandwidth density' > 2 GB/s/mm2 (from 2024-12-02)."""
    bw, area, co = pl.col("memory_bandwidth"), pl.col("package_area"), pl.col("co_packaged")
    if not p.in_force("hbm_memory_bandwidth_density"):
        reasons = pl.concat_list(
            [
                _reason(
                    "3A090.c",
                    pl.lit(False),
                    pl.lit("3A090.c not in force before 2024-12-02"),
                    "89 FR 96790 (effective 2024-12-02)",
                )
            ]
        )
        return [
            pl.lit(None, pl.String).alias("paragraph"),
            pl.lit(None, pl.Boolean).alias("nac_aca_eligible"),
            pl.lit([], dtype=pl.List(pl.String)).alias("needs_facts"),
            pl.lit(["3A090.c"]).alias("rules"),
            reasons.alias("reasons"),
        ]
    q = p.hbm_memory_bandwidth_density
    dense = ratio_gt(bw, area, q.fraction)
    excluded = co.fill_null(False)
    met = dense & ~excluded
    label = pl.format("memory bandwidth density {} GB/s/mm2", fmt_ratio(bw, area, 3))
    reasons = pl.concat_list(
        [
            _reason("3A090.c", met, _cmp(label, dense, f"> {q.value}", f"<= {q.value}"), q.cite),
            _reason(
                "3A090.c.note.co-packaged",
                excluded,
                pl.when(excluded)
                .then(pl.lit("co-packaged with a logic IC whose dominant function is processing"))
                .otherwise(pl.lit("not co-packaged with processing logic")),
            ),
        ]
    )
    needs = _str_list(
        [
            (dense.is_null() & ~excluded & bw.is_null(), "memory_bandwidth_gbps"),
            (dense.is_null() & ~excluded & (area.is_null() | (area == 0)), "package_area_mm2"),
        ]
    )
    rules = (
        pl.when(excluded).then(pl.lit(["3A090.c.note.co-packaged"])).otherwise(pl.lit(["3A090.c"]))
    )
    return [
        pl.when(met).then(pl.lit("3A090.c")).alias("paragraph"),
        pl.when(met).then(False).alias("nac_aca_eligible"),
        needs.alias("needs_facts"),
        rules.alias("rules"),
        reasons.alias("reasons"),
    ]


def _ic_rules(p: Snapshot, device_type: str) -> list[pl.Expr]:
    if device_type == "hbm":
        return _rules_hbm(p)
    version = p.value("ac_rule_version")
    if version is None:
        return _rules_none(p)
    if version == "2022":
        return _rules_2022(p)
    return _rules_2023(p)


# ---- evaluation ------------------------------------------------------------------------------


def _epochs(dates: pl.Series, store: ParameterStore, posture: str) -> pl.Series:
    """Each date's epoch: the index of the last boundary on or before it (-1 before the first)."""
    if dates.len() <= _BISECT_UP_TO and not dates.has_nulls():
        # a few dates (one decision): Python's bisect, ~30 times faster than Polars' fixed cost here
        return pl.Series("", [store.epoch(d, posture) for d in dates.to_list()], dtype=pl.Int64)
    bounds = pl.Series(store.boundaries(posture), dtype=pl.Date)
    return bounds.search_sorted(dates, side="right").cast(pl.Int64) - 1


_BISECT_UP_TO = 64


def with_metrics(frame: pl.DataFrame, tf32_bits: int = DEFAULT_TF32_BITS) -> pl.DataFrame:
    return frame.with_columns(
        tpp_expr(tf32_bits).alias("tpp"),
        tpp_basis_expr(tf32_bits).alias("tpp_basis"),
        applicable_area_expr().alias("applicable_die_area"),
    )


def classify_frame(
    frame: pl.DataFrame,
    *,
    on: dt.date | None = None,
    posture: str = "enforced",
    tf32_bits: int = DEFAULT_TF32_BITS,
    store: ParameterStore | None = None,
    explain: bool = True,
) -> pl.DataFrame:
    """Classify normalised spec rows (see ``aiexport.io.specs``); ``on`` overrides the ``on``
    column. Returns the input columns plus the classification columns, in input order.

    ``explain=False`` skips rendering the reasons' text (the decision, the determining rules and
    the needed facts are the same; only the prose is left out) — for bulk runs."""
    store = store or default_store()
    if on is not None or "on" not in frame.columns:
        frame = frame.with_columns(pl.lit(on or dt.date.today()).alias("on"))
    frame = with_metrics(frame, tf32_bits)
    bounds = store.boundaries(posture)
    epochs = _epochs(frame["on"], store, posture)
    keys = pl.DataFrame({"__epoch": epochs, "device_type": frame["device_type"]})
    groups = keys.unique(maintain_order=True)

    def evaluate(part: pl.DataFrame, epoch: int, device_type: str) -> pl.DataFrame:
        snap = store.snapshot(bounds[epoch], posture)
        exprs = _ic_rules(snap, device_type)
        if not explain:
            exprs = [e for e in exprs if e.meta.output_name() != "reasons"]
            exprs.append(pl.lit(None, dtype=pl.List(REASON)).alias("reasons"))
        part = part.with_columns(exprs)
        return part.with_columns(
            pl.when(pl.col("paragraph") == "3A090.a(2022)")
            .then(pl.lit("3A090.a"))
            .otherwise(pl.col("paragraph").str.extract(r"^(3A090\.[abc])", 1))
            .alias("eccn"),
            pl.lit(snap.rule_set).alias("rule_set"),
            _hbm_exception(snap).alias("hbm_exception_eligible"),
        )

    if groups.height == 1:
        return evaluate(frame, groups["__epoch"][0], groups["device_type"][0])
    frame = frame.with_row_index("__i").with_columns(epochs.alias("__epoch"))
    parts = [
        evaluate(part.drop("__epoch"), epoch, device_type)
        for (epoch, device_type), part in frame.group_by(
            ["__epoch", "device_type"], maintain_order=True
        )
    ]
    return pl.concat(parts, how="vertical_relaxed").sort("__i").drop("__i")


def _hbm_exception(p: Snapshot) -> pl.Expr:
    """License Exception HBM (§740.25): 3A090.c items below 3.3 GB/s/mm2."""
    if not p.in_force("license_exception_hbm_ceiling"):
        return pl.lit(None, pl.Boolean)
    q = p.license_exception_hbm_ceiling.fraction
    bw, area = pl.col("memory_bandwidth"), pl.col("package_area")
    return pl.when(pl.col("paragraph") == "3A090.c").then(
        pl.when(area > 0).then(bw * q.denominator < area * q.numerator)
    )


def classify_systems(
    components: pl.DataFrame,
    *,
    on: dt.date | None = None,
    posture: str = "enforced",
    tf32_bits: int = DEFAULT_TF32_BITS,
    store: ParameterStore | None = None,
) -> pl.DataFrame:
    """ECCN 4A090 for computers, assemblies and components: ``components`` holds normalised IC
    rows with ``system`` (an id) and ``count``. A system is 4A090.a if any contained IC meets
    3A090.a, else 4A090.b if any meets 3A090.b (15 CFR 774 Supp. 1, 4A090). ICs excluded from
    3A090 by its Notes are also excluded from 4A090."""
    ics = classify_frame(components, on=on, posture=posture, tf32_bits=tf32_bits, store=store)
    ics = ics.with_columns(
        pl.when(pl.col("eccn") == "3A090.a")
        .then(2)
        .when(pl.col("eccn") == "3A090.b")
        .then(1)
        .otherwise(0)
        .alias("__rank"),
        pl.col("needs_facts").list.len().gt(0).alias("__open"),
        pl.int_range(pl.len()).alias("__order"),
    )
    agg = (
        ics.sort("__rank", descending=True, maintain_order=True)
        .group_by("system", maintain_order=True)
        .agg(
            pl.col("on").first(),
            pl.col("rule_set").first(),
            # LPP (§740.29(a)) counts the TPP of advanced-computing ICs only: host CPUs and other
            # parts outside 3A090 do not count (all parts count only when none is 3A090).
            pl.when(pl.col("__rank").max() > 0)
            .then((pl.col("tpp") * pl.col("count")).filter(pl.col("__rank") > 0).sum())
            .otherwise((pl.col("tpp") * pl.col("count")).sum())
            .alias("system_tpp"),
            pl.col("count").sum().alias("ic_count"),
            pl.col("__rank").first().alias("__rank"),
            pl.col("name").first().alias("determining_ic"),
            pl.col("paragraph").first().alias("ic_paragraph"),
            pl.col("tpp").first().alias("tpp"),
            pl.col("applicable_die_area").first().alias("applicable_die_area"),
            pl.col("tpp_basis").first().alias("tpp_basis"),
            # the determining IC's own figures (e.g. DRAM bandwidth for the 91 FR 1684 zone)
            pl.col("memory_bandwidth").first().alias("memory_bandwidth"),
            pl.col("datacenter").first().alias("datacenter"),
            pl.col("nac_aca_eligible").first().alias("nac_aca_eligible"),
            pl.col("rules").first().alias("ic_rules"),
            pl.col("reasons").first().alias("ic_reasons"),
            pl.col("needs_facts")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique(maintain_order=True)
            .alias("all_needs"),
            pl.col("__open").any().alias("__open"),
            pl.col("__order").min(),
        )
        .sort("__order")
    )
    level = (
        pl.when(pl.col("__rank") == 2)
        .then(pl.lit("4A090.a"))
        .when(pl.col("__rank") == 1)
        .then(pl.lit("4A090.b"))
    )
    # An open fact on any IC matters only if it could raise the system above its current level.
    needs = (
        pl.when(pl.col("__rank") == 2)
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.col("all_needs").list.drop_nulls())
    )
    detail = pl.format("contains {} ({})", pl.col("determining_ic"), pl.col("ic_paragraph"))
    sys_reason = pl.struct(
        level.fill_null(pl.lit("4A090")).alias("rule"),
        pl.when(pl.col("__rank") == 1)
        .then(pl.lit(CITE["4A090.b"]))
        .otherwise(pl.lit(CITE["4A090.a"]))
        .alias("citation"),
        (pl.col("__rank") > 0).alias("held"),
        pl.when(pl.col("__rank") > 0)
        .then(detail)
        .otherwise(pl.lit("no contained IC meets 3A090.a or 3A090.b"))
        .alias("detail"),
    )
    return agg.select(
        pl.col("system").alias("name"),
        "on",
        "rule_set",
        "tpp",
        "tpp_basis",
        "applicable_die_area",
        "memory_bandwidth",
        "datacenter",
        "system_tpp",
        "ic_count",
        "determining_ic",
        level.alias("eccn"),
        level.alias("paragraph"),
        pl.when(pl.col("__rank") > 0).then(pl.col("nac_aca_eligible")).alias("nac_aca_eligible"),
        pl.lit(None, pl.Boolean).alias("hbm_exception_eligible"),
        needs.alias("needs_facts"),
        pl.when(pl.col("__rank") > 0)
        .then(pl.concat_list([level, pl.col("ic_rules")]))
        .otherwise(pl.col("ic_rules"))
        .alias("rules"),
        pl.concat_list([sys_reason, pl.col("ic_reasons")]).alias("reasons"),
    )
