"""ECCN 4E091: AI model weights — the model's facts, the counting of 'operations', the exclusions,
and the license determination (15 CFR 774 Supp. 1, 4E091; 90 FR 4544).

Operations reach 10^26 and more, so every count is an exact ``Fraction`` (parsed from the decimal
text, never from a float); floats appear only in displays. Rule ids are the regulation's
paragraphs: ``4E091``, ``4E091.note.published``, ``4E091.note.fine-tune``,
``4E091.note.synthetic-data``, ``4E091.note.floor``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from typing import Any

from aiexport.catalog import data_path
from aiexport.engine.params import ParameterStore, Snapshot, default_store
from aiexport.errors import InputError
from aiexport.law.license import Rule

RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        Rule("4E091", "90 FR 4544; 15 CFR 774 Supp. 1, ECCN 4E091 (heading; Technical Note 2: counting 'operations')",
             "'parameters' of an AI model trained utilizing 10^26 or more 'operations' (pre-training plus any later training)"),
        Rule("4E091.not-in-force", "90 FR 4544 (ECCN 4E091 effective 2025-01-13)", "ECCN 4E091 did not exist before 2025-01-13"),
        Rule("4E091.note.synthetic-data", "15 CFR 774 Supp. 1, 4E091, Technical Note 3",
             "more than 10 % of the operations train on unpublished data from one generator: its generation operations count, and "
             "its training operations too if its parameters are unpublished (counted once)"),
        Rule("4E091.note.published", "15 CFR 774 Supp. 1, 4E091, Note 1; 15 CFR 734.7(a)",
             "4E091 does not control the parameters of a model that have been 'published' (§734.7(a))"),
        Rule("4E091.note.fine-tune", "15 CFR 774 Supp. 1, 4E091, Note 1 (second sentence)",
             "a model derived from a published model is controlled only if the additional training operations are more than "
             "2.5 x 10^25 or more than 25 % of the training operations, whichever is higher"),
        Rule("4E091.note.floor", "15 CFR 774 Supp. 1, 4E091, Note 2 (most capable published model)",
             "not controlled below the operations needed to train a model as capable as the most advanced published model (user-stated figure)"),
        Rule("742.6(a)(13)", "90 FR 4544; 15 CFR 742.6(a)(13)", "4E091: license required to or within any destination worldwide"),
        Rule("90 FR 4544.compliance-date", "90 FR 4544 (DATES: compliance 2025-05-15)",
             "the AI Diffusion IFR is effective, but compliance with its license requirements is not required before 2025-05-15"),
        Rule("742.6(a)(13).not-enforced", "BIS announcement of 2025-05-13; GAO B-337935",
             "the AI Diffusion rule, 4E091 included, is in the CFR but not enforced since 2025-05-13"),
        Rule("740.27.AIA.4E091", "90 FR 4544; 15 CFR 740.27 (4E091 to entities headquartered in Tier 1, located outside Macau/D:5)",
             "License Exception AIA for 4E091: every party headquartered (and ultimately owned) in a Tier-1 destination and located outside Macau/D:5"),
        Rule("742.6(b).4E091.D5-Macau", "UNCONFIRMED (regulations.md §6.11, §12): presumption of denial per secondary sources",
             "4E091 to D:5 or Macau, or to a D:5/Macau-headquartered party: presumption of denial"),
        Rule("742.6(b).4E091", "UNCONFIRMED (regulations.md §12): aiexport default", "4E091 elsewhere: case-by-case"),
    ]
}

AIA_OBLIGATIONS = [
    "Meet the model-weight security conditions of License Exception AIA (§740.27; Supp. No. 10 to Part 748) — text not read, see regulations.md §13",
]


class ModelFactsError(ValueError):
    def __init__(self, field: str, expected: str, got: Any = None):
        self.field, self.expected, self.got = field, expected, got
        super().__init__(f"{field}: expected {expected}")


def operations(value: Any, field: str = "operations") -> Fraction:
    """Exact operations from '3.8e25', 3.8e25, 38000000000000000000000000 (a float goes through its repr)."""
    if isinstance(value, bool) or value is None:
        raise ModelFactsError(field, "a number of operations, e.g. 3.8e25", value)
    try:
        d = Decimal(str(value).strip().replace("_", "").replace(",", ""))
    except InvalidOperation:
        raise ModelFactsError(field, "a number of operations, e.g. 3.8e25", value) from None
    if not d.is_finite() or d < 0:
        raise ModelFactsError(field, "a non-negative number of operations", value)
    return Fraction(d)


def share(value: Any, field: str) -> Fraction:
    """A share: 0.12 or '12%'."""
    text = str(value).strip()
    try:
        f = Fraction(Decimal(text[:-1])) / 100 if text.endswith("%") else Fraction(Decimal(text))
    except (InvalidOperation, ValueError):
        raise ModelFactsError(field, "a share between 0 and 1 (or a percentage like '12%')", value) from None
    if not 0 <= f <= 1:
        raise ModelFactsError(field, "a share between 0 and 1 (or a percentage like '12%')", value)
    return f


def yes_no(value: Any, field: str) -> bool | None:
    from aiexport.law.facts import yes_no as read

    return read(value, lambda expected: ModelFactsError(field, expected, value), unknown=("", "unknown", "?"))


def sci(x: Fraction | int | None) -> str:
    """Display only: 3.8e25."""
    if x is None:
        return "unknown"
    if x == 0:
        return "0"
    d = Decimal(x.numerator) / Decimal(x.denominator) if isinstance(x, Fraction) else Decimal(x)
    return f"{d:.3g}".replace("e+", "e")


@dataclass
class Generator:
    """A data-generation model whose outputs trained this model (Technical Note 3)."""

    name: str
    share: Fraction  # of this model's training operations that train on its (unpublished) data
    generation_operations: Fraction | None = None
    training_operations: Fraction | None = None
    published: bool | None = None  # the generator's parameters
    data_published: bool = False


@dataclass
class ModelFacts:
    name: str
    training_operations: Fraction | None = None  # pre-training plus later training (Note 2)
    published: bool | None = None
    base_model: str | None = None
    base_operations: Fraction | None = None
    base_published: bool | None = None
    fine_tune_operations: Fraction | None = None
    fine_tune_share_basis: str = "base"  # "base": 25 % of the base model's operations; "total": of the derived model's
    synthetic_data: list[Generator] = field(default_factory=list)
    organization: str | None = None
    country: str | None = None
    source: str | None = None

    @property
    def derived(self) -> bool:
        return self.base_model is not None or self.base_operations is not None or self.fine_tune_operations is not None

    def stated_operations(self) -> Fraction | None:
        if self.training_operations is not None:
            return self.training_operations
        if self.base_operations is not None and self.fine_tune_operations is not None:
            return self.base_operations + self.fine_tune_operations
        return None


# ---- the catalog ------------------------------------------------------------------------------

@cache
def catalog() -> tuple[dict, ...]:
    with open(data_path("models.csv"), encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def resolve_model(query: str) -> dict:
    """The catalog row named by ``query`` (case-insensitive tokens; a unique exact or prefix match)."""
    rows = catalog()
    q = _tokens(query)
    toks = [_tokens(r["model"]) for r in rows]
    exact = [i for i, t in enumerate(toks) if t == q]
    if len(exact) == 1:
        return rows[exact[0]]
    for pred in (lambda t: all(x in t for x in q), lambda t: all(any(y.startswith(x) for y in t) for x in q)):
        hits = [i for i, t in enumerate(toks) if q and pred(t)]
        if len(hits) == 1:
            return rows[hits[0]]
        if len(hits) > 1:
            best = sorted((len(toks[i]), i) for i in hits)
            if best[0][0] < best[1][0]:
                return rows[best[0][1]]
            raise LookupError(f"{query!r} is ambiguous; candidates: " + "; ".join(rows[i]["model"] for i in hits))
    raise LookupError(f"{query!r} is not in the model catalog (see `aiexport models`)")


def from_catalog(row: dict) -> ModelFacts:
    ops = row["training_compute_flop"].strip()
    return ModelFacts(
        name=row["model"],
        training_operations=operations(ops) if ops else None,
        published={"yes": True, "no": False}.get(row["open_weights"].strip().lower()),
        organization=row["organization"],
        country=row["country_of_org"],
        source="Epoch AI estimate (models.csv)",
    )


MODEL_FIELDS = {
    "name", "training_operations", "published", "base_model", "base_operations", "base_published",
    "fine_tune_operations", "fine_tune_share_basis", "synthetic_data",
}
GENERATOR_FIELDS = {"name", "share", "generation_operations", "training_operations", "published", "data_published"}


def parse_model_facts(spec: dict, base: ModelFacts | None = None) -> ModelFacts:
    """Model facts from a mapping (``item.model_facts``, or overrides of a catalog model)."""
    if not isinstance(spec, dict):
        raise ModelFactsError("model_facts", "a mapping of model facts", spec)
    unknown = set(spec) - MODEL_FIELDS
    if unknown:
        raise ModelFactsError(sorted(unknown)[0], "one of " + ", ".join(sorted(MODEL_FIELDS)), spec[sorted(unknown)[0]])
    m = base or ModelFacts(name=str(spec.get("name") or "model"))
    if "name" in spec:
        m.name = str(spec["name"])
    for key in ("training_operations", "base_operations", "fine_tune_operations"):
        if spec.get(key) is not None:
            setattr(m, key, operations(spec[key], key))
    for key in ("published", "base_published"):
        if key in spec:
            setattr(m, key, yes_no(spec[key], key))
    if spec.get("base_model") is not None:
        m.base_model = str(spec["base_model"])
        try:  # a catalog base model supplies its operations and published status unless stated
            b = from_catalog(resolve_model(m.base_model))
        except LookupError:
            b = None
        if b is not None:
            m.base_model = b.name
            if m.base_operations is None:
                m.base_operations = b.training_operations
            if m.base_published is None:
                m.base_published = b.published
    if "fine_tune_share_basis" in spec:
        basis = str(spec["fine_tune_share_basis"]).strip().lower()
        if basis not in ("base", "total"):
            raise ModelFactsError("fine_tune_share_basis", "base or total", spec["fine_tune_share_basis"])
        m.fine_tune_share_basis = basis
    if "synthetic_data" in spec:
        gens = spec["synthetic_data"] or []
        if not isinstance(gens, list):
            raise ModelFactsError("synthetic_data", "a list of {name, share, generation_operations, training_operations, published}", gens)
        m.synthetic_data = []
        for j, g in enumerate(gens):
            where = f"synthetic_data[{j}]"
            if not isinstance(g, dict) or "share" not in g:
                raise ModelFactsError(where, "{name, share, generation_operations, training_operations, published}", g)
            bad = set(g) - GENERATOR_FIELDS
            if bad:
                raise ModelFactsError(f"{where}.{sorted(bad)[0]}", "one of " + ", ".join(sorted(GENERATOR_FIELDS)), g[sorted(bad)[0]])
            m.synthetic_data.append(Generator(
                name=str(g.get("name") or f"generator {j + 1}"),
                share=share(g["share"], f"{where}.share"),
                generation_operations=operations(g["generation_operations"], f"{where}.generation_operations") if g.get("generation_operations") is not None else None,
                training_operations=operations(g["training_operations"], f"{where}.training_operations") if g.get("training_operations") is not None else None,
                published=yes_no(g.get("published"), f"{where}.published"),
                data_published=bool(yes_no(g.get("data_published"), f"{where}.data_published")),
            ))
    return m


def model_from_item(item: dict) -> ModelFacts:
    """``{model: NAME, ...overrides}`` or ``{model_facts: {...}}``."""
    if "model" in item:
        extra = {k: v for k, v in item.items() if k != "model"}
        try:
            base = from_catalog(resolve_model(str(item["model"])))
        except LookupError as exc:
            raise ModelFactsError("model", "a model in the catalog (see `aiexport models`) or item.model_facts", str(exc)) from None
        if extra:
            base.source = (base.source or "") + "; user-stated overrides: " + ", ".join(sorted(extra))
        return parse_model_facts(extra, base) if extra else base
    return parse_model_facts(item["model_facts"])


def is_model_item(item: Any) -> bool:
    return isinstance(item, dict) and ("model" in item or "model_facts" in item)


# ---- counting operations (Technical Notes 2 and 3) -------------------------------------------

@dataclass
class Count:
    stated: Fraction | None
    counted: Fraction | None
    synthetic_applied: bool
    synthetic_detail: str
    needs: list[str]


def count_operations(m: ModelFacts, p: Snapshot) -> Count:
    stated = m.stated_operations()
    needs: list[str] = []
    if stated is None:
        needs.append("training_operations")
    limit = p.model_weights_synthetic_share.fraction
    unpub_data = [g for g in m.synthetic_data if not g.data_published]
    # one generator includes its checkpoints and fine-tunes: entries with the same name merge
    merged: dict[str, Generator] = {}
    for g in unpub_data:
        if g.name in merged:
            h = merged[g.name]
            h.share += g.share
            if g.generation_operations is not None:
                h.generation_operations = (h.generation_operations or 0) + g.generation_operations
            if g.training_operations is not None:
                h.training_operations = max(h.training_operations or 0, g.training_operations)
            h.published = h.published if g.published is None else (g.published and h.published is not False)
        else:
            merged[g.name] = Generator(g.name, g.share, g.generation_operations, g.training_operations, g.published, False)
    added = Fraction(0)
    parts = []
    over = [g for g in merged.values() if g.share > limit]
    for g in over:
        if g.generation_operations is None:
            needs.append(f"synthetic_data.{g.name}.generation_operations")
        else:
            added += g.generation_operations
            parts.append(f"{g.name}: generation {sci(g.generation_operations)} ({float(g.share):.0%} of operations > {float(limit):.0%})")
        if g.published is None:
            needs.append(f"synthetic_data.{g.name}.published")
    unpublished = [g for g in merged.values() if g.published is False]
    if sum((g.share for g in unpublished), Fraction(0)) > limit and unpublished:
        # several unpublished generators: only the one with the most training operations counts, once
        known = [g for g in unpublished if g.training_operations is not None]
        for g in unpublished:
            if g.training_operations is None:
                needs.append(f"synthetic_data.{g.name}.training_operations")
        if known:
            top = max(known, key=lambda g: g.training_operations)
            added += top.training_operations
            parts.append(f"{top.name}: training {sci(top.training_operations)} (unpublished generator; counted once)")
    applied = bool(parts)
    counted = None if stated is None else stated + added
    detail = "; ".join(parts) if parts else (
        "no unpublished generator supplies more than 10 % of the operations" if m.synthetic_data else "no synthetic data stated (default: none)")
    return Count(stated, counted, applied, detail, needs)


# ---- determination ---------------------------------------------------------------------------

@dataclass
class Reason:
    rule: str
    held: bool | None
    detail: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "citation": RULES[self.rule].cite, "held": self.held, "detail": self.detail}


@dataclass
class ModelStatus:
    """The classification of a model's weights on a date (independent of the transaction)."""

    controlled: bool | None  # None = needs facts
    eccn: str | None
    rules: list[str]
    needs: list[str]
    reasons: list[Reason]
    counted: Fraction | None
    threshold: Fraction | None


def classify_model(m: ModelFacts, on: dt.date, posture: str = "enforced", *, floor: Fraction | None = None,
                   store: ParameterStore | None = None) -> ModelStatus:
    store = store or default_store()
    p = store.snapshot(on, posture)
    if not p.in_force("model_weights_eccn"):
        return ModelStatus(False, None, ["4E091.not-in-force"], [], [Reason("4E091.not-in-force", True, f"{on} is before 2025-01-13")], None, None)
    threshold = p.model_weights_threshold_operations.fraction
    c = count_operations(m, p)
    reasons: list[Reason] = []
    rules: list[str] = []
    if m.synthetic_data:
        reasons.append(Reason("4E091.note.synthetic-data", c.synthetic_applied, c.synthetic_detail))
        if c.synthetic_applied:
            rules.append("4E091.note.synthetic-data")
    bar = max(threshold, floor) if floor is not None else threshold
    if m.published and (c.counted is None or c.needs):  # published weights are never 4E091: the count cannot matter
        reasons.append(Reason("4E091.note.published", True, "the weights are published (§734.7(a)); the training operations do not matter"))
        return ModelStatus(False, None, rules + ["4E091.note.published"], [], reasons, c.counted, threshold)
    if c.counted is None:
        reasons.append(Reason("4E091", None, "training operations unknown"))
        return ModelStatus(None, None, rules + ["4E091"], c.needs, reasons, None, threshold)
    meets = c.counted >= threshold
    reasons.append(Reason("4E091", meets, f"{sci(c.counted)} operations counted "
                          f"({'>=' if meets else '<'} {sci(threshold)}; {float(c.counted / threshold):.3g} x the threshold)"))
    rules.append("4E091")
    if not meets and not c.needs:
        return ModelStatus(False, None, rules, [], reasons, c.counted, threshold)
    if c.needs:  # e.g. a generator's operations: uncounted operations could lift the model over the line
        return ModelStatus(None, None, rules, c.needs, reasons, c.counted, threshold)
    if floor is not None and c.counted < bar:
        reasons.append(Reason("4E091.note.floor", True, f"below the stated most-capable-published-model figure {sci(floor)}"))
        return ModelStatus(False, None, rules + ["4E091.note.floor"], [], reasons, c.counted, threshold)
    if floor is None:
        reasons.append(Reason("4E091.note.floor", False, "most-capable-published-model figure: not set (default; no BIS/AISI figure found)"))
    if m.published is None:
        reasons.append(Reason("4E091.note.published", None, "whether the weights are published (§734.7(a)) is not stated"))
        return ModelStatus(None, None, rules, ["published"], reasons, c.counted, threshold)
    if m.published:
        reasons.append(Reason("4E091.note.published", True, "the weights are published (§734.7(a))"))
        return ModelStatus(False, None, rules + ["4E091.note.published"], [], reasons, c.counted, threshold)
    reasons.append(Reason("4E091.note.published", False, "the weights are not published"))
    if m.derived:
        extra = m.fine_tune_operations
        base_ops = m.base_operations
        if extra is None and c.stated is not None and base_ops is not None:
            extra = c.stated - base_ops
        if m.base_published is None or extra is None or base_ops is None:
            need = [n for n, v in (("base_published", m.base_published), ("fine_tune_operations", extra), ("base_operations", base_ops)) if v is None]
            reasons.append(Reason("4E091.note.fine-tune", None, "needs " + ", ".join(need)))
            return ModelStatus(None, None, rules, need, reasons, c.counted, threshold)
        if m.base_published:
            basis = base_ops if m.fine_tune_share_basis == "base" else base_ops + extra
            bar_ft = max(p.model_weights_fine_tune_operations.fraction, p.model_weights_fine_tune_share.fraction * basis)
            exceeds = extra > bar_ft
            reasons.append(Reason("4E091.note.fine-tune", not exceeds,
                                  f"derived from published {m.base_model or 'model'} with {sci(extra)} additional operations "
                                  f"({'>' if exceeds else '<='} max(2.5e25, 25 % of {sci(basis)}) = {sci(bar_ft)})"))
            if not exceeds:
                return ModelStatus(False, None, rules + ["4E091.note.fine-tune"], [], reasons, c.counted, threshold)
            rules.append("4E091.note.fine-tune")
    return ModelStatus(True, "4E091", rules, [], reasons, c.counted, threshold)


@dataclass
class Parties:
    to: str
    from_: str
    located: list[str]
    headquarters: list[str]


def decide_model(m: ModelFacts, parties: Parties, on: dt.date, posture: str, *, floor: Fraction | None = None,
                 store: ParameterStore | None = None) -> dict:
    """The license determination for an export of a model's weights, in the check contract's terms."""
    store = store or default_store()
    p = store.snapshot(on, posture)
    st = classify_model(m, on, posture, floor=floor, store=store)
    out = {"outcome": "NLR", "eccn": st.eccn, "paragraph": st.eccn, "license_exception": None, "review_policy": None,
           "obligations": [], "needs_facts": list(st.needs), "rules": list(st.rules), "reasons": [r.as_dict() for r in st.reasons],
           "rule_set": p.rule_set, "counted_operations": st.counted}
    if not st.controlled and st.controlled is not None:
        return out
    # No license on this date whatever the weights are (US destination, 4E091 not enforced, before
    # the compliance date): decided without asking the open facts (issue 9, item 6).
    no_license = None
    if parties.to == "US":
        no_license = ("no-license.us-destination", None)
    elif p.in_force("model_weights_not_enforced"):
        no_license = ("742.6(a)(13).not-enforced", "The CFR text (codified posture) requires a license worldwide (§742.6(a)(13))")
    elif not p.in_force("model_weights_binding"):
        no_license = ("90 FR 4544.compliance-date",
                      f"License requirement (§742.6(a)(13)) binds from {p.value('model_weights_compliance_date')} (compliance date)")
    if no_license is not None:
        if st.controlled is None:
            out.update(eccn=None, paragraph=None, needs_facts=[], rules=[])
        out["rules"].append(no_license[0])
        if no_license[1]:
            out["obligations"].append(no_license[1])
        return out
    if st.controlled is None:
        out["outcome"] = "NEEDS_FACTS"
        return out
    d5mo = p.group("D:5") | {"MO"}
    tier1 = p.group("Tier1")
    out["rules"].append("742.6(a)(13)")
    hq_d5 = any(c in d5mo for c in parties.headquarters)
    located_ok = parties.to not in d5mo and all(c not in d5mo for c in parties.located)
    if all(c in tier1 for c in parties.headquarters) and located_ok:
        out.update(outcome="LICENSE_EXCEPTION", license_exception="AIA", obligations=list(AIA_OBLIGATIONS))
        out["rules"].append("740.27.AIA.4E091")
        return out
    out["outcome"] = "LICENSE_REQUIRED"
    if parties.to in d5mo or hq_d5:
        out["review_policy"] = str(p.value("model_weights_review_policy_d5"))
        out["rules"].append("742.6(b).4E091.D5-Macau")
    else:
        out["review_policy"] = str(p.value("model_weights_review_policy"))
        out["rules"].append("742.6(b).4E091")
    return out


def floor_fact(raw: Any) -> Fraction | None:
    """The user-stated 'most capable published model' figure; default: not set."""
    if raw is None or str(raw).strip().lower() in ("", "none", "not set"):
        return None
    return operations(raw, "published_model_floor_operations")


def model_error(e: ModelFactsError, source: str, row: int, prefix: str) -> InputError:
    return InputError(source, row, f"{prefix}.{e.field}" if prefix else e.field, e.expected, e.got)
