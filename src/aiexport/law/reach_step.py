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

import polars as pl

from aiexport.law.license import RULES as CCL_RULES
from aiexport.law.reach.rules import POLICY_RANK

EMPTY = pl.lit([], dtype=pl.List(pl.String))
EXCEPTION_RULES = {"740.25.HBM", "740.8.NAC", "740.8.ACA", "740.27.AIA", "740.28.ACM", "740.29.LPP"}
# the CCL rules kept when a VEU authorizes the requirement: the item's paragraph and the requirements
REQUIREMENT_RULES = {
    "742.6(a)(6)(ii).2022", "742.6(a)(6)(iii)", "744.23(a)(3).headquarters", "742.6(a)(6)(iii)(A).headquarters",
    "742.6(a)(6)(iii)(B).UAE", "742.6(a)(6)(i)(B)", "742.6(a)(6)(iii)(A).worldwide",
}
FLAG_OBLIGATION = (
    "Resolve the red flag of the BIS guidance of 2025-05-13 (AI model training for or on behalf of a party "
    "headquartered in D:5 or Macau): a licence may be required under §744.22/§744.6 with knowledge of a "
    "WMD or military-intelligence end use"
)
REACH_SUMMARY = (
    "subject_to_ear", "subject_rules", "reach_requirement_rules", "reach_policy", "reach_policy_rule",
    "reach_needs_facts", "veu_authorized", "veu_rules", "veu_exceeded", "reach_flags", "reach_obligations",
)


def apply(frame: pl.DataFrame, *, posture: str, authorizations: dict | None = None) -> pl.DataFrame:
    """Evaluate the reach rules over a decided chip frame and fold them into its outcome."""
    from aiexport.law import reach

    if frame.height == 0:
        return frame
    since = first_day()
    early = frame["date"] < since
    if not early.any():
        return fold(reach.reach_frame(frame, posture=posture, authorizations=authorizations))
    if early.all():
        return frame
    # orders dated before the reach rules are encoded (2022-10-07) keep the CCL answer
    frame = frame.with_row_index("__reach_i")
    late = fold(reach.reach_frame(frame.filter(~early), posture=posture, authorizations=authorizations))
    return pl.concat([frame.filter(early), late], how="diagonal_relaxed").sort("__reach_i").drop("__reach_i")


def first_day():
    """The first day the legal-reach parameters are encoded for."""
    from aiexport.engine.params import default_store

    return default_store().parameter("reach_de_minimis_percent_other").values[0].since


def _not_in(col: pl.Expr, ids: set[str]) -> pl.Expr:
    return col.list.eval(pl.element().filter(~pl.element().is_in(sorted(ids))))


def fold(r: pl.DataFrame) -> pl.DataFrame:
    """The outcome precedence over a frame carrying both the CCL and the reach columns."""
    OUT = pl.col("outcome")
    S = pl.col("subject_to_ear")
    us_dest = pl.col("t_us_destination").fill_null(False)
    reqs = pl.col("reach_requirement_rules")
    has_req = reqs.list.len() > 0
    needs = pl.col("reach_needs_facts")
    subject_needs = pl.col("subject_needs")
    veu_needs = pl.col("veu_needs")
    req_needs = needs.list.set_difference(pl.concat_list([subject_needs, veu_needs]))
    veu_stated = pl.col("rf_veu_id").is_not_null()
    ccl_required = OUT.is_in(["LICENSE_REQUIRED", "LICENSE_EXCEPTION"])
    foreign = ~pl.col("734.3(a)(1)").fill_null(False)

    # not subject → NLR; when the CCL answer is NLR anyway, its rules stay the determining ones
    # (`reach.subject_rules` in the JSON still says the item is not subject)
    not_subject = ~us_dest & S.eq(False).fill_null(False) & (OUT != "NLR")
    # unknown subject: ask only if the answer could change (a licence either way, or a reach requirement)
    ask_subject = ~us_dest & S.is_null() & (ccl_required | has_req | (OUT == "NEEDS_FACTS"))
    required = ~us_dest & has_req
    # a reach fact that could add a requirement (or decide a stated VEU that would authorize a licence)
    ask_other = ~us_dest & ((req_needs.list.len() > 0) | ((veu_needs.list.len() > 0) & ccl_required))
    veu_ok = ~us_dest & pl.col("veu_authorized").fill_null(False) & ccl_required

    # strictest review policy of the CCL requirement (if one holds) and the reach requirements
    ccl_pol = pl.when(pl.col("t_any_requirement").fill_null(False)).then(pl.col("policy"))
    ccl_rank = ccl_pol.replace_strict(POLICY_RANK, default=0, return_dtype=pl.Int8)
    reach_rank = pl.col("reach_policy").replace_strict(POLICY_RANK, default=0, return_dtype=pl.Int8)
    reach_wins = reach_rank >= ccl_rank
    policy = pl.when(reach_wins).then(pl.col("reach_policy")).otherwise(ccl_pol)

    ccl_rules = pl.col("rules")
    # an exception does not overcome Part 744/746; on a CCL NLR only the item's rules stay
    kept_for_license = pl.when(OUT == "NLR").then(_not_in(ccl_rules, set(CCL_RULES))).otherwise(_not_in(ccl_rules, EXCEPTION_RULES))
    subject_prefix = pl.when(foreign & S.fill_null(False)).then(pl.col("subject_rules")).otherwise(EMPTY)
    policy_rule = pl.concat_list([pl.col("reach_policy_rule")]).list.drop_nulls()
    veu_kept = ccl_rules.list.eval(
        pl.element().filter(pl.element().is_in(sorted(REQUIREMENT_RULES)) | ~pl.element().is_in(sorted(CCL_RULES)))
    )

    outcome = (
        pl.when(us_dest).then(OUT)
        .when(not_subject).then(pl.lit("NLR"))
        .when(ask_subject).then(pl.lit("NEEDS_FACTS"))
        .when(required).then(pl.lit("LICENSE_REQUIRED"))
        .when(ask_other).then(pl.lit("NEEDS_FACTS"))
        .when(veu_ok).then(pl.lit("LICENSE_EXCEPTION"))
        .otherwise(OUT)
    )
    rules = (
        pl.when(us_dest).then(ccl_rules)
        .when(not_subject).then(pl.col("subject_rules"))
        .when((ask_subject | ask_other) & (OUT == "NEEDS_FACTS")).then(ccl_rules)
        .when(ask_subject | ask_other).then(veu_kept)  # the requirements that hold if the open facts go against you
        .when(required).then(pl.concat_list([subject_prefix, kept_for_license, reqs, policy_rule]).list.unique(maintain_order=True))
        .when(veu_ok).then(pl.concat_list([subject_prefix, veu_kept, pl.col("veu_rules")]).list.unique(maintain_order=True))
        .when(veu_stated & (OUT == "LICENSE_REQUIRED")).then(  # the VEU stated does not apply: say why
            pl.concat_list([subject_prefix, ccl_rules, pl.col("veu_rules")]).list.unique(maintain_order=True))
        .when(OUT != "NLR").then(pl.concat_list([subject_prefix, ccl_rules]).list.unique(maintain_order=True))
        .otherwise(ccl_rules)
    )
    needs_facts = (
        pl.when(us_dest).then(pl.col("needs_facts"))
        .when(not_subject | required & ~ask_subject).then(EMPTY)
        .when(ask_subject | ask_other).then(
            pl.concat_list([pl.when(OUT == "NEEDS_FACTS").then(pl.col("needs_facts")).otherwise(EMPTY), needs])
            .list.unique(maintain_order=True))
        .when(veu_ok).then(EMPTY)
        .otherwise(pl.col("needs_facts"))
    )
    exception = (
        pl.when(us_dest).then(pl.col("license_exception"))
        .when(not_subject | ask_subject | required | ask_other).then(pl.lit(None, pl.String))
        .when(veu_ok).then(pl.lit("VEU"))
        .otherwise(pl.col("license_exception"))
    )
    review = (
        pl.when(us_dest).then(pl.col("review_policy"))
        .when(not_subject | ask_subject).then(pl.lit(None, pl.String))
        .when(required).then(policy)
        .when(ask_other | veu_ok).then(pl.lit(None, pl.String))
        .otherwise(pl.col("review_policy"))
    )
    flag_obl = pl.when(pl.col("reach_flags").list.len() > 0).then(pl.lit([FLAG_OBLIGATION])).otherwise(EMPTY)
    obligations = (
        pl.when(us_dest).then(pl.col("obligations"))
        .when(not_subject | ask_subject | ask_other).then(EMPTY)
        .when(required).then(pl.concat_list([
            pl.when(OUT == "LICENSE_REQUIRED").then(pl.col("obligations")).otherwise(EMPTY), flag_obl]))
        .when(veu_ok).then(pl.concat_list([pl.col("reach_obligations"), flag_obl]))
        .otherwise(pl.concat_list([pl.col("obligations"), flag_obl]))
    )
    return r.with_columns(
        outcome.alias("outcome"), rules.alias("rules"), needs_facts.alias("needs_facts"),
        exception.alias("license_exception"), review.alias("review_policy"), obligations.alias("obligations"),
        pl.when(required & ~ask_subject & reach_wins).then(pl.col("reach_policy_rule")).otherwise(pl.col("policy_rule"))
        .alias("policy_rule"),
        (~us_dest & (not_subject | required | veu_ok | ask_subject | ask_other)).alias("reach_decisive"),
    )
