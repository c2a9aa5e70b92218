"""`aiexport classify`, `aiexport chips` (`aiexport demo` is in commands/demo.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import typer
from rich.table import Table

from aiexport.app.catalog import _num, _pd, classify_chips, records  # noqa: E402,F401 (the logic lives in app/)
from aiexport.catalog import ATTRIBUTION, CatalogLookupError, accelerators
from aiexport.commands.common import (
    Format,
    Posture,
    console,
    emit_csv,
    emit_json,
    fail,
    fail_input,
    parse_date,
)
from aiexport.errors import InputError, InputErrors
from aiexport.law.metrics import DEFAULT_TF32_BITS, from_micro


def deciding_detail(rec: dict) -> str:
    if rec["needs_facts"]:
        return "needs: " + ", ".join(f["fact"] for f in rec["needs_facts"])
    decisive = [x for x in rec["reasons"] if x["rule"] in rec["rules"]]
    if not rec["paragraph"] and len(decisive) > 2:  # below every line: the short story
        tpp = rec["total_processing_performance"]
        pd = rec["performance_density"]
        return f"below every 3A090.a/.b line (TPP {tpp}, PD {pd if pd is not None else 'n/a'})"
    return "; ".join(x["detail"] or "" for x in decisive)


def render_table(recs: list[dict], title: str) -> None:
    t = Table(title=title, show_lines=False, header_style="bold")
    t.add_column("chip", overflow="fold")
    t.add_column("TPP", justify="right")
    t.add_column("PD", justify="right")
    t.add_column("ECCN")
    t.add_column("paragraph")
    t.add_column("NAC/ACA")
    t.add_column("why (deciding comparison)", overflow="fold")
    for r in recs:
        eccn = r["eccn"] or ("?" if r["needs_facts"] else "—")
        style = "red" if eccn.startswith("3A090.a") or eccn.startswith("4A090.a") else (
            "yellow" if eccn not in ("—",) else "green")
        elig = {True: "yes", False: "no", None: ""}[r["nac_aca_eligible"]]
        t.add_row(
            r["name"],
            "" if r["total_processing_performance"] is None else f"{r['total_processing_performance']:,}",
            "" if r["performance_density"] is None else f"{r['performance_density']:.2f}",
            f"[{style}]{eccn}[/]",
            r["paragraph"] or "",
            elig,
            deciding_detail(r),
        )
    console.print(t)


def classify_items(
    chips: list[str], specs: Path | None, on: dt.date, posture: str, tf32_bits: int
) -> pl.DataFrame:
    """`app.catalog.classify_chips`, its input errors rendered (exit 2)."""
    try:
        return classify_chips(chips, specs, on, posture, tf32_bits)
    except CatalogLookupError as exc:
        fail([InputError("command line", None, "CHIP", "a catalog chip name (see `aiexport chips`)", str(exc))])
    except (InputError, InputErrors) as exc:
        fail_input(exc)


def register(app: typer.Typer) -> None:
    @app.command()
    def classify(
        chips: list[str] = typer.Argument(None, help="Catalog chip names, e.g. 'H100 SXM' (case-insensitive)."),
        specs: Path = typer.Option(None, "--specs", help="CSV/JSON/YAML rows with the columns of accelerators.csv."),
        on: str = typer.Option(None, "--on", help="Date YYYY-MM-DD (default: today)."),
        posture: Posture = typer.Option(Posture.enforced, "--posture"),
        fmt: Format = typer.Option(Format.table, "--format"),
        tf32_bits: int = typer.Option(DEFAULT_TF32_BITS, "--tf32-bits", help="Bit length for TF32: 19 (format width, default) or 32."),
    ) -> None:
        """Classify chips under ECCN 3A090 as of a date: TPP, PD, paragraph, and why.

        With no CHIP and no --specs, the whole bundled catalog is classified."""
        day = parse_date(on) or dt.date.today()
        if tf32_bits not in (19, 32):
            fail([InputError("command line", None, "--tf32-bits", "19 or 32", tf32_bits)])
        recs = records(classify_items(chips or [], specs, day, posture.value, tf32_bits))
        if fmt is Format.json:
            emit_json(recs)
        elif fmt is Format.csv:
            emit_csv(recs)
        else:
            render_table(recs, f"ECCN 3A090 classification on {day} ({recs[0]['rule_set'] if recs else ''})")

    @app.command()
    def chips(
        fmt: Format = typer.Option(Format.table, "--format"),
    ) -> None:
        """List the bundled accelerator catalog (Epoch AI data, CC BY 4.0)."""
        cat = accelerators()
        if fmt is not Format.table:
            recs = [
                {"name": r["name"], "vendor": r["vendor"], "model": r["model"], "variant": r["variant"],
                 "release_year": r["release_year"], "marketed_for_datacenter": r["datacenter"],
                 "source": r["source"]}
                for r in cat.iter_rows(named=True)
            ]
            (emit_json if fmt is Format.json else emit_csv)(recs)
            return
        t = Table(title="Bundled accelerator catalog", header_style="bold")
        for c in ("name", "year", "datacenter", "die mm²", "mem GB/s", "I/O GB/s"):
            t.add_column(c, justify="left" if c == "name" else "right")
        for r in cat.iter_rows(named=True):
            t.add_row(
                r["name"], r["release_year"] or "",
                {True: "yes", False: "no", None: "?"}[r["datacenter"]],
                str(from_micro(r["die_area"]) or ""), str(from_micro(r["memory_bandwidth"]) or ""),
                str(from_micro(r["interconnect"]) or ""),
            )
        console.print(t)
        console.print(f"[dim]{ATTRIBUTION}[/]")
