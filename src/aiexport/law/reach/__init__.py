"""Legal reach (issue 10): is the item subject to the EAR, and the licence requirements that do not
come from its ECCN — end uses and end users (Part 744), the affiliates rule (§744.11(a)(1)),
embargoes (Part 746) — and validated end-user authorizations (§748.15).

Pure functions of a prepared transaction frame (the columns of ``aiexport.law.decide.prepare``
plus the ``rf_*`` fact columns of ``aiexport.law.reach.facts.fact_frame``) and a parameter
snapshot. Each rule is a boolean trace column named by its paragraph; the summary columns are:

``subject_to_ear``           true / false / null (a fact that can change the answer is missing)
``subject_rules``            the §734 paths that made the item subject, or why it is not
``reach_requirement_rules``  Part 744/746 requirements that hold (empty when not subject)
``reach_policy``             the strictest review policy among them, ``reach_policy_rule`` its rule
``reach_needs_facts``        facts to ask (only those that can change the answer)
``veu_authorized``           true / false / null, with ``veu_rules``, ``veu_obligations``, ``veu_exceeded``
``reach_flags``              guidance that applies (advisory, not a requirement)
``reach_obligations``        obligations that come with a VEU authorization

See docs/legal-reach.md ("Wiring") for where these go in the outcome precedence.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl
import yaml

from aiexport.engine.params import ParameterStore, Snapshot, default_store, recorded
from aiexport.law.reach.affiliates import affiliates, entity_list_fdp_requirements
from aiexport.law.reach.embargo import embargo_requirements
from aiexport.law.reach.end_use import end_use_requirements
from aiexport.law.reach.facts import COLUMNS as FACT_COLUMNS
from aiexport.law.reach.facts import fact_frame
from aiexport.law.reach.rules import POLICY_RANK, POLICY_RULE, REQUIREMENTS, RULES, hq_cols, labels
from aiexport.law.reach.subject import subject_to_ear
from aiexport.law.reach.veu import VeuAuthorization, load_authorizations, veu

__all__ = [
    "FACT_COLUMNS",
    "RULES",
    "VeuAuthorization",
    "evaluate_reach",
    "fact_frame",
    "load_authorizations",
    "reach_frame",
    "timeline",
]

EMPTY = pl.lit([], dtype=pl.List(pl.String))


def _policy_744_23(p: Snapshot, columns: set[str]) -> tuple[pl.Expr, pl.Expr]:
    """§744.23(d): the review policy and the paragraph stating it, per row."""
    v = p.value("reach_744_23_policy")
    if v not in ("744.23(d)", "744.23(d).2023"):
        return pl.lit(str(v or "denial")), pl.lit("744.23(d).2022")
    d5mo = sorted(p.group("D:5") | {"MO"})
    friendly = sorted(p.group("A:5") | p.group("A:6") | {"US"})
    # (d)(2): headquartered in the US or A:5/A:6 and not majority-owned by a Macau/D:5-headquartered
    # entity — the ultimate parent's headquarters stands for the majority owner (documented default)
    d2 = pl.col("e_hq").is_in(friendly) & ~pl.col("e_phq").is_in(d5mo)
    if v == "744.23(d).2023":
        # the 2023 text (88 FR 73449): denial for Macau and D:5 destinations; "However", approval for
        # the US/A:5/A:6-headquartered end user; all other applications case-by-case
        rule = (
            pl.when(d2)
            .then(pl.lit("744.23(d).2023.approval"))
            .when(pl.col("to").is_in(d5mo))
            .then(pl.lit("744.23(d).2023.denial"))
            .otherwise(pl.lit("744.23(d).2023.case-by-case"))
        )
        policy = rule.replace_strict(
            {
                "744.23(d).2023.approval": "approval",
                "744.23(d).2023.denial": "denial",
                "744.23(d).2023.case-by-case": "case-by-case",
            },
            return_dtype=pl.String,
        )
        return policy, rule
    eccn = pl.col("eccn")
    datacenter_a = eccn.is_in(["3A090.a", "4A090.a"]) & (
        pl.col("datacenter").fill_null(True) if "datacenter" in columns else pl.lit(True)
    )
    d3i = (eccn.str.starts_with("3A090") | eccn.str.starts_with("4A090")).fill_null(
        False
    ) & ~datacenter_a.fill_null(True)
    d1 = pl.col("to").is_in(d5mo) | pl.any_horizontal([c.is_in(d5mo) for c in hq_cols()])
    rule = (
        pl.when(d2)
        .then(pl.lit("744.23(d)(2)"))
        .when(d3i)
        .then(pl.lit("744.23(d)(3)"))
        .when(d1)
        .then(pl.lit("744.23(d)(1)"))
        .otherwise(pl.lit("744.23(d)(3)"))
    )
    policy = rule.replace_strict(
        {"744.23(d)(1)": "denial", "744.23(d)(2)": "approval", "744.23(d)(3)": "case-by-case"},
        return_dtype=pl.String,
    )
    return policy, rule


def _policies(p: Snapshot) -> dict[str, tuple[pl.Expr, pl.Expr, pl.Expr]]:
    """The review policy of each reach requirement, the rule that states it and the policy's rank,
    as expressions: literals, or the ``__eu_*`` columns that ``evaluate_reach`` computes once for
    the §744.23 requirements (decided per row)."""
    mil = str(p.value("reach_744_21_22_policy") or "denial")
    fixed = {
        "744.21(a)(1)": mil,
        "744.21(a)(2)": mil,
        "744.22": mil,
        "744.11(a)(1)": str(p.value("reach_affiliates_policy") or "denial"),
        "746.8(a)(1)": "denial",
        "746.8(a)(3)": "denial",
        "744.11(a)(2)(i)": str(p.value("reach_entity_list_entry_policy") or "denial"),
        "744.11(a)(2)(ii)": str(p.value("reach_entity_list_entry_policy") or "denial"),
        **{k: str(v) for k, v in (p.value("reach_embargo_policies") or {}).items()},
    }
    eu = (pl.col("__eu_pol"), pl.col("__eu_rule"), pl.col("__eu_rank"))
    out = {r: eu for r in ("744.23(a)(1)", "744.23(a)(2)", "744.23(a)(4)")}
    out.update(
        {
            r: (pl.lit(pol), pl.lit(POLICY_RULE[r]), pl.lit(POLICY_RANK.get(pol, 3), pl.Int8))
            for r, pol in fixed.items()
        }
    )
    if "746.4(a)" in fixed:  # North Korea: decided per row (``_north_korea_policy``)
        out["746.4(a)"] = (pl.col("__kp_pol"), pl.col("__kp_rule"), pl.col("__kp_rank"))
    return out


def _north_korea_policy(p: Snapshot) -> tuple[pl.Expr, pl.Expr]:
    """§746.4(b): case-by-case, except (b)(5) "other items on the CCL": §742.19(b)(1), which denies
    computers above 0.0004 WT and microprocessors of 0.5 GFLOPS or more — every chip and computer
    aiexport classifies on the CCL. An EAR99 item (stated) is reviewed case-by-case."""
    pol = str((p.value("reach_embargo_policies") or {}).get("746.4(a)", "denial"))
    ear99 = pl.col("eccn").is_null() & (pl.col("rf_eccn_below") == "EAR99").fill_null(False)
    return (
        pl.when(ear99).then(pl.lit("case-by-case")).otherwise(pl.lit(pol)),
        pl.when(ear99)
        .then(pl.lit(POLICY_RULE["746.4(a).EAR99"]))
        .otherwise(pl.lit(POLICY_RULE["746.4(a)"])),
    )


def evaluate_reach(
    frame: pl.DataFrame | pl.LazyFrame,
    p: Snapshot,
    authorizations: dict[str, VeuAuthorization] | None = None,
) -> pl.DataFrame:
    """All reach rules for one parameter epoch; returns the frame with the trace and summary columns.

    The rules' expressions are built once per store, posture, date and the set of fact columns
    the frame lacks (``engine.plan``; with VEU authorizations on record the VEU stage is built
    for the call) and replayed on each frame."""
    from aiexport.engine import plan

    lf = frame.lazy()
    *stages, summary = (build()[0] for build in _stages(p, lf.collect_schema().names(), authorizations))
    # On a frame the optimiser runs on (``plan.collect``), each stage is materialised before the
    # next: chained lazily, the stages' expression trees nest into one plan whose optimisation
    # (common-subexpression elimination over thousands of nodes) cost ~1.7 s a call. A small
    # frame skips the optimiser, so its stages run as one query.
    rows = (
        frame.select(pl.len()).collect().item() if isinstance(frame, pl.LazyFrame) else frame.height
    )
    small = rows < plan.OPTIMISE_FROM
    for s in stages:
        lf = s.replay(lf, rows) if small else plan.collect(s.replay(lf, rows), rows).lazy()
    return plan.collect(summary.replay(lf, rows), rows)


def _stages(p: Snapshot, columns, authorizations) -> list:
    """The reach rules' stages for one epoch, in order, each a function giving (its
    ``engine.plan.Plan``, the parameter versions building it read: ``engine.params.versions``).
    The VEU stage with authorizations on record is built for the call (they are the same for every
    row of it), its reads recorded too. The others are built when first asked for, once per store,
    posture, set of parameter versions it reads (``engine.plan.by_versions``) and what it depends on
    in the frame's columns (which fact columns are missing; whether ``datacenter`` is there)."""
    from aiexport.engine import plan

    names = set(columns)
    missing = tuple(col for col, _ in FACT_COLUMNS.values() if col not in names)
    has_datacenter = "datacenter" in names

    def stage(name, build, *extra):
        return lambda: plan.by_versions(("reach", name, *extra), p, lambda: plan.record(build, p))

    return [
        stage("subject", lambda f, p: subject_to_ear(_defaults(f, missing), p), missing),
        stage("end_use", end_use_requirements),
        stage("embargo", embargo_requirements),
        stage("affiliates", affiliates),
        stage("fdp", entity_list_fdp_requirements),
        stage("veu", lambda f, p: veu(f, p, None))
        if not authorizations
        else lambda: recorded(lambda: plan.record(lambda f: veu(f, p, authorizations)), p._store),
        stage("summary", lambda f, p: _summary(f, p, has_datacenter), has_datacenter),
    ]


def _merged(store: ParameterStore, posture: str, epochs: list[int], stages_of) -> dict[int, int]:
    """{epoch: the epoch whose stages it is evaluated with}: consecutive epochs in which every stage
    read the same parameter versions (``engine.plan.runs``) are evaluated with the first one's (the
    stages read nothing else that depends on the date). A book spanning 2022-2026 meets ~20 epochs
    of the law but few of the reach rules. ``stages_of(epoch)``: the epoch's ``_stages``."""
    from aiexport.engine import plan

    def every_stage(e: int) -> tuple[None, frozenset | None]:  # what all the stages read
        read = [build()[1] for build in stages_of(e)]
        return None, None if any(r is None for r in read) else frozenset().union(*read)

    return {e: run[0] for _, run in plan.runs(store, posture, sorted(epochs), every_stage) for e in run}


def _by_stage(
    frame: pl.DataFrame,
    store: ParameterStore,
    posture: str,
    epochs: pl.Series,
    authorizations: dict[str, VeuAuthorization] | None,
) -> pl.DataFrame:
    """``evaluate_reach`` over a frame of many epochs (``epochs``: each row's epoch of the store),
    stage by stage, with the rows in epoch order (the caller restores its own).

    A stage reads few of the parameters: over the 24 epochs of the reach rules, the subject stage
    reads 7 different sets of versions, the embargo stage one. The rows are put in epoch order once;
    for each stage, consecutive epochs in which the stage read the same versions (its plan is then
    the same: the stages read nothing else that depends on the date) are one slice of the frame
    and one query. The same stage plans as ``evaluate_reach``, replayed on fewer, larger slices."""
    from aiexport.engine import plan

    bounds = store.boundaries(posture)
    frame = frame.with_columns(epochs.alias("__epoch"))
    if not epochs.is_sorted():  # (a chunk's licence output comes in epoch order: sorting it again cost 0.1 s)
        frame = frame.sort("__epoch", maintain_order=True)
    rows = dict(frame.group_by("__epoch", maintain_order=True).len().rows())  # epoch -> rows, in order
    frame = frame.drop("__epoch")
    columns = frame.columns
    stages = {e: _stages(store.snapshot(bounds[e], posture), columns, authorizations) for e in rows}
    for k in range(len(stages[next(iter(rows))])):
        parts, at = [], 0
        for built, run in plan.runs(store, posture, rows, lambda e, k=k: stages[e][k]()):
            n = sum(rows[e] for e in run)
            parts.append(plan.collect(built.replay(frame.slice(at, n).lazy(), n), n))
            at += n
        frame = parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical_relaxed")
    return frame


def _defaults(lf, missing: tuple[str, ...]):
    """A frame without reach facts uses their defaults."""
    from aiexport.law.reach.facts import coerce

    for col, dtype in FACT_COLUMNS.values():
        if col in missing:
            name = next(n for n, (c, _) in FACT_COLUMNS.items() if c == col)
            lf = lf.with_columns(pl.lit(coerce(name, None), dtype=dtype).alias(col))
    return lf


def _summary(lf, p: Snapshot, has_datacenter: bool):
    """The summary columns over the materialised trace (see the module's docstring)."""
    S = pl.col("subject_to_ear")
    R = {r: pl.col(r) for r in REQUIREMENTS}
    held = labels([(r, R[r]) for r in REQUIREMENTS])
    requirement_rules = pl.when(S.eq(False)).then(EMPTY).otherwise(held)
    # The §744.23 policy (decided per row) once, as columns; then each requirement's rank when it
    # holds (0 when not), so the choice below reads columns rather than nesting the policy
    # expressions once per requirement (a quadratic plan that cost seconds to optimise).
    eu_pol, eu_rule = _policy_744_23(p, {"datacenter"} if has_datacenter else set())
    kp_pol, kp_rule = _north_korea_policy(p)
    lf = lf.with_columns(
        eu_pol.alias("__eu_pol"),
        eu_rule.alias("__eu_rule"),
        kp_pol.alias("__kp_pol"),
        kp_rule.alias("__kp_rule"),
    ).with_columns(
        pl.col("__eu_pol")
        .replace_strict(POLICY_RANK, default=3, return_dtype=pl.Int8)
        .alias("__eu_rank"),
        pl.col("__kp_pol")
        .replace_strict(POLICY_RANK, default=3, return_dtype=pl.Int8)
        .alias("__kp_rank"),
    )
    policies = _policies(p)
    ranks = [f"__rank{i}" for i in range(len(REQUIREMENTS))]
    lf = lf.with_columns(
        pl.when(R[r].fill_null(False) & S.eq(False).not_().fill_null(True))
        .then(policies[r][2])
        .otherwise(pl.lit(0, pl.Int8))
        .alias(rank)
        for r, rank in zip(REQUIREMENTS, ranks, strict=True)
    ).with_columns(pl.max_horizontal([pl.col(c) for c in ranks]).alias("__strictest"))
    pol = rule = None
    for r, rank in zip(
        REQUIREMENTS, ranks, strict=True
    ):  # the first (in paragraph order) with the strictest policy
        cond = (pl.col(rank) > 0) & (pl.col(rank) == pl.col("__strictest"))
        pol = (
            pl.when(cond).then(policies[r][0])
            if pol is None
            else pol.when(cond).then(policies[r][0])
        )
        rule = (
            pl.when(cond).then(policies[r][1])
            if rule is None
            else rule.when(cond).then(policies[r][1])
        )
    lf = lf.with_columns(
        requirement_rules.alias("reach_requirement_rules"),
        pol.otherwise(pl.lit(None, pl.String)).alias("reach_policy"),
        rule.otherwise(pl.lit(None, pl.String)).alias("reach_policy_rule"),
    ).drop(
        [
            *ranks,
            "__strictest",
            "__eu_pol",
            "__eu_rule",
            "__eu_rank",
            "__kp_pol",
            "__kp_rule",
            "__kp_rank",
        ]
    )
    # the lists, from a few distinct combinations of what they read (engine.plan.by_distinct)
    return lf.with_columns_by_distinct(
        # requirements whose own facts are open (null) also need those facts, unless the item is not subject
        pl.concat_list(
            [
                pl.col("subject_needs"),
                pl.when(S.eq(False))
                .then(EMPTY)
                .otherwise(
                    pl.concat_list(
                        [
                            pl.col("end_use_needs"),
                            pl.col("embargo_needs"),
                            pl.col("affiliates_needs"),
                        ]
                    )
                ),
                pl.col("veu_needs"),
            ]
        )
        .list.unique(maintain_order=True)
        .alias("reach_needs_facts"),
        labels(
            [("guidance:2025-05-13.ai-training", pl.col("guidance:2025-05-13.ai-training"))]
        ).alias("reach_flags"),
        pl.col("748.15").alias("veu_authorized"),
        pl.col("veu_obligations").alias("reach_obligations"),
        distinct=("reach_needs_facts", "reach_flags"),
    )


def reach_frame(
    frame: pl.DataFrame,
    *,
    posture: str = "enforced",
    store: ParameterStore | None = None,
    authorizations: dict[str, VeuAuthorization] | None = None,
    ordered: bool = True,
) -> pl.DataFrame:
    """``evaluate_reach`` per parameter epoch (mixed dates in one frame), in input order (with
    ``ordered=False``, the same rows in any order)."""
    from aiexport.engine import plan
    from aiexport.law.classify import _epochs

    store = store or default_store()
    bounds = store.boundaries(posture)
    epochs = _epochs(frame["date"], store, posture)
    if frame.height >= plan.OPTIMISE_FROM and epochs.n_unique() > 1:
        # a chunk of a book: stage by stage, each over the rows of the epochs where it is the same
        if not ordered:
            return _by_stage(frame, store, posture, epochs, authorizations)
        frame = frame.with_row_index("__r")
        return _by_stage(frame, store, posture, epochs, authorizations).sort("__r").drop("__r")
    # a few rows (one decision, a short check): one query per group of epochs in which the stages
    # are the same
    columns = frame.columns
    present = epochs.unique().to_list()
    if len(present) > 1:
        reach_epoch = _merged(
            store,
            posture,
            present,
            lambda e: _stages(store.snapshot(bounds[e], posture), columns, authorizations),
        )
        epochs = epochs.replace_strict(reach_epoch, return_dtype=epochs.dtype)
    if epochs.n_unique() == 1:
        return evaluate_reach(frame, store.snapshot(bounds[epochs[0]], posture), authorizations)
    frame = frame.with_columns(epochs.alias("__epoch"))
    if ordered:
        frame = frame.with_row_index("__r")
    parts = [
        evaluate_reach(part.drop("__epoch"), store.snapshot(bounds[e], posture), authorizations)
        for (e,), part in frame.group_by(["__epoch"], maintain_order=ordered)
    ]
    out = pl.concat(parts, how="vertical_relaxed")
    return out.sort("__r").drop("__r") if ordered else out


@cache
def _timeline() -> tuple[dict, ...]:
    path = Path(str(resources.files("aiexport.law.reach") / "timeline.yaml"))
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(dict(t, effective=dt.date.fromisoformat(str(t["effective"]))) for t in entries)


def timeline() -> list[dict]:
    """The reach rule versions, in the shape of ``ParameterStore.timeline`` entries."""
    return [dict(t) for t in _timeline()]
