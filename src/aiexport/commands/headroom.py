"""`aiexport headroom CHIP|--specs FILE`: the CLI face of `aiexport.app.headroom`."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import typer
from rich.table import Table

from aiexport.app.headroom import (  # noqa: F401 (the logic lives in app/; names kept for callers)
    catalog_rows,
    change_text,
    headroom_row,
    headroom_rows,
    versions,
)
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


def render(res: dict) -> None:
    console.print(f"[bold]Headroom: {res['name']}[/] — TPP {res['total_processing_performance']}, PD {res['performance_density']}, "
                  f"die {res['applicable_die_area_mm2']} mm², I/O {res['interconnect_bandwidth_gbps']} GB/s, "
                  f"DRAM {res['memory_bandwidth_gbps']} GB/s ({res['posture']} posture, {res['on']})")
    for v in res["versions"]:
        t = Table(title=f"{v['version']}: {v['title']} — {v['classification']}", header_style="bold")
        for c in ("line", "threshold", "value", "distance", "side", "to cross"):
            t.add_column(c, overflow="fold", justify="right" if c in ("threshold", "value", "distance") else "left")
        for ln in v["lines"]:
            t.add_row(ln["line"], f"{ln['threshold']:,}", "?" if ln["value"] is None else f"{ln['value']:,}",
                      "?" if ln["distance"] is None else f"{ln['distance']:,}", ln["side"], ln.get("to_cross", ""))
        console.print(t)
        for c in v["change"]:
            console.print(f"  {change_text(c)}")
        free = v.get("largest_free_design")
        if free and free.get("tpp_below") is not None:
            console.print(f"  [green]largest free design[/]: {free['meaning']}: TPP < {free['tpp_below']:,} "
                          f"(dense FP8 < {free['dense_fp8_tflops_below']:,} TFLOPS)")
        elif free:
            console.print(f"  [green]largest free design[/]: {free['meaning']}")


def register(app: typer.Typer) -> None:
    @app.command()
    def headroom(
        chips: list[str] = typer.Argument(None, help="Catalog chip names, e.g. H20."),
        specs: Path = typer.Option(None, "--specs", help="CSV/JSON/YAML rows with the columns of accelerators.csv."),
        on: str = typer.Option(None, "--on", help="Date YYYY-MM-DD (default: today): versions in force by then."),
        posture: Posture = typer.Option(Posture.enforced, "--posture"),
        die_area: float = typer.Option(None, "--die-area", help="Measure at this die area (mm²) instead of the part's."),
        fmt: Format = typer.Option(Format.table, "--format"),
    ) -> None:
        """Distance to each line, per rule version: what a part could gain or must lose to change classification."""
        day = parse_date(on) or dt.date.today()
        if not chips and specs is None:
            fail([InputError("command line", None, "CHIP", "a catalog chip name or --specs FILE", None)])
        if die_area is not None and not (0 < die_area < 100000):
            fail([InputError("command line", None, "--die-area", "a die area in mm² between 0 and 100,000", die_area)])
        try:
            rows, schema = catalog_rows(chips or [], specs)
        except (InputError, InputErrors) as exc:
            fail_input(exc)
        area = Fraction(str(die_area)) if die_area is not None else None
        results = headroom_rows(rows, schema, day, posture.value, die_area_mm2=area)
        if fmt is Format.json:
            emit_json(results)
        elif fmt is Format.csv:
            emit_csv([{"name": r["name"], "version": v["version"], "classification": v["classification"], **ln}
                      for r in results for v in r["versions"] for ln in v["lines"]])
        else:
            for r in results:
                render(r)
