"""`aiexport demo`: the main job on bundled data, printed for a person."""

from __future__ import annotations

import datetime as dt

import polars as pl
from rich.panel import Panel
from rich.table import Table

from aiexport.catalog import ATTRIBUTION, accelerators
from aiexport.commands.chips import records, render_table
from aiexport.commands.common import console
from aiexport.law.classify import classify_frame

VERSIONS = [
    ("Oct 2022 rule", dt.date(2023, 6, 1)),
    ("Oct 2023 rule", dt.date(2024, 6, 1)),
    ("Dec 2024 rule", dt.date(2025, 1, 1)),
]


def _status(rec: dict) -> str:
    if rec["needs_facts"]:
        return "[magenta]needs " + ", ".join(f["fact"] for f in rec["needs_facts"]) + "[/]"
    p = rec["paragraph"]
    if p is None:
        return "[green]not 3A090[/]"
    colour = "red" if p.startswith("3A090.a") else "yellow"
    return f"[{colour}]{p}[/]"


def run_demo(today: dt.date | None = None) -> None:
    today = today or dt.date.today()
    cat = accelerators().drop("vendor", "model", "variant", "release_year", "source", "notes")
    console.print(Panel.fit(
        "[bold]aiexport[/] — US export controls on AI compute, executable and explained.\n"
        f"Classifying the bundled catalog of {cat.height} accelerators under ECCN 3A090 "
        f"as of [bold]{today}[/] (enforced posture).",
        border_style="cyan"))
    recs = records(classify_frame(cat, on=today))
    render_table(recs, f"ECCN 3A090 on {today} — rule set {recs[0]['rule_set']}")
    counts = pl.DataFrame({"eccn": [r["eccn"] or ("needs facts" if r["needs_facts"] else "not controlled") for r in recs]})
    summary = counts.group_by("eccn").len().sort("len", descending=True)
    console.print("Summary: " + ", ".join(f"{e}: {n}" for e, n in summary.iter_rows()))
    from aiexport.commands.chart import tpp_pd_chart

    console.print(Panel(tpp_pd_chart(recs), title="Where the catalog sits against the 3A090 lines (Oct 2023 rule)", border_style="cyan", expand=False))

    by_version = {label: records(classify_frame(cat, on=d)) for label, d in VERSIONS}
    t = Table(title="Status by rule version (the A800/H800 story)", header_style="bold")
    t.add_column("chip")
    for label, d in VERSIONS:
        t.add_column(f"{label}\n(as of {d})")
    names = [r["name"] for r in recs]
    changed = []
    for i, name in enumerate(names):
        statuses = [by_version[label][i] for label, _ in VERSIONS]
        outcomes = {(s["eccn"], bool(s["needs_facts"])) for s in statuses}
        if len(outcomes) > 1:
            changed.append(name)
            t.add_row(name, *[_status(s) for s in statuses])
    console.print(t)
    console.print(
        f"{len(changed)} of {len(names)} chips changed ECCN between rule versions. "
        "The A800 and H800 were cut below the Oct 2022 rule's 600 GB/s I/O line; the Oct 2023 "
        "rule dropped that test and caught them on TPP alone (effective 2023-11-17).")
    console.print(f"[dim]{ATTRIBUTION}[/]")
    _demo_orders(today)
    _demo_timeline()


def _demo_timeline() -> None:
    from aiexport.commands.rules import timeline_records

    t = Table(title="The rule versions (aiexport rules timeline; diff any two dates with aiexport rules diff)", header_style="bold")
    for c in ("id", "effective", "citation", "status"):
        t.add_column(c, overflow="fold")
    for r in timeline_records():
        if r["id"] != "R0":
            t.add_row(r["id"], r["effective"], r["cite"], r["status"])
    console.print(t)


def _demo_orders(today: dt.date) -> None:
    from aiexport.commands.check import demo_order_book

    demo_order_book(today)


def register(app) -> None:
    @app.command()
    def demo() -> None:
        """The main job on bundled data: the catalog classified today, and its story by rule version."""
        run_demo()
