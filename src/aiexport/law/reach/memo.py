"""The legal-reach step of a determination: as data (``steps``, ``record``) for the JSON contract,
and as the memo's first section (``render_section``), so the memo starts with "is the item subject
to the EAR, and by which path"."""

from __future__ import annotations

from aiexport.law.reach.facts import question
from aiexport.law.reach.rules import REQUIREMENTS, RULES
from aiexport.law.reach.subject import PATHS

STEP_TITLES = {
    "subject": "0a. Is the item subject to the EAR? (§734.3, §734.4, §734.9)",
    "requirements": "0b. End-use, end-user and embargo requirements (Part 744, Part 746)",
    "veu": "0c. Validated end-user authorization (§748.15)",
}


def steps(row: dict) -> dict[str, list[dict]]:
    """Per step, each rule with its citation, whether it held (true/false/null) and its text."""
    def item(rid: str, held) -> dict:
        r = RULES[rid]
        return {"rule": rid, "citation": r.cite, "held": held, "text": r.text}

    out = {
        "subject": [item(rid, row.get(rid)) for rid in PATHS],
        "requirements": [item(rid, row.get(rid)) for rid in REQUIREMENTS],
        "veu": [],
    }
    if row.get("rf_veu_id"):
        ok = row.get("veu_authorized")
        out["veu"] = [item(rid, ok if rid == "748.15" else False) for rid in (row.get("veu_rules") or ["748.15"])]
    return out


def conclusion(row: dict) -> str:
    s = row.get("subject_to_ear")
    if s is True:
        return "subject to the EAR by " + ", ".join(row.get("subject_rules") or [])
    if s is False:
        return "NOT subject to the EAR — no EAR licence is required (" + ", ".join(row.get("subject_rules") or []) + ")"
    return "undetermined: " + ", ".join(row.get("subject_needs") or []) + " needed"


def fact_sources(row: dict) -> list[dict]:
    """The reach facts a pre-decision step filled, with their source (``reach_fact_sources``: JSON
    written by ``aiexport.screening.determination.annotate``): fact, value, and list / entry / score."""
    import json

    raw = row.get("reach_fact_sources")
    return json.loads(raw) if raw else []


def source_text(fill: dict) -> str:
    parts = []
    for s in fill["sources"]:
        if s.get("entry_id"):
            parts.append(f"{s['list']} {s['entry_id']} '{s.get('entry')}' score {s['score']:.2f} "
                         f"({s['role']} '{s['party']}', {s['how']})")
        else:
            parts.append(f"{s['role']} '{s['party']}': {s['how']} ({s['list']})")
    return f"{fill['fact']} = {fill['value']} — from screening: " + "; ".join(parts)


def record(row: dict) -> dict:
    """The reach part of the `aiexport check` JSON record."""
    return {
        "fact_sources": fact_sources(row),
        "subject_to_ear": row.get("subject_to_ear"),
        "subject_rules": row.get("subject_rules") or [],
        "reach_requirements": row.get("reach_requirement_rules") or [],
        "reach_review_policy": row.get("reach_policy"),
        "veu_authorized": row.get("veu_authorized"),
        "veu_rules": row.get("veu_rules") or [],
        "reach_obligations": row.get("reach_obligations") or [],
        "reach_flags": [{"flag": f, "text": RULES[f].text, "citation": RULES[f].cite} for f in row.get("reach_flags") or []],
        "reach_needs_facts": [{"fact": f, "question": question(f)} for f in row.get("reach_needs_facts") or []],
    }


