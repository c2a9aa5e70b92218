"""`aiexport rules timeline | diff | show`: the rule versions, what changed between two dates (and
which outcomes flip, and why), and one parameter's value, citation and history."""

from __future__ import annotations

import datetime as dt
import difflib
import json
from pathlib import Path

import typer
from rich.table import Table

from aiexport.app.rules import (  # noqa: E402,F401 (the logic lives in app/)
    _d,
    _val,
    catalog_transactions,
    outcome_changes,
    parameter_changes,
    rule_versions_between,
    timeline_records,
)
from aiexport.app.rules import diff as rules_diff
from aiexport.commands.common import (
    Format,
    Posture,
    console,
    emit_json,
    fail,
    load_transactions,
    parse_date,
)
from aiexport.engine.params import default_store
from aiexport.errors import InputError


def _label(o: dict) -> str:
    s = o["outcome"]
    if o["license_exception"]:
        s += f" ({o['license_exception']})"
    if o["review_policy"]:
        s += f" ({o['review_policy']})"
    return s + (f" [{o['eccn']}]" if o["eccn"] else "")


def _short(v) -> str:
    text = json.dumps(v, default=str) if not isinstance(v, str) else v
    return text if len(text) < 60 else text[:57] + "..."


def register(app: typer.Typer) -> None:
    rules_app = typer.Typer(help="The rules over time: versions, diffs between dates, parameter history.", no_args_is_help=True)

    @rules_app.command("timeline")
    def timeline(fmt: Format = typer.Option(Format.table, "--format")) -> None:
        """Every rule version: FR citation, publication, effective and compliance dates, enforcement status."""
        from aiexport.law.overlays import bundled_notices

        recs = timeline_records()
        notices = [{"id": n.id, "title": n.title, "status": n.status, "cite": n.cite, "from": _d(n.start),
                    "until": _d(n.until), "enabled_by_default": n.enabled} for n in bundled_notices()]
        if fmt is not Format.table:
            emit_json(recs + [{"notice": n} for n in notices])
            return
        t = Table(title="aiexport rule versions (rule_set ids)", header_style="bold")
        for c in ("id", "title", "citation", "published", "effective", "compliance", "status"):
            t.add_column(c, overflow="fold")
        for r in recs:
            style = "dim" if r["posture"] == "enforced" else ("yellow" if "not enforced" in r["status"] else "")
            t.add_row(r["id"], r["title"], r["cite"], r["published"] or "—", r["effective"], r["compliance"] or "—",
                      f"[{style}]{r['status']}[/]" if style else r["status"])
        console.print(t)
        for n in notices:
            console.print(f"[magenta]notice {n['id']}[/] ({n['status']}; not in the CFR; off unless enabled with "
                          f"`check --notice {n['id']}`) from {n['from']}: {n['title']} — {n['cite']}")

    @rules_app.command("diff")
    def diff(
        date1: str = typer.Argument(..., help="From date YYYY-MM-DD."),
        date2: str = typer.Argument(..., help="To date YYYY-MM-DD."),
        posture: Posture = typer.Option(Posture.enforced, "--posture"),
        orders: Path = typer.Option(None, "--orders", help="An order book (YAML/JSON/CSV) to re-decide on both dates; default: the catalog."),
        to: str = typer.Option("CN", "--to", help="Destination for the catalog order book (without --orders)."),
        notice: list[str] = typer.Option(None, "--notice", help="Enable a bundled notice by id."),
        fmt: Format = typer.Option(Format.table, "--format"),
    ) -> None:
        """What changed between two dates: rule versions, parameters, and which outcomes flip, and why."""
        d1, d2 = parse_date(date1, "DATE1"), parse_date(date2, "DATE2")
        from dataclasses import replace

        from aiexport.law.overlays import bundled_notice

        try:
            enabled = [replace(bundled_notice(n), enabled=True) for n in notice or []]
        except InputError as exc:
            fail([exc])
        if orders is not None:
            txs, rows = load_transactions(orders)
            source = str(orders)
        else:
            code = to.strip().upper()
            try:
                txs = catalog_transactions(code)
            except Exception:  # pydantic names the bad country
                fail([InputError("command line", None, "--to", "an ISO 3166-1 alpha-2 country code", to)])
            rows, source = None, f"catalog (exports US→{code})"
        try:
            result = rules_diff(d1, d2, posture.value, txs, source=source, rows=rows, notices=enabled)
        except InputError as exc:
            fail([exc])
        versions, params, changed = result["rule_versions"], result["parameters"], result["outcomes_changed"]
        if fmt is not Format.table:
            emit_json([result])
            return
        console.print(f"[bold]{d1} → {d2}[/] ({posture.value} posture): rule set {result['rule_set']['from']} → {result['rule_set']['to']}")
        if versions:
            t = Table(title="Rule versions taking effect", header_style="bold")
            for c in ("id", "effective", "title", "citation"):
                t.add_column(c, overflow="fold")
            for v in versions:
                t.add_row(v["id"], v["effective"], v["title"], v["cite"])
            console.print(t)
        else:
            console.print("No rule version takes effect between the dates.")
        if params:
            t = Table(title="Parameters that changed", header_style="bold")
            for c in ("parameter", "before", "after", "since", "citation"):
                t.add_column(c, overflow="fold")
            for p in params:
                if "added" in p:
                    before, after = "", " ".join([f"+{c}" for c in p["added"]] + [f"-{c}" for c in p["removed"]])
                else:
                    before, after = _short(p["before"]), _short(p["after"])
                t.add_row(p["parameter"], before, after, p["since"] or "—", p["cite"] or "—")
            console.print(t)
        t = Table(title=f"Outcomes that changed — {len(changed)} of {len(txs)} ({source})", header_style="bold")
        for c in ("id", "item", "route", "before", "after", "why (rules added / removed)"):
            t.add_column(c, overflow="fold")
        for c in changed:
            why = " ".join([f"+{r}" for r in c["rules_added"]] + [f"-{r}" for r in c["rules_removed"]])
            t.add_row(c["id"], c["item"] or "", c["route"], _label(c["before"]), _label(c["after"]), why)
        console.print(t)

    @rules_app.command("show")
    def show(
        parameter: str = typer.Argument(..., help="A parameter name (see `aiexport rules show --list`) or a country group, e.g. D:5."),
        on: str = typer.Option(None, "--on", help="Date YYYY-MM-DD (default: today)."),
        posture: Posture = typer.Option(Posture.enforced, "--posture"),
        fmt: Format = typer.Option(Format.table, "--format"),
    ) -> None:
        """A parameter's value on a date, its citation, and its whole history."""
        day = parse_date(on) or dt.date.today()
        store = default_store()
        name = parameter if parameter in store else (f"group:{parameter}" if f"group:{parameter}" in store else None)
        if name is None:
            close = difflib.get_close_matches(parameter, list(store.parameters), n=5, cutoff=0.4)
            fail([InputError("command line", None, "PARAMETER", "a parameter name" + (f", e.g. {', '.join(close)}" if close else
                                                                                    f"; one of {len(store.parameters)} in law/parameters/*.yaml"), parameter)])
        p = store.parameter(name)
        v = p.at(day, posture.value)
        rec = {"parameter": name, "description": p.description, "unit": p.unit, "file": p.source_file, "on": day.isoformat(),
               "posture": posture.value, "value": _val(v), "since": _d(v.since) if v else None, "cite": v.cite if v else None,
               "history": [{"since": _d(h.since), "value": _val(h), "posture": h.posture, "cite": h.cite} for h in p.values]}
        if fmt is not Format.table:
            emit_json([rec])
            return
        shown = "not in force (no value yet)" if v is None else ("null (not in force)" if v.value is None else _short(rec["value"]))
        console.print(f"[bold]{name}[/] — {p.description} [{p.unit}] ({p.source_file})\n"
                      f"on {day} ({posture.value}): [bold]{shown}[/]" + (f" since {v.since} — {v.cite}" if v else ""))
        t = Table(title="History", header_style="bold")
        for c in ("since", "value", "posture", "citation"):
            t.add_column(c, overflow="fold")
        for h in rec["history"]:
            t.add_row(h["since"], _short(h["value"]), h["posture"], h["cite"])
        console.print(t)

    app.add_typer(rules_app, name="rules")
