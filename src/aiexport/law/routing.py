"""Routing inside `decide`: model-weight transactions go to the 4E091 determination, the foundry
presumption adjusts a fabricator's or OSAT's item before the chip rules run, and everything is
merged back into one frame of the `aiexport check` contract, in input order."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import polars as pl

from aiexport.catalog import CatalogLookupError, accelerators, resolve
from aiexport.errors import InputError
from aiexport.io.transactions import Transaction
from aiexport.law import foundry, models
from aiexport.law.metrics import MICRO

AS_CHINA = {"HK": "CN"}
REASON = pl.Struct({"rule": pl.String, "citation": pl.String, "held": pl.Boolean, "detail": pl.String})


def _cc(code: str | None) -> str | None:
    return AS_CHINA.get(code, code) if code else code


def split(transactions: list[Transaction]) -> tuple[list[int], list[int]]:
    chips, mods = [], []
    for i, t in enumerate(transactions):
        (mods if models.is_model_item(t.item) else chips).append(i)
    return chips, mods


def _die_area(item: dict) -> Fraction | None:
    try:
        if isinstance(item.get("chip"), str):
            v = accelerators()["die_area"][resolve(item["chip"])]
            return None if v is None else Fraction(v, MICRO)
        spec = item.get("specs")
        if isinstance(spec, dict) and spec.get("die_area_mm2") not in (None, ""):
            return models.operations(spec["die_area_mm2"], "die_area_mm2")
    except (CatalogLookupError, models.ModelFactsError):
        return None
    return None


def apply_foundry(frame: pl.DataFrame, transactions: list[Transaction], *, posture: str, on: dt.date | None,
                  source: str, rows: list[int]) -> pl.DataFrame:
    """Note 1 to 3A090.a: override the item's classification for fabricators and OSATs."""
    if not any("exporter_role" in t.facts for t in transactions):
        return frame
    cols = {c: frame[c].to_list() for c in ("eccn", "paragraph", "nac_aca_eligible", "datacenter", "item_needs", "item_rules", "item_reasons")}
    for i, t in enumerate(transactions):
        if "exporter_role" not in t.facts:
            continue
        day = on or t.date
        facts = dict(t.facts)
        if facts.get("designer_headquarters") in (None, ""):  # default: the catalog vendor's headquarters
            from aiexport.law.decide import designer_headquarters

            facts["designer_headquarters"] = designer_headquarters(t.item if isinstance(t.item, dict) else {})
        datasheet = cols["eccn"][i]
        try:
            res = foundry.presume(facts, day, posture, die_area_mm2=_die_area(t.item))
        except foundry.FoundryFactError as e:
            raise InputError(source, rows[i], f"facts.{e.field}", e.expected, e.got) from None
        if res is None:
            continue
        reasons = list(cols["item_reasons"][i] or []) + res.reasons
        cols["item_reasons"][i] = reasons
        if res.presumed is None and datasheet == "3A090.a" and cols["datacenter"][i] and not cols["item_needs"][i]:
            # already 3A090.a for datacenters on its own figures: the presumption cannot change the answer (issue 9, item 6)
            cols["item_rules"][i] = list(cols["item_rules"][i] or [])
            cols["item_reasons"][i] = list(cols["item_reasons"][i] or []) + [
                {"rule": "3A090.a.note1.presumption", "citation": foundry.RULES["3A090.a.note1.presumption"].cite, "held": None,
                 "detail": "not needed: the IC is 3A090.a and for datacenters on its own figures, so the presumption cannot change the answer"}]
            continue
        if res.presumed is None:
            cols["eccn"][i] = "3A090.a"  # judged at the level it would be presumed, as open items are
            cols["item_needs"][i] = list(dict.fromkeys(list(cols["item_needs"][i] or []) + res.needs))
            cols["item_rules"][i] = res.rules
        elif res.presumed:
            if datasheet != "3A090.a":
                reasons.append({"rule": "3A090.a.note1.presumption", "citation": foundry.RULES["3A090.a.note1.presumption"].cite, "held": True,
                                "detail": f"the presumption prevails over the datasheet classification ({datasheet or 'not 3A090'}): Note 1 binds "
                                          "the fabricator or OSAT to treat the IC as 3A090.a and for datacenters unless one of its rebuttals holds; "
                                          "the designer's own figures count only through rebuttal (a), from an approved or authorized designer, and "
                                          "attestations by the end user or any other party are not sufficient (Note 1.d)"})
                cols["item_reasons"][i] = reasons
            cols["eccn"][i], cols["paragraph"][i] = "3A090.a", "3A090.a.note1.presumption"
            cols["nac_aca_eligible"][i], cols["datacenter"][i] = False, True
            cols["item_needs"][i], cols["item_rules"][i] = [], res.rules
        elif res.rebuttal is not None and cols["item_needs"][i]:
            # presumption overcome and the IC's own parameters unknown: not treated as 3A090.a
            cols["eccn"][i] = cols["paragraph"][i] = None
            cols["item_needs"][i], cols["item_rules"][i] = [], res.rules
        else:
            cols["item_rules"][i] = list(cols["item_rules"][i] or []) + res.rules
    dtypes = {"eccn": pl.String, "paragraph": pl.String, "nac_aca_eligible": pl.Boolean, "datacenter": pl.Boolean,
              "item_needs": pl.List(pl.String), "item_rules": pl.List(pl.String)}
    out = frame.with_columns([pl.Series(c, cols[c], dtype=d) for c, d in dtypes.items()])
    reason_dtype = frame.schema["item_reasons"] if isinstance(frame.schema["item_reasons"], pl.List) else pl.List(REASON)
    return out.with_columns(pl.Series("item_reasons", cols["item_reasons"], dtype=reason_dtype))


def decide_models(transactions: list[Transaction], *, on: dt.date | None, posture: str, source: str, rows: list[int]) -> pl.DataFrame:
    recs = []
    for t, row in zip(transactions, rows, strict=True):
        day = on or t.date
        try:
            m = models.model_from_item(t.item)
            floor = models.floor_fact(t.facts.get("published_model_floor_operations"))
        except models.ModelFactsError as e:
            prefix = "item" if "model" in t.item else "item.model_facts"
            field = e.field if e.field.startswith("published_model") else f"{prefix}.{e.field}"
            if e.field == "model":
                field = "item.model"
            raise InputError(source, row, ("facts." + field) if field.startswith("published_model") else field, e.expected, e.got) from None
        eu = t.end_user or t.consignee
        parties = models.Parties(
            to=_cc(t.to), from_=_cc(t.from_),
            located=[_cc(t.consignee.country), _cc(eu.country)],
            headquarters=[_cc(x) for x in (t.consignee.hq, t.consignee.parent_hq, eu.hq, eu.parent_hq)],
        )
        d = models.decide_model(m, parties, day, posture, floor=floor)
        from aiexport.law.decide import _party_defaults
        counted = d["counted_operations"]
        recs.append({
            "id": t.id, "date": day, "kind": t.kind, "from": _cc(t.from_), "to": _cc(t.to), "to_stated": t.to,
            "quantity": t.quantity, "c_name": t.consignee.name, "c_country": _cc(t.consignee.country),
            "c_hq": _cc(t.consignee.hq), "c_phq": _cc(t.consignee.parent_hq), "e_name": eu.name,
            "e_country": _cc(eu.country), "e_hq": _cc(eu.hq), "e_phq": _cc(eu.parent_hq),
            "eccn": d["eccn"], "paragraph": d["paragraph"], "item_name": f"model weights: {m.name}",
            "outcome": d["outcome"], "license_exception": d["license_exception"], "review_policy": d["review_policy"],
            "obligations": d["obligations"], "needs_facts": d["needs_facts"], "rules": d["rules"],
            "item_reasons": d["reasons"], "item_rules": d["rules"], "item_needs": d["needs_facts"],
            "rule_set": d["rule_set"], "posture": posture,
            "model_operations": None if counted is None else str(counted.numerator // counted.denominator),
            "system_tpp": None, "policy_rule": None,
            "party_defaults": _party_defaults(t) + model_defaults(t.item, t.facts, m),
        })
    schema = {
        "id": pl.String, "date": pl.Date, "kind": pl.String, "from": pl.String, "to": pl.String, "to_stated": pl.String,
        "quantity": pl.Int64, "c_name": pl.String, "c_country": pl.String, "c_hq": pl.String, "c_phq": pl.String,
        "e_name": pl.String, "e_country": pl.String, "e_hq": pl.String, "e_phq": pl.String, "eccn": pl.String,
        "paragraph": pl.String, "item_name": pl.String, "outcome": pl.String, "license_exception": pl.String,
        "review_policy": pl.String, "obligations": pl.List(pl.String), "needs_facts": pl.List(pl.String),
        "rules": pl.List(pl.String), "item_reasons": pl.List(REASON), "item_rules": pl.List(pl.String),
        "item_needs": pl.List(pl.String), "rule_set": pl.String, "posture": pl.String, "model_operations": pl.String,
        "system_tpp": pl.Int64, "policy_rule": pl.String, "party_defaults": pl.List(pl.String),
    }
    return pl.DataFrame(recs, schema=schema)


def model_defaults(item: dict, facts: dict, m: models.ModelFacts) -> list[str]:
    """The documented defaults a model-weights answer rests on (for the memo's assumptions)."""
    stated = item.get("model_facts") if isinstance(item.get("model_facts"), dict) else item
    out = []
    if "model" in item and "published" not in stated:
        out.append(f"published (§734.7(a)): {'yes' if m.published else 'no' if m.published is False else 'unknown'} — the catalog's open_weights column")
    if m.derived:
        if "fine_tune_share_basis" not in stated:
            out.append("fine-tune test: 25 % of the base model's operations (default; `fine_tune_share_basis: total` reads it as the derived model's)")
    if "synthetic_data" not in stated:
        out.append("no training on unpublished synthetic data (none stated; Technical Note 3)")
    if facts.get("published_model_floor_operations") is None:
        out.append("most-capable-published-model floor: not set (no BIS/AISI/DOE figure found), so only 10^26 applies")
    return out


def merge(parts: list[tuple[list[int], pl.DataFrame]]) -> pl.DataFrame:
    """Frames of disjoint row subsets back into input order."""
    frames = [f.with_columns(pl.Series("__i", idx, dtype=pl.Int64)) for idx, f in parts if f.height]
    if len(frames) == 1:
        return frames[0].drop("__i")
    return pl.concat(frames, how="diagonal_relaxed").sort("__i").drop("__i")
