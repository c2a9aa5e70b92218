"""Foundry due diligence: the Note 1 to 3A090.a presumption for front-end fabricators and OSATs,
and its three rebuttals (90 FR 5298, as amended by 91 FR 17851).

The presumption is the law's own default: a fabricator or OSAT that cannot show a rebuttal must
treat an applicable advanced logic IC as 3A090.a and designed for datacenters (Note 1.d: a count
that "cannot be confirmed" does not rebut). So missing rebuttal facts leave the presumption in
place; only the applicability of the presumption (node / architecture) is asked for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from aiexport.engine.params import ParameterStore, Snapshot, default_store
from aiexport.law.license import Rule

RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        Rule("3A090.a.note1.presumption", "90 FR 5298; 15 CFR 774 Supp. 1, Note 1 to 3A090.a",
             "a front-end fabricator or OSAT exporting an applicable advanced logic IC (16/14 nm or below, or non-planar) presumes it is 3A090.a and for datacenters"),
        Rule("3A090.a.note1.compliance-date", "90 FR 5298 (compliance with the presumption from 2025-01-31)",
             "the presumption binds from 2025-01-31"),
        Rule("3A090.a.note1.not-applicable", "15 CFR 772.1 ('applicable advanced logic integrated circuit'); Note 1 to 3A090.a",
             "not an applicable advanced logic IC (planar and above the 16/14 nm node, or not logic)"),
        Rule("3A090.a.note1.a", "90 FR 5298; 91 FR 17851; 15 CFR 774 Supp. 1, Note 1.a to 3A090.a",
             "rebutted: an approved (Supp. No. 6 to Part 740) or authorized IC designer attests TPP/PD showing the IC is not 3A090.a"),
        Rule("3A090.a.note1.b", "90 FR 5298; 15 CFR 774 Supp. 1, Note 1.b to 3A090.a",
             "rebutted: packaged by the front-end fabricator outside Macau/D:5, which attests the aggregated approximated transistor count is below the threshold"),
        Rule("3A090.a.note1.c", "90 FR 5298; 15 CFR 774 Supp. 1, Note 1.c to 3A090.a; 15 CFR 740 Supp. No. 7",
             "rebutted: packaged by an approved OSAT (Supp. No. 7 to Part 740), which attests the aggregated approximated transistor count is below the threshold"),
    ]
}

ROLES = {"front-end fabricator": "fab", "fab": "fab", "foundry": "fab", "front-end-fabricator": "fab", "osat": "osat"}
PACKAGERS = {"front-end fabricator": "fab", "fab": "fab", "foundry": "fab", "approved osat": "approved-osat",
             "osat": "osat", "other": "other", "unpackaged": "none", "none": "none"}


class FoundryFactError(ValueError):
    def __init__(self, field: str, expected: str, got: Any = None):
        self.field, self.expected, self.got = field, expected, got
        super().__init__(f"{field}: expected {expected}")


def _num(facts: dict, key: str) -> Fraction | None:
    v = facts.get(key)
    if v is None or v == "":
        return None
    try:
        d = Decimal(str(v).replace("_", "").replace(",", ""))
    except InvalidOperation:
        raise FoundryFactError(key, "a number", v) from None
    if not d.is_finite() or d < 0:
        raise FoundryFactError(key, "a non-negative number", v)
    return Fraction(d)


def _yn(facts: dict, key: str, default: bool | None = None) -> bool | None:
    v = facts.get(key)
    if v is None or v == "":
        return default
    from aiexport.law.facts import yes_no

    return yes_no(v, lambda expected: FoundryFactError(key, expected, v))


def _country(facts: dict, key: str) -> str | None:
    v = facts.get(key)
    if v is None:
        return None
    s = str(v).strip().upper()
    if len(s) != 2:
        raise FoundryFactError(key, "an ISO 3166-1 alpha-2 country code", v)
    return "CN" if s == "HK" else s


def _date(facts: dict, key: str) -> dt.date | None:
    v = facts.get(key)
    if v is None or isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        raise FoundryFactError(key, "a date YYYY-MM-DD", v) from None


def exporter_role(facts: dict) -> str | None:
    raw = facts.get("exporter_role")
    if raw is None:
        return None
    role = ROLES.get(str(raw).strip().lower())
    if role is None and str(raw).strip().lower() not in ("other", "none", "designer", "distributor"):
        raise FoundryFactError("exporter_role", "front-end fabricator, OSAT or other", raw)
    return role


@dataclass
class FoundryResult:
    applies: bool  # the presumption is considered at all (fab/OSAT, in force)
    presumed: bool | None  # None: needs facts
    rebuttal: str | None
    rules: list[str]
    needs: list[str]
    reasons: list[dict] = field(default_factory=list)
    transistor_count: Fraction | None = None


def _reason(rule: str, held: bool | None, detail: str) -> dict:
    return {"rule": rule, "citation": RULES[rule].cite, "held": held, "detail": detail}


def _t(x: Fraction) -> str:
    return f"{float(x) / 1e9:.4g} billion"


def transistor_count(facts: dict, die_area_mm2: Fraction | None) -> tuple[Fraction | None, str]:
    """Stated count, or density (million transistors/mm2) x die area — an approximation the Note allows."""
    stated = _num(facts, "transistor_count")
    if stated is not None:
        return stated, f"aggregated approximated transistor count {_t(stated)} (stated)"
    density = _num(facts, "transistor_density_mtr_per_mm2")
    area = _num(facts, "die_area_mm2") or die_area_mm2
    if density is not None and area is not None:
        n = density * 1_000_000 * area
        return n, f"{_t(n)} estimated = {density} million transistors/mm2 x {area} mm2 (Technical Note: density x die area)"
    return None, "transistor count not stated (cannot be confirmed: Note 1.d keeps the presumption)"


def _limit(p: Snapshot, facts: dict, on: dt.date, has_hbm: bool | None) -> tuple[Fraction, Fraction | None, str]:
    base = p.foundry_transistor_limit.fraction
    hi_val = p.foundry_no_hbm_transistor_limit
    hi = hi_val.fraction if hi_val.value is not None else None
    note = ""
    if on.year == 2028 and hi is None:
        choice = str(facts.get("foundry_2028_no_hbm_limit") or "none").strip().lower()
        if choice not in ("none", "", "30e9"):
            try:
                hi = Fraction(Decimal(choice))
            except InvalidOperation:
                raise FoundryFactError("foundry_2028_no_hbm_limit", "none, 35e9 or 40e9", choice) from None
            note = f" (2028: the text is silent; user choice {_t(hi)})"
        else:
            note = " (2028: the text is silent; default: only the 30 billion threshold)"
    return base, hi, note


def _authorized(p: Snapshot, facts: dict, on: dt.date) -> tuple[bool, str]:
    hq = _country(facts, "designer_headquarters")
    located = _country(facts, "designer_located") or hq
    parent = _country(facts, "designer_ultimate_parent_headquarters") or hq
    agreed = _yn(facts, "designer_agreed_743_9b", False)
    d5mo = p.group("D:5") | {"MO"}
    where_ok = hq is not None and (hq == "TW" or hq in p.group("A:1") or hq in p.group("A:5"))
    not_d5 = located not in d5mo and parent not in d5mo
    base_ok = bool(where_ok and not_d5 and agreed)
    cutoff = dt.date.fromisoformat(str(p.value("authorized_designer_cutoff")))
    detail = (f"designer headquartered {hq or 'unknown'}, located {located or 'unknown'}, ultimate parent {parent or 'unknown'}; "
              f"agreed to §743.9(b) reporting: {'yes' if agreed else 'no'}")
    if on < cutoff:
        return base_ok, detail + f"; before {cutoff} (Note 1.a(2))"
    applied = _date(facts, "designer_applied_for_approval_on")
    days = int(p.value("authorized_designer_days_after_application") or 180)
    ok = base_ok and applied is not None and applied <= on < applied + dt.timedelta(days=days)
    return ok, detail + (f"; on/after {cutoff} it must also have applied for approval (applied: {applied or 'no'}; "
                         f"status lapses {days} days after applying — Note 1.a(3))")


def presume(facts: dict, on: dt.date, posture: str = "enforced", *, die_area_mm2: Fraction | None = None,
            store: ParameterStore | None = None) -> FoundryResult | None:
    """The presumption for one transaction, or None when the exporter is not a fab/OSAT."""
    role = exporter_role(facts)
    if role is None:
        return None
    store = store or default_store()
    p = store.snapshot(on, posture)
    if p.value("foundry_presumption") is None:
        return None
    if not p.in_force("foundry_presumption"):
        return FoundryResult(False, False, None, ["3A090.a.note1.compliance-date"], [],
                             [_reason("3A090.a.note1.compliance-date", True, f"{on} is before 2025-01-31")])
    reasons = []
    node = _num(facts, "process_node_nm")
    non_planar = _yn(facts, "non_planar")
    logic = _yn(facts, "logic_ic", True)
    node_limit = p.value("foundry_node_nm")
    if not logic:
        applicable = False
    elif non_planar or (node is not None and node <= node_limit):
        applicable = True
    elif node is not None and non_planar is False:
        applicable = False
    else:
        # Applicability unknown. If a rebuttal holds anyway, the answer is the same either way: not asked (issue 9, item 6).
        anyway = presume({**facts, "non_planar": "yes"}, on, posture, die_area_mm2=die_area_mm2, store=store)
        if anyway is not None and anyway.presumed is False and anyway.rebuttal is not None:
            anyway.reasons.insert(0, _reason("3A090.a.note1.presumption", None,
                                             "applicability (node / architecture) not stated: not needed, a rebuttal holds either way"))
            return anyway
        if node is not None and node > node_limit and non_planar is None:
            return FoundryResult(True, None, None, ["3A090.a.note1.presumption"], ["non_planar"],
                                 [_reason("3A090.a.note1.presumption", None, f"{node} nm: is the transistor architecture non-planar?")])
        return FoundryResult(True, None, None, ["3A090.a.note1.presumption"], ["process_node_nm"],
                             [_reason("3A090.a.note1.presumption", None, "process node and transistor architecture not stated")])
    if not applicable:
        return FoundryResult(True, False, None, ["3A090.a.note1.not-applicable"], [],
                             [_reason("3A090.a.note1.not-applicable", True, f"logic IC: {logic}; node {node} nm; non-planar: {non_planar}")])
    reasons.append(_reason("3A090.a.note1.presumption", True,
                           f"{'front-end fabricator' if role == 'fab' else 'OSAT'} exporting an applicable advanced logic IC "
                           f"({'non-planar' if non_planar else f'{node} nm'})"))
    # (a) approved or authorized designer with a TPP/PD attestation. §748.16 and Note 1.a(2)(i):
    # a designer headquartered in (or owned from) Macau/D:5 can be neither, whatever is stated.
    d5mo = p.group("D:5") | {"MO"}
    designer_where = {_country(facts, k) for k in ("designer_headquarters", "designer_ultimate_parent_headquarters")} - {None}
    designer_d5 = bool(designer_where & d5mo)
    approved = _yn(facts, "designer_approved", False) and not designer_d5
    authorized, detail = (False, "")
    if designer_d5:
        detail = (f"designer headquartered or owned in {', '.join(sorted(designer_where & d5mo))}: never approved or authorized "
                  "(§748.16; Note 1.a(2)(i) to 3A090.a)")
    elif not approved:
        authorized, detail = _authorized(p, facts, on)
    attests = _yn(facts, "designer_attests_not_3a090a", False)
    a_ok = bool((approved or authorized) and attests)
    reasons.append(_reason("3A090.a.note1.a", a_ok,
                           ("approved designer (Supp. No. 6)" if approved else f"authorized designer: {'yes' if authorized else 'no'} — {detail}")
                           + f"; TPP/PD attestation that the IC is not 3A090.a: {'yes' if attests else 'no'}"))
    if a_ok:
        return FoundryResult(True, False, "3A090.a.note1.a", ["3A090.a.note1.a"], [], reasons)
    # (b) / (c) transistor-count attestations
    packager = PACKAGERS.get(str(facts.get("packaged_by") or "none").strip().lower())
    if packager is None:
        raise FoundryFactError("packaged_by", "front-end fabricator, approved OSAT, other or unpackaged", facts.get("packaged_by"))
    where = _country(facts, "packaging_location")
    count, count_detail = transistor_count(facts, die_area_mm2)
    hbm = _yn(facts, "contains_hbm")
    base, hi, note = _limit(p, facts, on, hbm)
    needs: list[str] = []
    for rule, ok_packager in (("3A090.a.note1.b", packager == "fab" and role == "fab" and where is not None and where not in d5mo),
                              ("3A090.a.note1.c", packager == "approved-osat")):
        if not ok_packager:
            reasons.append(_reason(rule, False, f"packaged by: {facts.get('packaged_by') or 'not stated'}"
                                   + (f" at {where}" if where else "")
                                   + (" (the fabricator must package outside Macau/D:5 and state where)" if rule.endswith("b") else "")))
            continue
        if count is None:
            reasons.append(_reason(rule, False, count_detail))
            continue
        below_base = count < base
        below_hi = hi is not None and count < hi
        if below_base or (below_hi and hbm is False):
            thr = base if below_base else hi
            reasons.append(_reason(rule, True, f"{count_detail} < {_t(thr)}" + ("" if below_base else " without HBM") + note))
            return FoundryResult(True, False, rule, [rule], [], reasons, count)
        if below_hi and hbm is None:
            needs.append("contains_hbm")
            reasons.append(_reason(rule, None, f"{count_detail}: below {_t(hi)} only if the package has no HBM{note}"))
            continue
        reasons.append(_reason(rule, False, f"{count_detail} not below {_t(base)}"
                               + (f" (nor {_t(hi)} without HBM)" if hi is not None else " (no higher no-HBM threshold this year)") + note))
    if needs:
        return FoundryResult(True, None, None, ["3A090.a.note1.presumption"], needs, reasons, count)
    return FoundryResult(True, True, None, ["3A090.a.note1.presumption"], [], reasons, count)
