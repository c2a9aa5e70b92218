"""The memo sections the CLI prints (Rich) from the data of ``law.reach.memo`` and the
screening overlay: rendering belongs to the face, the lower layers return data."""

from __future__ import annotations

import json

from rich.table import Table

from aiexport.commands.common import console
from aiexport.law.reach.memo import STEP_TITLES, conclusion, fact_sources, source_text, steps
from aiexport.law.reach.rules import RULES as REACH_RULES
from aiexport.screening.determination import RULE_OF_LIST, RULES


def render_reach(row: dict) -> None:
    """The memo's legal-reach section (issue 10), before the classification."""

    yn = {True: "[green]holds[/]", False: "[dim]does not hold[/]", None: "[magenta]unknown[/]"}
    for key, rules in steps(row).items():
        if key == "veu" and not rules:
            continue
        if key == "requirements" and row.get("subject_to_ear") is False:
            continue
        t = Table(title=STEP_TITLES[key], header_style="bold")
        for c in ("rule", "citation", "", "what it says"):
            t.add_column(c, overflow="fold")
        for r in rules:
            t.add_row(r["rule"], r["citation"], yn[r["held"]], r["text"])
        console.print(t)
        if key == "subject":
            console.print(f"   → {conclusion(row)}")
    for fill in fact_sources(row):
        console.print(f"   fact {source_text(fill)}", highlight=False)
    for f in row.get("reach_flags") or []:
        console.print(f"[yellow]guidance[/] {f}: {REACH_RULES[f].text} ({REACH_RULES[f].cite})")


def render_screening(row: dict) -> None:
    """The memo's restricted-party screening section (issue 8), beside the classification."""

    raw = row.get("screening")
    if not raw:
        console.print("[yellow]0. Restricted-party screening: parties NOT screened[/] (this memo does not cover the "
                      "Entity List, DPL, MEU, UVL or SDN)")
        return
    s = json.loads(raw)
    if s["status"] != "screened":
        console.print(f"[yellow]0. Restricted-party screening: parties NOT screened[/] — {s['reason']}. "
                      "This memo does not cover the Entity List, DPL, MEU, UVL or SDN.")
        return
    lists = ", ".join(f"{v['source']} {v['published']}" for v in s["lists"])
    t = Table(title=f"0. Restricted-party screening (lists: {lists}; threshold {s['threshold']})", header_style="bold")
    for c in ("party", "name", "result", "list", "entry", "score", "matched on", "disposition", "rule"):
        t.add_column(c, overflow="fold")
    for p in s["parties"]:
        if not p["matches"]:
            t.add_row(p["role"], p["name"], "[green]clear[/]", "", "", "", "", "", "")
        for m in p["matches"]:
            d = m.get("disposition")
            disp = (d["status"] + ("" if d["holds"] else " (entry changed)")) if d else "[magenta]none[/]"
            rule = RULE_OF_LIST.get(m["list"], "screening.other-list")
            ex = m.get("explanation") or {}
            agreed = ", ".join(a["query"] for a in ex.get("agreed", []))
            t.add_row(p["role"], p["name"], "[red]potential match[/]", m["list"], f"{m['name']} ({m['entry_id'][:12]})",
                      f"{m['score']:.2f}", f"'{m['matched_name']}': {agreed}; country {ex.get('country_evidence', {}).get('reading', '')}",
                      disp, f"{rule} — {RULES[rule].cite}")
    console.print(t)
