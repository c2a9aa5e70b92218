"""License determination for chips and computers: requirement, exception, review policy.

Default logic with explicit precedence (DESIGN.md principle 3): a license is required if any
requirement rule holds; unless an exception applies (in order: HBM, NAC/ACA, AIA, ACM, LPP);
unless a restriction (§740.2(a)(9)(ii)) forecloses it; and a required license carries the review
policy of §742.6(b)(10). Every step is a named boolean column (the trace) computed over a frame of
transactions, per parameter epoch, for one order or millions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from aiexport.engine.params import ParameterStore, Snapshot, default_store
from aiexport.law.classify import _epochs, _labels
from aiexport.law.facts import default as fact_default
from aiexport.law.metrics import MICRO

OUTCOMES = ("NLR", "LICENSE_EXCEPTION", "LICENSE_REQUIRED", "NEEDS_FACTS")


@dataclass(frozen=True)
class Rule:
    id: str
    cite: str
    text: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        Rule(
            "no-license.us-destination",
            "15 CFR 734.13-734.14 (export/reexport means shipment out of / between foreign countries)",
            "the destination is the United States",
        ),
        Rule(
            "742.6(a)(6)(ii).2022",
            "15 CFR 742.6(a)(6)(ii) (87 FR 62186, effective 2022-10-21; Macau added by 88 FR 2821 effective 2023-01-17)",
            "3A090/4A090 to or within China (incl. Hong Kong); from 2023-01-17 also Macau",
        ),
        Rule(
            "742.6(a)(6)(iii)",
            "88 FR 73458; 15 CFR 742.6(a)(6)(iii)",
            "3A090.a/.b, 4A090.a/.b to or within D:1, D:4 or D:5 not also in A:5/A:6, or Macau",
        ),
        Rule(
            "744.23(a)(3).headquarters",
            "15 CFR 744.23(a)(3) (88 FR 73458, effective 2023-11-17)",
            "a party is headquartered in, or its ultimate parent is headquartered in, D:5 or Macau",
        ),
        Rule(
            "742.6(a)(6)(iii)(A).headquarters",
            "15 CFR 742.6(a)(6)(iii)(A) (90 FR 4544, effective 2025-01-13)",
            "a party is headquartered in, or its ultimate parent is headquartered in, D:5 or Macau (any destination outside the US)",
        ),
        Rule(
            "742.6(a)(6)(iii)(B).UAE",
            "91 FR 43034; 15 CFR 742.6(a)(6)(iii)(B)",
            "to or within the United Arab Emirates (outside the license-free paths)",
        ),
        Rule(
            "91 FR 43034.license-free",
            "91 FR 43034; 15 CFR 740 Supp. No. 8",
            "UAE government agency or Supp. No. 8 entity: license-free",
        ),
        Rule(
            "742.6(a)(6)(i)(B)",
            "89 FR 96790; 15 CFR 742.6(a)(6)(i)(B)",
            "3A090.c to or within Macau or D:5",
        ),
        Rule(
            "742.6(a)(6)(iii)(A).worldwide",
            "15 CFR 742.6(a)(6)(iii)(A) (90 FR 4544; codified, compliance 2025-05-15)",
            "3A090.a/4A090.a to or within any destination worldwide",
        ),
        Rule(
            "740.2(a)(9)(ii)",
            "15 CFR 740.2(a)(9)(ii)",
            "D:1/D:4/D:5 (not A:5/A:6), Macau or a D:5/Macau-headquartered party: only TMP, NAC/ACA, RPL, GOV, TSU, HBM, AIA (4E091), ACM remain",
        ),
        Rule(
            "740.25.HBM",
            "89 FR 96790; 15 CFR 740.25",
            "License Exception HBM: 3A090.c below 3.3 GB/s/mm2",
        ),
        Rule(
            "740.8.NAC",
            "15 CFR 740.8 (88 FR 73458; 89 FR 23876)",
            "License Exception NAC: eligible item, exported or reexported to Macau/D:5 or to a Macau/D:5-headquartered entity, prior notification to BIS",
        ),
        Rule(
            "740.8.ACA",
            "15 CFR 740.8 (89 FR 23876); in-country transfers 15 CFR 740.1(a)",
            "License Exception ACA: eligible item to D:1/D:4, and in-country transfers within Macau/D:5 or to Macau/D:5-headquartered entities; no notification",
        ),
        Rule(
            "740.8(c).notice-period",
            "15 CFR 740.8(c)",
            "NAC does not authorize a shipment fewer than 25 calendar days after the notification",
        ),
        Rule(
            "740.8.not-eligible",
            "15 CFR 740.8; Note to 3A090",
            "NAC/ACA not available: 3A090.a designed or marketed for datacenters, or 3A090.c",
        ),
        Rule(
            "740.27.AIA",
            "15 CFR 740.27(a)(1), (b)(2) (90 FR 4544)",
            "License Exception AIA: Tier-1 destination, parties located and headquartered in Tier 1; 3A090.a only from an approved or authorized IC designer",
        ),
        Rule(
            "740.28.ACM",
            "15 CFR 740.28(a) (90 FR 4544); 15 CFR 740.2(a)(9)(ii)",
            "License Exception ACM: export, reexport or in-country transfer to a 'private sector end user' for development, production or storage, items ultimately destined to customers outside Macau/D:5",
        ),
        Rule(
            "740.27(a)(1).designer",
            "15 CFR 740.27(a)(1); Note 1.a(2)(i) to 3A090.a; 15 CFR 748.16",
            "AIA not available: the 3A090.a IC was not designed by an approved or authorized IC designer (a Macau/D:5-headquartered designer never is)",
        ),
        Rule(
            "740.28(a).not-met",
            "15 CFR 740.28(a)",
            "ACM considered (a development, production or storage end use was stated) and not available: a condition failed (the memo names it)",
        ),
        Rule(
            "740.29.LPP",
            "15 CFR 740.29(a) (90 FR 4544); in-country transfers 15 CFR 740.1(a)",
            "License Exception LPP: up to 26,900,000 TPP of advanced computing ICs per calendar year to one ultimate consignee (exports, reexports and, on the same terms, in-country transfers)",
        ),
        Rule(
            "740.29.LPP.exceeded",
            "90 FR 4544; 15 CFR 740.29(a)",
            "LPP limit exceeded for the ultimate consignee this calendar year",
        ),
        Rule(
            "742.6(b)(10)(2022)",
            "87 FR 62186; 15 CFR 742.6(b)(10) (Oct 2022)",
            "presumption of denial",
        ),
        Rule(
            "742.6(b)(10).D5-Macau",
            "88 FR 73458; 15 CFR 742.6(b)(10) (secondary: CSET, S-KELLY)",
            "presumption of denial for D:5 and Macau",
        ),
        Rule(
            "742.6(b)(10).headquarters",
            "88 FR 73458; 15 CFR 742.6(b)(10) (secondary: S-CN1 on 91 FR 1684)",
            "presumption of denial for D:5/Macau-headquartered entities wherever located",
        ),
        Rule(
            "742.6(b)(10).D1-D4",
            "88 FR 73458; 15 CFR 742.6(b)(10) (secondary: CSET, S-KELLY)",
            "presumption of approval for D:1/D:4 destinations",
        ),
        Rule(
            "742.6(b)(10)(iii)(A)(1)",
            "15 CFR 742.6(b)(10)(iii)(A)(1) (91 FR 1684, effective 2026-01-15)",
            "case-by-case: export from the US to China/Macau, TPP < 21,000 and total DRAM bandwidth < 6,500 GB/s",
        ),
        Rule(
            "742.6(b)(10).UAE",
            "91 FR 43034 (review policy not read: aiexport default)",
            "case-by-case",
        ),
        Rule(
            "742.6(b)(10).tier1",
            "90 FR 4544 (review policy not read: aiexport default)",
            "case-by-case: Tier-1 destination where AIA is not available",
        ),
        Rule(
            "742.6(b)(10).tier2",
            "90 FR 4544; tier2_review_policy (UNCONFIRMED default)",
            "Tier-2 licence, counts against the country allocation",
        ),
        Rule(
            "742.6(b)(10).3A090.c",
            "89 FR 96790; 15 CFR 742.6(b)(10) (secondary)",
            "presumption of denial",
        ),
    ]
}

OBLIGATIONS = {
    "NAC": [
        "Notify BIS (SNAP-R) at least 25 calendar days before shipment and obtain the NAC confirmation number for the AES filing (license code C67) — §740.8(c)",
        "Hold a written purchase order before shipment — §740.8(a)(1)",
    ],
    "ACA": [
        "Hold a written purchase order before shipment — §740.8(a)(1); AES license code C68",
    ],
    "HBM": ["Meet the conditions of License Exception HBM — §740.25"],
    "AIA": ["Obtain the certification in §740.27(b)(2) and submit it to BIS before export"],
    "ACM": [
        "Use only for development, production or storage before onward shipment to customers outside Macau/D:5 — §740.28(a)"
    ],
    "LPP": [],
}
# 91 FR 1684 (§742.6(b)(10)(iii)(A)(1)): every condition of the case-by-case review (regulations.md §8.3, §13).
R8_CONDITIONS = [
    "91 FR 1684 condition: the chip was commercially available in the United States when the rule was published (2026-01-15)",
    "91 FR 1684 condition: state how many units you have shipped to US end-use customers at the time of application",
    "91 FR 1684 certification: the chips are below the thresholds (TPP < 21,000 and total DRAM bandwidth < 6,500 GB/s)",
    "91 FR 1684 certification: US supply is sufficient — the export does not delay US orders",
    "91 FR 1684 certification: no global foundry capacity is diverted from US end users",
    "91 FR 1684 certification: shipments to China and Macau stay at or below 50 % of the units shipped to US end use",
    "91 FR 1684 certification: independent third-party testing in the United States of every shipment",
    "91 FR 1684 certification: the recipient applies know-your-customer procedures and remote-access safeguards",
    "91 FR 1684: reexports, exports from abroad and in-country transfers to or within China/Macau stay under a presumption of denial",
]
TIER2_ALLOCATION = (
    "Counts against the destination's Tier-2 country allocation (790,000,000 TPP for 2025-2027)"
)


def _hq_cols() -> list[pl.Expr]:
    return [pl.col(c) for c in ("c_hq", "c_phq", "e_hq", "e_phq")]


def _any_in(cols: list[pl.Expr], members) -> pl.Expr:
    members = sorted(members)
    return pl.any_horizontal([c.is_in(members) for c in cols])


def _all_in(cols: list[pl.Expr], members) -> pl.Expr:
    members = sorted(members)
    return pl.all_horizontal([c.is_in(members) for c in cols])


def evaluate(frame: pl.DataFrame, p: Snapshot) -> pl.DataFrame:
    """Add the trace and the decision columns to a transaction frame for one parameter epoch.

    The rules' expressions depend on the snapshot only: they are built once per store, posture
    and date (``engine.plan``) and replayed on each frame, in one lazy query collected once."""
    from aiexport.engine import plan

    rules, _ = _plan(p)
    return plan.collect(rules.replay(frame.lazy(), frame.height), frame.height)


def _plan(p: Snapshot):
    """(the licence rules of one epoch as an ``engine.plan.Plan``, the parameter versions building
    them read: ``engine.params.versions``), built once per store, posture, rule set and set of
    versions."""
    from aiexport.engine import plan

    # the rule-set label is written into the rules' output and is not a parameter: part of the key
    return plan.by_versions(("license", p.rule_set), p, lambda: plan.record(_rules, p))


def build_plans(posture: str, store: ParameterStore | None = None) -> None:
    """Build the licence rules' plan of every epoch's rule set (``_plan``) before a process's first
    decisions (a pool process, a server). Deciding a frame of many epochs builds one plan per run of
    epochs that read the same versions, under the run's first rule set only."""
    store = store or default_store()
    for day in store.boundaries(posture):
        _plan(store.snapshot(day, posture))


def _rules(frame, p: Snapshot):
    """The licence rules for one parameter epoch, as calls on ``frame`` (an ``engine.plan.Plan``
    recording them)."""
    D1, D4, D5 = p.group("D:1"), p.group("D:4"), p.group("D:5")
    A5, A6, T1 = p.group("A:5"), p.group("A:6"), p.group("Tier1")
    d5mo = sorted(D5 | {"MO"})
    version = p.value("ac_rule_version")
    to, kind = pl.col("to"), pl.col("kind")
    eccn = pl.col("eccn")
    lvl = (
        pl.when(eccn.is_in(["3A090.a", "4A090.a"]))
        .then(pl.lit("a"))
        .when(eccn.is_in(["3A090.b", "4A090.b"]))
        .then(pl.lit("b"))
        .when(eccn == "3A090.c")
        .then(pl.lit("c"))
        .otherwise(pl.lit(None, pl.String))
    )
    item_open = pl.col("item_needs").list.len() > 0
    # An item with open facts is judged at the most-controlled level it could reach: .a unless its
    # candidate paragraphs are all .b (e.g. a .b part whose datacenter marketing is unknown).
    candidates = pl.col("item_rules").list.join(" ")
    could_a = candidates.str.contains(r"(^| )(3A090|4A090)\.a", literal=False).fill_null(True)
    could_b = candidates.str.contains(r"(^| )(3A090|4A090)\.b", literal=False).fill_null(False)
    L = (
        pl.when(item_open & (lvl != "c").fill_null(True))
        .then(pl.when(~could_a & could_b).then(pl.lit("b")).otherwise(pl.lit("a")))
        .otherwise(lvl)
    )
    hq_d5 = _any_in(_hq_cols(), d5mo)
    # read by every stage below: computed once per row (the level joins and searches the item's
    # rules as text), dropped at the end
    frame = frame.with_columns(L.alias("__level"), hq_d5.alias("__hq_d5"))
    L, hq_d5 = pl.col("__level"), pl.col("__hq_d5")
    ab = L.is_in(["a", "b"]).fill_null(False)
    in_scope = to.is_in(sorted((D1 | D4 | D5) - (A5 | A6))) | (to == "MO")
    to_d5mo = to.is_in(d5mo)

    trace = {
        "t_us_destination": to == "US",
        "t_req_2022": pl.lit(version == "2022")
        & (L == "a").fill_null(False)
        & to.is_in(sorted(p.value("ac_2022_destinations") or [])),
        "t_req_dest": pl.lit(version == "2023") & ab & in_scope,
        "t_req_hq": pl.lit(version == "2023") & ab & hq_d5 & (to != "US"),
        "t_req_uae": (
            pl.lit(p.in_force("uae_named_in_b_scope"))
            & ab
            & (to == "AE")
            & ~in_scope
            & ((L == "b") | pl.col("f_uae_a_follow_b")).fill_null(False)
        ),
        "t_req_c": pl.lit(p.in_force("hbm_memory_bandwidth_density"))
        & (L == "c").fill_null(False)
        & to_d5mo,
        "t_req_world": pl.lit(p.in_force("diffusion_binding"))
        & (L == "a").fill_null(False)
        & (to != "US"),
    }
    frame = frame.with_columns(**trace)  # one lazy query, collected once at the end
    T = {k: pl.col(k) for k in trace}
    uae_free = (
        T["t_req_uae"] & pl.col("f_uae_exempt") & pl.lit(p.in_force("uae_license_free_paths"))
    )
    any_req = ~T["t_us_destination"] & (
        T["t_req_2022"]
        | T["t_req_dest"]
        | T["t_req_hq"]
        | (T["t_req_uae"] & ~uae_free)
        | T["t_req_c"]
        | T["t_req_world"]
    )
    only_world = T["t_req_world"] & ~(
        T["t_req_dest"] | T["t_req_hq"] | T["t_req_uae"] | T["t_req_2022"]
    )
    restricted = in_scope | (to == "MO") | hq_d5

    # ---- exceptions --------------------------------------------------------------------------
    total = pl.col("system_tpp") * pl.col("quantity")  # micro-TPP
    elig = pl.col("nac_aca_eligible")
    nac_ok = pl.lit(p.in_force("nac_available") and version == "2023") & (L != "c").fill_null(False)
    aca_exists = p.in_force("aca_available")
    # 89 FR 23876: in-country transfers to or within Macau/D:5, or to Macau/D:5-headquartered
    # entities, use ACA (no notification); NAC covers exports and reexports.
    nac_code = (
        pl.when(pl.lit(not aca_exists))
        .then(pl.lit("NAC"))
        .when(
            (kind == "transfer")
            & (to_d5mo | hq_d5)
            & pl.lit(p.in_force("nac_in_country_transfer_code"))
        )
        .then(pl.lit("ACA"))
        .when(to_d5mo | hq_d5)
        .then(pl.lit("NAC"))
        .otherwise(pl.lit("ACA"))
    )
    # §740.8(c): a stated notification fewer than 25 calendar days before the shipment date.
    notified = pl.col("f_nac_notified_on")
    nac_days = p.value("nac_notice_days") or 25
    nac_too_early = (
        (nac_code == "NAC")
        & notified.is_not_null()
        & (pl.col("date") < notified + pl.duration(days=nac_days))
    )
    diffusion = pl.lit(p.in_force("diffusion_binding")) & only_world & ~T["t_req_c"]
    tier1_parties = _all_in(
        [pl.col(c) for c in ("c_country", "c_hq", "c_phq", "e_country", "e_hq", "e_phq")], T1
    )
    # Note 1.a(2)(i) to 3A090.a; §748.16: a designer headquartered (or owned from) Macau/D:5 is
    # never approved or authorized, whatever is stated; otherwise the stated fact, else derived
    # from the designer's headquarters (TW/A:1/A:5: yes), else unknown.
    dhq = pl.col("designer_hq")
    designer_ok = (
        pl.when(dhq.is_in(d5mo).fill_null(False))
        .then(pl.lit(False))
        .when(pl.col("f_designer").is_not_null())
        .then(pl.col("f_designer"))
        .when(dhq.is_in(sorted({"TW"} | p.group("A:1") | A5)).fill_null(False))
        .then(pl.lit(True))
        .when(dhq.is_not_null())
        .then(pl.lit(False))
        .otherwise(pl.lit(None, pl.Boolean))
    )
    aia_base = diffusion & to.is_in(sorted(T1)) & tier1_parties
    aia = aia_base & ((eccn == "4A090.a") | designer_ok)  # null: the designer is unknown
    # ACM (§740.28(a)) from its own conditions: it can relieve any requirement other than 3A090.c,
    # the 2022 rule (before ACM) and, conservatively, the headquarters rule (regulations.md §14).
    # Under the enforced posture a codified exception stays available unless the user says no.
    non_enforced = p.in_force("diffusion_non_enforcement")
    acm_on = pl.lit(p.in_force("acm_available")) & (
        pl.lit(not non_enforced) | pl.col("f_rely_codified").fill_null(True)
    )
    eu_d5_hq = _any_in([pl.col("e_hq"), pl.col("e_phq")], d5mo) & pl.lit(
        p.in_force("acm_private_sector_excludes_d5_headquartered")
    )
    acm_item = L.is_in(["a", "b"]).fill_null(False)
    acm_purpose = pl.col("f_purpose").is_in(
        ["development", "production", "storage"]
    )  # null: not stated
    acm_private = ~pl.col("f_eu_gov").fill_null(False) & ~eu_d5_hq
    acm_relieves = ~T["t_req_c"] & ~T["t_req_2022"] & ~T["t_req_hq"]
    acm = (
        acm_on
        & acm_item
        & acm_purpose.fill_null(False)
        & acm_private
        & acm_relieves
        & pl.col("f_acm_outside")
    )
    lpp_limit = p.value("lpp_limit_tpp")
    lpp_blocked = restricted & ~(pl.col("f_lpp_d1d4").fill_null(False) & ~to_d5mo & ~hq_d5)
    # §740.29(a) authorizes export and reexport; §740.1(a) extends it to in-country transfers on the same terms.
    lpp_possible = diffusion & ~to.is_in(sorted(T1)) & ~lpp_blocked
    lpp_after = pl.col("f_lpp_consumed") + total
    lpp_fits = (lpp_after <= (lpp_limit or 0) * MICRO) if lpp_limit else pl.lit(False)
    lpp_too_big = (total > (lpp_limit or 0) * MICRO) if lpp_limit else pl.lit(True)

    exceptions = dict(
        t_any_requirement=any_req,
        t_uae_license_free=uae_free,
        t_restricted_9ii=restricted & any_req,
        t_hbm=(L == "c").fill_null(False) & pl.col("hbm_exception_eligible").fill_null(False),
        t_nac_aca=nac_ok & ab & elig,  # null when eligibility is unknown
        t_nac_code=nac_code,
        t_nac_too_early=nac_too_early,
        t_aia=aia,
        t_aia_base=aia_base,
        t_designer=designer_ok,
        t_acm=acm,  # null: only the onward customers are unknown
        t_acm_on=acm_on,
        t_acm_exists=pl.lit(p.in_force("acm_available")),
        t_acm_item=acm_item,
        t_acm_purpose=acm_purpose,
        t_acm_private=acm_private,
        t_acm_eu_d5_hq=eu_d5_hq,
        t_acm_relieves=acm_relieves,
        t_lpp=lpp_possible & lpp_fits,  # null when prior consumption is unknown
        t_lpp_possible=lpp_possible & ~lpp_too_big,
        t_lpp_exceeded=lpp_possible & (lpp_too_big | ~lpp_fits.fill_null(True)),
        t_lpp_blocked=diffusion & ~to.is_in(sorted(T1)) & lpp_blocked,
        lpp_after=pl.when(lpp_possible).then(lpp_after),
        t_tier1=to.is_in(sorted(T1)),
        t_tier3=to_d5mo,
    )
    frame = frame.with_columns(**exceptions)
    T = {k: pl.col(k) for k in [*trace, *exceptions]}
    exception = (
        pl.when(~T["t_any_requirement"])
        .then(pl.lit(None, pl.String))
        .when(T["t_hbm"])
        .then(pl.lit("HBM"))
        .when(T["t_nac_aca"].fill_null(False) & ~T["t_nac_too_early"])
        .then(T["t_nac_code"])
        .when(T["t_aia"].fill_null(False))
        .then(pl.lit("AIA"))
        .when(T["t_acm"].fill_null(False))
        .then(pl.lit("ACM"))
        .when(T["t_lpp"].fill_null(False))
        .then(pl.lit("LPP"))
    )
    # NEEDS_FACTS only for a fact whose answer could still grant an exception (the others failed).
    nac_open = T["t_nac_aca"].is_null() & ~T["t_nac_too_early"]
    aia_open = T["t_aia"].is_null()
    acm_open = T["t_acm"].is_null()
    lpp_open = T["t_lpp_possible"] & T["t_lpp"].is_null()
    open_exception = (
        T["t_any_requirement"] & exception.is_null() & (nac_open | aia_open | acm_open | lpp_open)
    )

    # ---- review policy (§742.6(b)(10)) -------------------------------------------------------
    r8 = p.in_force("china_case_by_case_tpp")
    ic_tpp, bw = pl.col("tpp"), pl.col("memory_bandwidth")
    if r8:
        zone_tpp = ic_tpp < p.value("china_case_by_case_tpp") * MICRO
        zone_bw = bw < p.value("china_case_by_case_dram_bandwidth") * MICRO
        r8_route = (
            (kind == "export")
            & (pl.col("from") == "US")
            & to.is_in(["CN", "MO"])
            & (L != "c").fill_null(True)
        )
        r8_zone = r8_route & zone_tpp & zone_bw
        r8_open = r8_route & zone_tpp & bw.is_null()
    else:
        r8_zone = r8_open = pl.lit(False)
    policy_rule = (
        pl.when(pl.lit(version == "2022"))
        .then(pl.lit("742.6(b)(10)(2022)"))
        .when(T["t_req_c"])
        .then(pl.lit("742.6(b)(10).3A090.c"))
        .when(r8_zone.fill_null(False))
        .then(pl.lit("742.6(b)(10)(iii)(A)(1)"))
        .when(T["t_tier3"])
        .then(pl.lit("742.6(b)(10).D5-Macau"))
        .when(hq_d5)
        .then(pl.lit("742.6(b)(10).headquarters"))
        .when(T["t_req_dest"])
        .then(pl.lit("742.6(b)(10).D1-D4"))
        .when(T["t_req_uae"])
        .then(pl.lit("742.6(b)(10).UAE"))
        .when(T["t_tier1"])
        .then(pl.lit("742.6(b)(10).tier1"))
        .otherwise(pl.lit("742.6(b)(10).tier2"))
    )
    tier2_policy = str(p.value("tier2_review_policy") or "case-by-case")
    policy = policy_rule.replace_strict(
        {
            "742.6(b)(10)(2022)": "denial",
            "742.6(b)(10).3A090.c": "denial",
            "742.6(b)(10)(iii)(A)(1)": "case-by-case",
            "742.6(b)(10).D5-Macau": "denial",
            "742.6(b)(10).headquarters": "denial",
            "742.6(b)(10).D1-D4": "approval",
            "742.6(b)(10).UAE": "case-by-case",
            "742.6(b)(10).tier1": "case-by-case",
            "742.6(b)(10).tier2": tier2_policy,
        },
        return_dtype=pl.String,
    )

    # ---- outcome -----------------------------------------------------------------------------
    requirement_open = item_open & T["t_any_requirement"]
    outcome = (
        pl.when(T["t_us_destination"])
        .then(pl.lit("NLR"))
        .when(requirement_open)
        .then(pl.lit("NEEDS_FACTS"))
        .when(~T["t_any_requirement"])
        .then(pl.lit("NLR"))
        .when(exception.is_not_null())
        .then(pl.lit("LICENSE_EXCEPTION"))
        .when(open_exception)
        .then(pl.lit("NEEDS_FACTS"))
        .otherwise(pl.lit("LICENSE_REQUIRED"))
    )
    frame = frame.with_columns(
        outcome.alias("outcome"),
        exception.alias("license_exception"),
        policy_rule.alias("policy_rule"),
        policy.alias("policy"),
        r8_open.fill_null(False).alias("t_r8_open"),
        pl.lit(p.rule_set).alias("rule_set"),
    )
    OUT = pl.col("outcome")
    frame = frame.with_columns(
        pl.when(OUT == "LICENSE_REQUIRED")
        .then(
            pl.when(pl.col("t_r8_open")).then(pl.lit(None, pl.String)).otherwise(pl.col("policy"))
        )
        .alias("review_policy"),
    )

    # ---- needs_facts, obligations, determining rules -----------------------------------------
    needs = pl.concat_list(
        [
            pl.when(requirement_open & (OUT == "NEEDS_FACTS"))
            .then(pl.col("item_needs"))
            .otherwise(pl.lit([], dtype=pl.List(pl.String))),
            _labels(
                _bit(
                    ~requirement_open
                    & (OUT == "NEEDS_FACTS")
                    & T["t_nac_aca"].is_null()
                    & ~T["t_nac_too_early"],
                    1,
                )
                + _bit(
                    ~requirement_open
                    & (OUT == "NEEDS_FACTS")
                    & T["t_lpp_possible"]
                    & T["t_lpp"].is_null(),
                    2,
                )
                + _bit((OUT == "LICENSE_REQUIRED") & pl.col("t_r8_open"), 4)
                + _bit(~requirement_open & (OUT == "NEEDS_FACTS") & T["t_aia"].is_null(), 8)
                + _bit(~requirement_open & (OUT == "NEEDS_FACTS") & T["t_acm"].is_null(), 16),
                [
                    "marketed_for_datacenter",
                    "lpp_consumed_tpp",
                    "memory_bandwidth_gbps",
                    "approved_or_authorized_designer",
                    "ultimate_customers_outside_d5_macau",
                ],
            ),
        ]
    ).list.unique(maintain_order=True)

    # The obligations' texts quote a row's own date, notice date and LPP total, but only on the
    # rows whose text they are (an LPP exception; NAC; a NAC notice too late). Read through
    # columns that hold those values on those rows only (null elsewhere), the obligations take
    # the same values and are computed once per distinct combination, like the rules below.
    late_notice = (OUT == "LICENSE_REQUIRED") & T["t_nac_aca"].fill_null(False) & T["t_nac_too_early"]
    is_lpp = pl.col("license_exception") == "LPP"
    frame = frame.with_columns(
        pl.when(is_lpp).then(pl.col("lpp_after")).alias("__obl_lpp_after"),
        pl.when(is_lpp | late_notice).then(pl.col("date")).alias("__obl_date"),
        pl.when((pl.col("license_exception") == "NAC") | late_notice).then(notified).alias("__obl_notified"),
    )
    notified = pl.col("__obl_notified")
    lpp_text = pl.format(
        "LPP: {} of {} TPP used by this ultimate consignee in {} after this shipment — §740.29(a)",
        (pl.col("__obl_lpp_after") // MICRO).cast(pl.String),
        pl.lit(f"{lpp_limit or 0}"),
        pl.col("__obl_date").dt.year().cast(pl.String),
    )
    static = pl.col("license_exception").replace_strict(
        {k: v for k, v in OBLIGATIONS.items()},
        default=pl.lit([], dtype=pl.List(pl.String)),
        return_dtype=pl.List(pl.String),
    )
    extra = pl.concat_list(
        [
            pl.when((pl.col("license_exception") == "NAC") & notified.is_not_null()).then(
                pl.format(
                    "Earliest shipment under NAC: {} (notified {})",
                    (notified + pl.duration(days=nac_days)).cast(pl.String),
                    notified.cast(pl.String),
                )
            ),
            pl.when(pl.col("license_exception") == "LPP").then(lpp_text),
            pl.when(late_notice).then(
                pl.format(
                    "NAC does not authorize this shipment on {}: notified {}, fewer than {} calendar days before (§740.8(c)); "
                    "earliest date NAC would authorize it: {}",
                    pl.col("__obl_date").cast(pl.String),
                    notified.cast(pl.String),
                    pl.lit(str(nac_days)),
                    (notified + pl.duration(days=nac_days)).cast(pl.String),
                )
            ),
            pl.when(
                (OUT == "LICENSE_REQUIRED") & (pl.col("policy_rule") == "742.6(b)(10).tier2")
            ).then(pl.lit(TIER2_ALLOCATION)),
        ]
    ).list.drop_nulls()
    r8_list = (
        pl.when((OUT == "LICENSE_REQUIRED") & (pl.col("policy_rule") == "742.6(b)(10)(iii)(A)(1)"))
        .then(pl.lit(R8_CONDITIONS))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
    )
    obligations = (
        pl.when(OUT == "LICENSE_EXCEPTION")
        .then(pl.concat_list([static, extra]))
        .when(OUT == "LICENSE_REQUIRED")
        .then(pl.concat_list([extra, r8_list]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
    )

    hq_id = f"{p.value('hq_rule_paragraph') or '744.23(a)(3)'}.headquarters"
    req_labels = [
        "742.6(a)(6)(ii).2022",
        "742.6(a)(6)(iii)",
        hq_id,
        "742.6(a)(6)(iii)(B).UAE",
        "742.6(a)(6)(i)(B)",
        "742.6(a)(6)(iii)(A).worldwide",
    ]
    held_mask = (
        _bit(T["t_req_2022"], 1)
        + _bit(T["t_req_dest"], 2)
        + _bit(T["t_req_hq"], 4)
        + _bit(T["t_req_uae"], 8)
        + _bit(T["t_req_c"], 16)
        + _bit(T["t_req_world"], 32)
    )
    # On NLR, the requirement rules whose absence makes it NLR: those in force that reach the item's level.
    checked_mask = (
        pl.when(L == "c")
        .then(pl.lit(16))
        .otherwise(
            pl.lit(1 if version == "2022" else (2 | 4 if version == "2023" else 0))
            + pl.when((L == "a").fill_null(False) & pl.lit(p.in_force("diffusion_binding")))
            .then(pl.lit(32))
            .otherwise(pl.lit(0))
        )
    )
    requirement_rules = _labels(
        pl.when(T["t_any_requirement"] | T["t_uae_license_free"])
        .then(held_mask)
        .otherwise(checked_mask),
        req_labels,
    )
    exception_rule = (
        pl.when(OUT == "LICENSE_EXCEPTION")
        .then(
            pl.col("license_exception").replace_strict(
                {
                    "HBM": "740.25.HBM",
                    "NAC": "740.8.NAC",
                    "ACA": "740.8.ACA",
                    "AIA": "740.27.AIA",
                    "ACM": "740.28.ACM",
                    "LPP": "740.29.LPP",
                },
                return_dtype=pl.String,
            )
        )
        .when(T["t_uae_license_free"] & ~T["t_any_requirement"])
        .then(pl.lit("91 FR 43034.license-free"))
    )
    blocking = (
        pl.when(OUT == "LICENSE_REQUIRED")
        .then(
            _labels(
                _bit(T["t_nac_aca"].not_().fill_null(False) & pl.lit(version == "2023") & ab, 1)
                + _bit(T["t_nac_aca"].fill_null(False) & T["t_nac_too_early"], 8)
                + _bit(T["t_lpp_blocked"] & T["t_restricted_9ii"], 2)
                + _bit(T["t_lpp_exceeded"], 4)
                + _bit(T["t_aia_base"] & (eccn == "3A090.a") & T["t_designer"].not_(), 16)
                + _bit(
                    T["t_acm_exists"] & T["t_acm_purpose"] & T["t_acm_item"] & T["t_acm"].not_(), 32
                ),
                [
                    "740.8.not-eligible",
                    "740.2(a)(9)(ii)",
                    "740.29.LPP.exceeded",
                    "740.8(c).notice-period",
                    "740.27(a)(1).designer",
                    "740.28(a).not-met",
                ],
            )
        )
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
    )
    paragraph = (
        pl.when(pl.col("paragraph").is_not_null())
        .then(pl.concat_list([pl.col("paragraph")]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
    )
    rules = (
        pl.when(T["t_us_destination"])
        .then(pl.lit(["no-license.us-destination"]))
        .when(OUT == "NEEDS_FACTS")
        .then(
            pl.concat_list([pl.col("item_rules"), requirement_rules]).list.unique(
                maintain_order=True
            )
        )
        .when((OUT == "NLR") & pl.col("eccn").is_null())
        .then(pl.col("item_rules"))
        .otherwise(
            pl.concat_list(
                [
                    paragraph,
                    requirement_rules,
                    blocking,
                    pl.concat_list([exception_rule]).list.drop_nulls(),
                    pl.when(OUT == "LICENSE_REQUIRED")
                    .then(pl.concat_list([pl.col("policy_rule")]))
                    .otherwise(pl.lit([], dtype=pl.List(pl.String))),
                ]
            )
        )
    )
    # the determining rules, the facts to ask and the obligations: lists, costly to build row by
    # row, from a few hundred distinct combinations of what they read in a book of any size
    # (engine.plan.by_distinct)
    return frame.with_columns_by_distinct(
        needs.alias("needs_facts"),
        obligations.alias("obligations"),
        rules.alias("rules"),
        pl.when(OUT == "LICENSE_EXCEPTION")
        .then(pl.col("license_exception"))
        .alias("license_exception"),
        distinct=("needs_facts", "obligations", "rules"),
    ).drop("__level", "__hq_d5", "__obl_lpp_after", "__obl_date", "__obl_notified")


def _bit(cond: pl.Expr, b: int) -> pl.Expr:
    return pl.when(cond.fill_null(False)).then(pl.lit(b)).otherwise(pl.lit(0))


def decide_frame(
    frame: pl.DataFrame,
    *,
    posture: str = "enforced",
    store: ParameterStore | None = None,
    ordered: bool = True,
) -> pl.DataFrame:
    """Evaluate a prepared transaction frame (see aiexport.law.transactions) under a posture.
    ``ordered=False``: the same rows with the same values, in any order."""
    from aiexport.engine import plan

    store = store or default_store()
    bounds = store.boundaries(posture)
    epochs = _epochs(frame["date"], store, posture)
    if epochs.n_unique() == 1:
        return evaluate(frame, store.snapshot(bounds[epochs[0]], posture)).with_columns(
            pl.lit(posture).alias("posture")
        )
    if ordered:
        frame = frame.with_row_index("__i")
    parts = frame.with_columns(epochs.alias("__epoch")).partition_by(
        "__epoch", as_dict=True, include_key=True, maintain_order=False
    )
    # Consecutive epochs in which the licence rules read the same parameter versions have the same
    # rules (they read nothing else that depends on the date but the rule-set label, set per row
    # below): one query for their rows. A book over 2022-2026 meets 13 licence rule sets in 28 epochs.
    groups = plan.runs(store, posture, sorted(e for (e,) in parts), lambda e: _plan(store.snapshot(bounds[e], posture)))
    label = {e: store.rule_set_label(bounds[e], posture) for (e,) in parts}
    out = pl.concat(
        [
            plan.collect(rules.replay(pl.concat(fs).lazy(), n), n)
            for rules, es in groups
            for fs in [[parts[(e,)] for e in es]]
            for n in [sum(f.height for f in fs)]
        ],
        how="vertical_relaxed",
    ).with_columns(
        pl.col("__epoch").replace_strict(label, return_dtype=pl.String).alias("rule_set"),
        pl.lit(posture).alias("posture"),
    ).drop("__epoch")
    return out.sort("__i").drop("__i") if ordered else out


FACT_COLUMNS = {
    # fact name -> (column, dtype)
    "approved_or_authorized_designer": ("f_designer", pl.Boolean),
    "designer_headquarters": ("designer_hq_stated", pl.String),
    "rely_on_codified_exceptions": ("f_rely_codified", pl.Boolean),
    "end_user_government": ("f_eu_gov", pl.Boolean),
    "ultimate_customers_outside_d5_macau": ("f_acm_outside", pl.Boolean),
    "uae_government_or_supp8_entity": ("f_uae_exempt", pl.Boolean),
    "lpp_consumed_tpp": ("f_lpp_consumed", pl.Int64),
    "lpp_available_in_d1_d4": ("f_lpp_d1d4", pl.Boolean),
    "purpose": ("f_purpose", pl.String),
    "nac_notified_on": ("f_nac_notified_on", pl.Date),
    "uae_a_items_follow_b_scope": ("f_uae_a_follow_b", pl.Boolean),
}


def fact_value(name: str, raw):
    """Coerce a stated fact (or its documented default when not stated)."""
    value = raw if raw is not None else fact_default(name)
    if value is None:
        return None
    _, dtype = FACT_COLUMNS[name]
    if dtype == pl.Boolean:
        from aiexport.law.facts import yes_no

        return yes_no(value, ValueError)
    if dtype == pl.Int64:  # TPP, held in micro-units
        from decimal import Decimal, InvalidOperation

        try:
            d = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("a number of TPP") from None
        if d < 0:
            raise ValueError("a non-negative number of TPP")
        return int(d * MICRO)
    if dtype == pl.Date:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    if name.endswith("headquarters"):
        code = str(value).strip().upper()
        if len(code) != 2 or not code.isalpha():
            raise ValueError("an ISO 3166-1 alpha-2 country code")
        return "CN" if code == "HK" else code
    return str(value).strip().lower()
