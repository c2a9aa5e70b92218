"""The legal-reach step of a chip/computer determination (issue 10; docs/legal-reach.md §9).

``apply`` runs the pure reach rules (``aiexport.law.reach``) over a frame already decided by
``license.decide_frame`` and folds their answer into the outcome, with this precedence (after the
US-destination rule, before everything else):

1. not subject to the EAR → NLR, rules = the §734 rules that say so; nothing else applies;
2. subject unknown → NEEDS_FACTS with the origin facts, only if they could change the answer;
3. a Part 744/746 requirement → LICENSE_REQUIRED, which no modelled licence exception (nor a VEU)
   overcomes; the review policy is the strictest of the CCL's and the reach requirement's;
4. a VEU authorization that holds authorizes the CCL (§742.6) requirement (exception ``VEU``);
5. reach facts that could add a requirement, or decide a stated VEU → NEEDS_FACTS;
6. guidance flags (AI training for D:5/Macau parties) → an advisory obligation, never a requirement.

Both ``check`` (``aiexport.law.decide.decide``) and the batch path call this same function.
"""

from __future__ import annotations

from functools import cache

import polars as pl

from aiexport.law.license import RULES as CCL_RULES
from aiexport.law.reach.rules import POLICY_RANK

EMPTY = pl.lit([], dtype=pl.List(pl.String))
EXCEPTION_RULES = {"740.25.HBM", "740.8.NAC", "740.8.ACA", "740.27.AIA", "740.28.ACM", "740.29.LPP"}
# the CCL rules kept when a VEU authorizes the requirement: the item's paragraph and the requirements
REQUIREMENT_RULES = {
    "742.6(a)(6)(ii).2022",
    "742.6(a)(6)(iii)",
    "744.23(a)(3).headquarters",
    "742.6(a)(6)(iii)(A).headquarters",
    "742.6(a)(6)(iii)(B).UAE",
    "742.6(a)(6)(i)(B)",
    "742.6(a)(6)(iii)(A).worldwide",
}
FLAG_OBLIGATION = (
    "Resolve the red flag of the BIS guidance of 2025-05-13 (AI model training for or on behalf of a party "
    "headquartered in D:5 or Macau): a licence may be required under §744.22/§744.6 with knowledge of a "
    "WMD or military-intelligence end use"
)
REACH_SUMMARY = (
    "subject_to_ear",
    "subject_rules",
    "reach_requirement_rules",
    "reach_policy",
    "reach_policy_rule",
    "reach_needs_facts",
    "veu_authorized",
    "veu_rules",
    "veu_exceeded",
    "reach_flags",
    "reach_obligations",
)


def apply(
    frame: pl.DataFrame, *, posture: str, authorizations: dict | None = None, ordered: bool = True
) -> pl.DataFrame:
    """Evaluate the reach rules over a decided chip frame and fold them into its outcome.
    ``ordered=False``: the same rows with the same values, in any order (the batch path puts its
    output in row order once, at the end; re-sorting a frame of ~150 columns costs)."""
    from aiexport.law import reach

    if frame.height == 0:
        return frame
    since = first_day()
    early = frame["date"] < since
    if not early.any():
        return fold(
            reach.reach_frame(frame, posture=posture, authorizations=authorizations, ordered=ordered)
        )
    if early.all():
        return frame
    # orders dated before the reach rules are encoded (2022-10-07) keep the CCL answer
    if ordered:
        frame = frame.with_row_index("__reach_i")
    late = fold(
        reach.reach_frame(
            frame.filter(~early), posture=posture, authorizations=authorizations, ordered=ordered
        )
    )
    out = pl.concat([frame.filter(early), late], how="diagonal_relaxed")
    return out.sort("__reach_i").drop("__reach_i") if ordered else out


def first_day():
    """The first day the legal-reach parameters are encoded for."""
    from aiexport.engine.params import default_store

    return default_store().parameter("reach_de_minimis_percent_other").values[0].since


def _not_in(col: pl.Expr, ids: set[str]) -> pl.Expr:
    return col.list.eval(pl.element().filter(~pl.element().is_in(sorted(ids))))


# The cases of the precedence, in order; each row falls in the first that holds.
US_DEST, NOT_SUBJECT, ASK_SUBJECT, REQUIRED, ASK_OTHER, VEU_OK, VEU_NOT_OK, CCL_PREFIXED, CCL = (
    range(9)
)
_DECISIVE = (NOT_SUBJECT, ASK_SUBJECT, REQUIRED, ASK_OTHER, VEU_OK)  # the reach rules decide the outcome


def fold(r: pl.DataFrame) -> pl.DataFrame:
    """The outcome precedence over a frame carrying both the CCL and the reach columns.

    Each row is first given its case (``US_DEST`` … ``CCL``); each case's outputs are then computed
    on its own rows only. Polars evaluates every branch of a when/then over the whole column, and
    the list work of the branches (concatenating and de-duplicating rule lists) dominated the batch
    path before the split. The expressions are constants, built once. Rows keep their order."""
    from aiexport.engine import plan

    # the case reads lists (the facts asked, the flags): decided once per distinct combination
    r = (
        plan.by_distinct(r, [_case().alias("__case")], ("__case",))
        if r.height >= plan.DISTINCT_FROM
        else r.with_columns(_case().alias("__case"))
    )
    if r.height < plan.DISTINCT_FROM and r["__case"].n_unique() == 1:
        case = r["__case"][0]  # one decision (or rows of one case): its outputs, in one query
        return plan.collect(
            r.lazy()
            .with_columns(**_case_columns_or_none(case))
            .with_columns(pl.lit(case in _DECISIVE).alias("reach_decisive"))
            .drop("__case"),
            r.height,
        )
    # split by case only the columns the cases read and write (the frame carries ~150 trace
    # columns: gathering them all by case cost more than the cases' own work), then put the
    # outputs back in row order beside the rest
    narrow = r.select(_case_reads()).with_row_index("__fold_i")
    parts = [_case_outputs(c, part) for (c,), part in narrow.group_by(["__case"])]
    out = pl.concat(parts, how="vertical_relaxed").sort("__fold_i")
    return r.with_columns(out.select(_case_writes())).with_columns(
        pl.col("__case").is_in(list(_DECISIVE)).alias("reach_decisive")
    ).drop("__case")


@cache
def _case() -> pl.Expr:
    """Each row's case of ``fold``'s precedence."""
    OUT = pl.col("outcome")
    S = pl.col("subject_to_ear")
    us_dest = pl.col("t_us_destination").fill_null(False)
    reqs = pl.col("reach_requirement_rules")
    has_req = reqs.list.len() > 0
    needs = pl.col("reach_needs_facts")
    req_needs = needs.list.set_difference(
        pl.concat_list([pl.col("subject_needs"), pl.col("veu_needs")])
    )
    veu_stated = pl.col("rf_veu_id").is_not_null()
    ccl_required = OUT.is_in(["LICENSE_REQUIRED", "LICENSE_EXCEPTION"])
    foreign_subject = ~pl.col("734.3(a)(1)").fill_null(False) & S.fill_null(False)

    case = (
        pl.when(us_dest)
        .then(US_DEST)
        # not subject → NLR; when the CCL answer is NLR anyway its rules stay the determining ones
        # (`reach.subject_rules` in the JSON still says the item is not subject)
        .when(S.eq(False).fill_null(False) & (OUT != "NLR"))
        .then(NOT_SUBJECT)
        # unknown subject: ask only if the answer could change (a licence either way, or a reach requirement)
        .when(S.is_null() & (ccl_required | has_req | (OUT == "NEEDS_FACTS")))
        .then(ASK_SUBJECT)
        .when(has_req)
        .then(REQUIRED)
        # a reach fact that could add a requirement (or decide a stated VEU that would authorize a licence)
        .when((req_needs.list.len() > 0) | ((pl.col("veu_needs").list.len() > 0) & ccl_required))
        .then(ASK_OTHER)
        .when(pl.col("veu_authorized").fill_null(False) & ccl_required)
        .then(VEU_OK)
        .when(veu_stated & (OUT == "LICENSE_REQUIRED"))
        .then(VEU_NOT_OK)  # the VEU stated does not apply: say why
        .when(((OUT != "NLR") & foreign_subject) | (pl.col("reach_flags").list.len() > 0))
        .then(CCL_PREFIXED)
        .otherwise(CCL)
        .cast(pl.Int8)
    )
    return case


@cache
def _case_writes() -> tuple[str, ...]:
    """The columns some case of the precedence writes."""
    return tuple(sorted({c for case in range(CCL + 1) for c in _case_columns_or_none(case)}))


@cache
def _case_reads() -> tuple[str, ...]:
    """The columns the cases' outputs read (Polars' own account of their expressions) and the
    columns they write (a case that writes nothing keeps a row's own values), with ``__case``."""
    read = {
        c
        for case in range(CCL + 1)
        for e in _case_columns_or_none(case).values()
        for c in e.meta.root_names()
    }
    return tuple(sorted(read | set(_case_writes()) | {"__case"}))


def _case_columns_or_none(case: int) -> dict[str, pl.Expr]:
    return {} if case in (US_DEST, CCL) else _case_columns(case)


def _unique(*lists: pl.Expr) -> pl.Expr:
    return pl.concat_list(list(lists)).list.unique(maintain_order=True)


def _case_outputs(case: int, part: pl.DataFrame) -> pl.DataFrame:
    """The outputs of one case of ``fold``'s precedence, over that case's rows."""
    if case in (US_DEST, CCL):
        return part
    return part.with_columns(**_case_columns(case))


@cache
def _case_columns(case: int) -> dict[str, pl.Expr]:
    """The output expressions of one case of ``fold``'s precedence (constants: built once)."""
    OUT = pl.col("outcome")
    ccl_rules = pl.col("rules")
    none = pl.lit(None, pl.String)
    flag_obl = (
        pl.when(pl.col("reach_flags").list.len() > 0)
        .then(pl.lit([FLAG_OBLIGATION]))
        .otherwise(EMPTY)
    )
    subject_prefix = (
        pl.when(~pl.col("734.3(a)(1)").fill_null(False) & pl.col("subject_to_ear").fill_null(False))
        .then(pl.col("subject_rules"))
        .otherwise(EMPTY)
    )
    # the CCL requirements kept when an open fact or a VEU decides the rest
    veu_kept = ccl_rules.list.eval(
        pl.element().filter(
            pl.element().is_in(sorted(REQUIREMENT_RULES)) | ~pl.element().is_in(sorted(CCL_RULES))
        )
    )
    if case == NOT_SUBJECT:
        cols = {
            "outcome": pl.lit("NLR"),
            "rules": pl.col("subject_rules"),
            "needs_facts": EMPTY,
            "license_exception": none,
            "review_policy": none,
            "obligations": EMPTY,
        }
    elif case in (ASK_SUBJECT, ASK_OTHER):
        cols = {
            "outcome": pl.lit("NEEDS_FACTS"),
            # if the CCL answer is open too its rules stay; else the requirements that hold if the
            # open facts go against you
            "rules": pl.when(OUT == "NEEDS_FACTS").then(ccl_rules).otherwise(veu_kept),
            "needs_facts": pl.concat_list(
                [
                    pl.when(OUT == "NEEDS_FACTS").then(pl.col("needs_facts")).otherwise(EMPTY),
                    pl.col("reach_needs_facts"),
                ]
            ).list.unique(maintain_order=True),
            "license_exception": none,
            "review_policy": none,
            "obligations": EMPTY,
        }
    elif case == REQUIRED:
        # strictest review policy of the CCL requirement (if one holds) and the reach requirements
        ccl_pol = pl.when(pl.col("t_any_requirement").fill_null(False)).then(pl.col("policy"))
        ccl_rank = ccl_pol.replace_strict(POLICY_RANK, default=0, return_dtype=pl.Int8)
        reach_rank = pl.col("reach_policy").replace_strict(
            POLICY_RANK, default=0, return_dtype=pl.Int8
        )
        reach_wins = reach_rank >= ccl_rank
        # an exception does not overcome Part 744/746; on a CCL NLR only the item's rules stay
        kept = (
            pl.when(OUT == "NLR")
            .then(_not_in(ccl_rules, set(CCL_RULES)))
            .otherwise(_not_in(ccl_rules, EXCEPTION_RULES))
        )
        policy_rule = pl.concat_list([pl.col("reach_policy_rule")]).list.drop_nulls()
        cols = {
            "outcome": pl.lit("LICENSE_REQUIRED"),
            "rules": _unique(subject_prefix, kept, pl.col("reach_requirement_rules"), policy_rule),
            "needs_facts": EMPTY,
            "license_exception": none,
            "review_policy": pl.when(reach_wins).then(pl.col("reach_policy")).otherwise(ccl_pol),
            "obligations": pl.concat_list(
                [
                    pl.when(OUT == "LICENSE_REQUIRED").then(pl.col("obligations")).otherwise(EMPTY),
                    flag_obl,
                ]
            ),
            "policy_rule": pl.when(reach_wins)
            .then(pl.col("reach_policy_rule"))
            .otherwise(pl.col("policy_rule")),
        }
    elif case == VEU_OK:
        cols = {
            "outcome": pl.lit("LICENSE_EXCEPTION"),
            "rules": _unique(subject_prefix, veu_kept, pl.col("veu_rules")),
            "needs_facts": EMPTY,
            "license_exception": pl.lit("VEU"),
            "review_policy": none,
            "obligations": pl.concat_list([pl.col("reach_obligations"), flag_obl]),
        }
    elif case == VEU_NOT_OK:
        cols = {
            "rules": _unique(subject_prefix, ccl_rules, pl.col("veu_rules")),
            "obligations": pl.concat_list([pl.col("obligations"), flag_obl]),
        }
    else:  # CCL_PREFIXED: the CCL answer, after the §734 path that made a foreign item subject, and
        # the guidance's advisory obligation when it flags the order
        cols = {
            "rules": pl.when(OUT != "NLR")
            .then(_unique(subject_prefix, ccl_rules))
            .otherwise(ccl_rules),
            "obligations": pl.concat_list([pl.col("obligations"), flag_obl]),
        }
    return cols
