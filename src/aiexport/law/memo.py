"""The data of a determination memo, from a decided row's trace: the assumptions it rests on, each
license exception considered and the condition that failed, the role of each determining rule,
and citations ordered as a lawyer cites them (the CFR paragraph in force on the date first, later
guidance after it as confirmation). Rendering (commands/check.py) only lays this out."""

from __future__ import annotations

import datetime as dt

from aiexport.engine.params import default_store
from aiexport.law.facts import registry

SUBJECT_TO_EAR = ("The item is subject to the EAR (US origin, de minimis and the foreign direct product rules of §734.9 "
                  "are not modelled yet: decide this before relying on the answer)")

REQUIREMENTS = {
    "742.6(a)(6)(ii).2022": "t_req_2022", "742.6(a)(6)(iii)": "t_req_dest", "744.23(a)(3).headquarters": "t_req_hq",
    "742.6(a)(6)(iii)(A).headquarters": "t_req_hq", "742.6(a)(6)(iii)(B).UAE": "t_req_uae", "742.6(a)(6)(i)(B)": "t_req_c",
    "742.6(a)(6)(iii)(A).worldwide": "t_req_world", "742.6(a)(13)": None,
}
EXCEPTIONS = {"740.25.HBM", "740.8.NAC", "740.8.ACA", "740.27.AIA", "740.28.ACM", "740.29.LPP", "740.27.AIA.4E091"}
UNAVAILABLE = {"740.8.not-eligible", "740.2(a)(9)(ii)", "740.29.LPP.exceeded", "740.8(c).notice-period",
               "740.27(a)(1).designer", "740.28(a).not-met"}
NO_REQUIREMENT = {"no-license.us-destination", "742.6(a)(13).not-enforced", "90 FR 4544.compliance-date",
                  "3A090.not-in-force", "91 FR 43034.license-free"}

# Guidance that post-dates the paragraph it confirms: (date, text). Cited after the paragraph.
LATER = {
    "742.6(a)(6)(iii)(A).headquarters": (dt.date(2026, 5, 31), "BIS guidance of 2026-05-31: the headquarters requirement is still enforced"),
    "744.23(a)(3).headquarters": (dt.date(2026, 5, 31), "BIS guidance of 2026-05-31: the requirement, first introduced on 2023-11-17, is still enforced"),
    "742.6(a)(6)(iii)(A).worldwide": (dt.date(2025, 5, 13), "BIS announcement of 2025-05-13: not enforced"),
}


ROLE_TEXT = {
    "subject-to-ear": "whether the item is subject to the EAR (§734.3)",
    "classification": "classifies the item",
    "requirement": "requirement that holds",
    "requirement-not-met": "requirement that does not reach this transaction — its absence makes the answer NLR",
    "requirement-if-open-facts-go-against": "requirement that holds if the open facts go against you",
    "exception": "license exception that authorizes it",
    "exception-unavailable": "why a license exception is not available",
    "review-policy": "review policy of the license application",
    "no-requirement": "why no license is required",
    "overlay": "guidance or notice applied after the CFR rules",
}


def _subject_line(row: dict) -> str:
    s, rules = row.get("subject_to_ear"), ", ".join(row.get("subject_rules") or [])
    if s is True:
        return f"The item is subject to the EAR by {rules} (step 0a; origin and foreign direct product facts as stated)"
    if s is False:
        return f"The item is not subject to the EAR ({rules}; step 0a, on the origin and content facts stated)"
    return "Whether the item is subject to the EAR is open (step 0a): " + ", ".join(row.get("subject_needs") or []) + " not stated"


def _reach_basis(rule: str, outcome: str) -> str | None:
    """The basis of a legal-reach rule (issue 10), None for the other rules."""
    from aiexport.law.reach.rules import POLICY_RULE
    from aiexport.law.reach.rules import REQUIREMENTS as REACH_REQUIREMENTS
    from aiexport.law.reach.rules import RULES as REACH_RULES

    if rule not in REACH_RULES:
        return None
    if rule.startswith("734."):
        return "subject-to-ear"
    if rule in REACH_REQUIREMENTS:
        return "requirement"
    if rule in POLICY_RULE.values() or rule.startswith("744.23(d)"):
        return "review-policy"
    if rule.startswith("748.15"):
        return "exception" if outcome == "LICENSE_EXCEPTION" else "exception-unavailable"
    return "overlay"


def rule_basis(rule: str, outcome: str) -> str:
    """Why a rule is among the determining rules: the label the memo and the JSON `basis` carry."""
    reach = _reach_basis(rule, outcome)
    if reach is not None:
        return reach
    if rule in REQUIREMENTS:
        return {"NLR": "requirement-not-met", "NEEDS_FACTS": "requirement-if-open-facts-go-against"}.get(outcome, "requirement")
    if rule in EXCEPTIONS:
        return "exception"
    if rule in UNAVAILABLE:
        return "exception-unavailable"
    if rule.startswith("742.6(b)"):
        return "review-policy"
    if rule in NO_REQUIREMENT:
        return "no-requirement"
    if rule.startswith(("GP10", "notice:")):
        return "overlay"
    return "classification"


def citation(rule: str, on: dt.date, cite: str) -> str:
    parts = [c.strip() for c in cite.split("; ") if c.strip()]
    cite = "; ".join([c for c in parts if c.startswith("15 CFR")] + [c for c in parts if not c.startswith("15 CFR")])
    later = LATER.get(rule)
    if later is None:
        return cite
    when, text = later
    return f"{cite}; {'confirmed by later guidance — ' if on < when else ''}{text}"


def _country_list(values) -> str:
    return ", ".join(sorted({v for v in values if v})) or "unknown"


def assumptions(row: dict, posture: str) -> list[str]:
    out = [_subject_line(row) if "subject_to_ear" in row else SUBJECT_TO_EAR]  # chips: the legal-reach step decides it
    out += list(row.get("party_defaults") or [])
    reg = registry()
    rules = row.get("rules") or []
    relevant = {
        "rely_on_codified_exceptions": bool(row.get("t_acm_purpose")) and posture == "enforced",
        "end_user_government": bool(row.get("t_acm_purpose")),
        "lpp_available_in_d1_d4": bool(row.get("t_lpp_blocked")),
        "uae_government_or_supp8_entity": row.get("to") == "AE",
        "uae_a_items_follow_b_scope": row.get("to") == "AE",
        "gp10_technical_evaluation": "GP10" in rules,
    }
    for fact in row.get("defaulted_facts") or []:
        if relevant.get(fact):
            d = reg[fact]["default"]
            shown = {True: "yes", False: "no"}.get(d, d)
            out.append(f"{fact}: {shown} (default — {reg[fact]['basis']})")
    if row.get("t_aia_base") and row.get("eccn") == "3A090.a":
        hq = row.get("designer_hq")
        d5 = hq in (default_store().snapshot(row["date"], posture).group("D:5") | {"MO"}) if hq else False
        if d5:
            stated = " (a stated 'yes' is overridden)" if row.get("f_designer") else ""
            out.append(f"approved or authorized designer: no — designer headquartered in {hq}{stated} (Note 1.a(2)(i) to 3A090.a; §748.16)")
        elif row.get("f_designer") is None and hq:
            out.append(f"approved or authorized designer: {'yes' if row.get('t_designer') else 'no'} — derived from the designer's "
                       f"headquarters ({hq}; designers.yaml)")
    return out


def _acm(row: dict, posture: str) -> tuple[str, str]:
    if not row.get("t_acm_exists"):
        return "not in force", "License Exception ACM exists from 2025-01-13 (90 FR 4544)"
    if not row.get("t_acm_on"):
        return "failed", "under the enforced posture the codified exception is not relied on (rely_on_codified_exceptions: no)"
    if not row.get("t_acm_item"):
        return "failed", f"item {row.get('eccn') or 'not 3A090/4A090'} is not an ACM item (3A090/4A090 .a/.b)"
    if row.get("t_acm_purpose") is None:
        return "not considered", "no end use stated; ACM needs 'development', 'production' or storage (facts.purpose)"
    if not row.get("t_acm_purpose"):
        return "failed", f"end use '{row.get('f_purpose')}' is not development, production or storage (§740.28(a))"
    if row.get("f_eu_gov"):
        return "failed", "the end user is a government entity, not a 'private sector end user' (§740.28)"
    if row.get("t_acm_eu_d5_hq"):
        return "failed", (f"the end user is headquartered, or its ultimate parent is, in {_country_list([row.get('e_hq'), row.get('e_phq')])}: "
                          "not a 'private sector end user' (§740.28 definition as summarised, primary text not read; regulations.md §14)")
    if not row.get("t_acm_relieves"):
        return "failed", "a requirement ACM is not relied on to relieve holds (headquarters rule, 3A090.c or the 2022 rule)"
    if row.get("f_acm_outside") is False:
        return "failed", "the items are ultimately destined to customers in Macau/D:5 (§740.28(a))"
    if row.get("t_acm") is None:
        return "open", "are the items ultimately destined to customers outside Macau/D:5?"
    return "applies", "private sector end user; development, production or storage; customers outside Macau/D:5"


def exceptions(row: dict, posture: str) -> list[dict]:
    """Each exception considered where a requirement holds: applies / failed (with the condition) / open."""
    if not row.get("t_any_requirement") or "t_nac_aca" not in row:
        return []
    out = []
    chosen = row.get("license_exception")
    if row.get("eccn") == "3A090.c":
        ok = row.get("t_hbm")
        out.append({"exception": "HBM", "status": "applies" if ok else "failed",
                    "why": "memory bandwidth density below 3.3 GB/s/mm2" if ok else "memory bandwidth density not below 3.3 GB/s/mm2 (§740.25)"})
    code = row.get("t_nac_code") or "NAC"
    nac = row.get("t_nac_aca")
    if nac is None and row.get("eccn") != "3A090.c":
        out.append({"exception": code, "status": "open", "why": "is the chip designed or marketed for datacenters?"})
    elif nac is False:
        if row.get("eccn") == "3A090.c":
            why = "3A090.c (HBM) is not eligible for NAC/ACA (§740.8)"
        elif row.get("datacenter"):
            why = f"{row.get('eccn')} designed or marketed for datacenters at the 3A090.a level: not eligible (§740.8; Note to 3A090)"
        else:
            why = "not eligible for NAC/ACA on this date (§740.8)"
        out.append({"exception": "NAC/ACA", "status": "failed", "why": why})
    elif nac and row.get("t_nac_too_early"):
        out.append({"exception": "NAC", "status": "failed",
                    "why": next((o for o in row.get("obligations") or [] if o.startswith("NAC does not authorize")), "notified fewer than 25 days before")})
    elif nac:
        out.append({"exception": code, "status": "applies" if chosen == code else "not needed", "why": "eligible item"})
    if row.get("t_aia_base") is not None and (row.get("t_aia_base") or row.get("t_req_world")):
        if not row.get("t_aia_base"):
            out.append({"exception": "AIA", "status": "failed",
                        "why": f"destination {row.get('to')} and every party must be located and headquartered in Tier 1 "
                               "(Supp. No. 5 para (a)), and only the worldwide requirement may hold (§740.27(a))"})
        elif row.get("t_aia") is None:
            out.append({"exception": "AIA", "status": "open", "why": "was the IC designed by an approved or authorized IC designer?"})
        elif not row.get("t_aia"):
            out.append({"exception": "AIA", "status": "failed",
                        "why": f"3A090.a IC not from an approved or authorized designer (designer headquartered in {row.get('designer_hq') or 'unknown'}) — §740.27(a)(1)"})
        else:
            out.append({"exception": "AIA", "status": "applies" if chosen == "AIA" else "not needed", "why": "Tier-1 parties; eligible item"})
    status, why = _acm(row, posture)
    if status != "not in force" or row.get("t_req_world"):
        if status == "applies" and chosen != "ACM":
            status = "not needed"
        out.append({"exception": "ACM", "status": status, "why": why})
    if row.get("t_req_world"):
        if row.get("t_lpp_blocked"):
            out.append({"exception": "LPP", "status": "failed", "why": "§740.2(a)(9)(ii): not available to D:1/D:4/D:5 (not A:5/A:6), Macau or a Macau/D:5-headquartered party"})
        elif row.get("t_lpp_exceeded"):
            out.append({"exception": "LPP", "status": "failed", "why": "the consignee's 26,900,000 TPP for the calendar year would be exceeded (§740.29(a))"})
        elif row.get("t_lpp_possible") and row.get("t_lpp") is None:
            out.append({"exception": "LPP", "status": "open", "why": "how much TPP has the consignee received under LPP this year?"})
        elif row.get("t_lpp"):
            out.append({"exception": "LPP", "status": "applies" if chosen == "LPP" else "not needed", "why": "within 26,900,000 TPP this calendar year"})
        elif row.get("to") and row.get("t_tier1"):
            out.append({"exception": "LPP", "status": "failed", "why": "not used for Tier-1 destinations (AIA is)"})
    return out


def build(row: dict, posture: str, cite_of) -> dict:
    """The memo's data. ``cite_of(rule) -> (cite, text)`` looks a rule up."""
    on = row["date"]
    determining = []
    for rule in row.get("rules") or []:
        cite, text = cite_of(rule)
        basis = rule_basis(rule, row["outcome"])
        determining.append({"rule": rule, "basis": basis, "role": ROLE_TEXT[basis], "citation": citation(rule, on, cite), "text": text})
    return {"assumptions": assumptions(row, posture), "exceptions": exceptions(row, posture), "determining": determining}
