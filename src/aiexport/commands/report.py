"""`aiexport report ...`: standalone HTML or PDF (by the --out suffix) of an explain memo, a whatif
result, a headroom result or the models chart; `aiexport report charts` writes the two SVG charts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from aiexport.commands.common import Posture, console, fail, parse_date
from aiexport.errors import InputError

report_app = typer.Typer(help="Reports to file: standalone HTML or PDF (chosen by the --out suffix), with charts and citations.",
                         no_args_is_help=True)


def _out(path: Path) -> Path:
    if path.suffix.lower() not in (".html", ".htm", ".pdf"):
        fail([InputError("command line", None, "--out", "a file ending in .html or .pdf", str(path))])
    if not path.parent.exists():
        fail([InputError("command line", None, "--out", "a file in an existing directory", str(path))])
    return path


def _done(path: Path) -> None:
    console.print(f"wrote {path} ({path.stat().st_size:,} bytes)")


@report_app.command("whatif")
def report_whatif(
    reform: str = typer.Argument(..., help="A reform YAML file or a bundled reform name."),
    out: Path = typer.Option(..., "--out", help="report.html or report.pdf"),
    on: str = typer.Option(None, "--on"),
    orders: Path = typer.Option(None, "--orders"),
    chips: bool = typer.Option(False, "--chips"),
    models: bool = typer.Option(False, "--models"),
    posture: Posture = typer.Option(Posture.enforced, "--posture"),
    model_to: str = typer.Option("CN", "--model-to"),
) -> None:
    """A whatif result as a document (with the catalog chart under the reform)."""
    from aiexport.commands.whatif import run_from_cli
    from aiexport.engine.params import using_store
    from aiexport.engine.reforms import load_reform
    from aiexport.report.figures import chip_chart
    from aiexport.report.render import whatif_html, write

    out = _out(out)
    res = run_from_cli(reform, on, orders, chips, models, posture.value, model_to)
    from aiexport.report.figures import model_chart

    svg = models_svg = None
    loaded = load_reform(reform)
    with using_store(loaded.store):
        if "chips" in res:
            svg = chip_chart(dt.date.fromisoformat(res["on"]), posture.value)
        if "models" in res:
            models_svg = model_chart(dt.date.fromisoformat(res["on"]), posture.value)[0]
    _done(write(whatif_html(res, svg, models_svg), out))


@report_app.command("headroom")
def report_headroom(
    chips: list[str] = typer.Argument(None, help="Catalog chip names."),
    out: Path = typer.Option(..., "--out"),
    specs: Path = typer.Option(None, "--specs"),
    on: str = typer.Option(None, "--on"),
    posture: Posture = typer.Option(Posture.enforced, "--posture"),
) -> None:
    """A headroom result as a document (with the TPP x PD chart of the catalog)."""
    from aiexport.commands.headroom import catalog_rows, headroom_rows
    from aiexport.report.figures import chip_chart
    from aiexport.report.render import headroom_html, write

    out = _out(out)
    day = parse_date(on) or dt.date.today()
    if not chips and specs is None:
        fail([InputError("command line", None, "CHIP", "a catalog chip name or --specs FILE", None)])
    rows, schema = catalog_rows(chips or [], specs)
    results = headroom_rows(rows, schema, day, posture.value)
    _done(write(headroom_html(results, chip_chart(day, posture.value)), out))


@report_app.command("explain")
def report_explain(
    file: Path = typer.Argument(..., help="Transactions: YAML, JSON or CSV."),
    id: str = typer.Option(..., "--id"),
    out: Path = typer.Option(..., "--out"),
    on: str = typer.Option(None, "--on"),
    posture: Posture = typer.Option(Posture.enforced, "--posture"),
) -> None:
    """The `explain` memo of one order as a document."""
    from aiexport.commands.check import load_transactions, render_memo
    from aiexport.law.decide import decide, records
    from aiexport.report.render import memo_html, write

    out = _out(out)
    day = parse_date(on)
    txs, numbers = load_transactions(file)
    chosen = [(t, n) for t, n in zip(txs, numbers, strict=True) if t.id == id]
    if not chosen:
        fail([InputError(str(file), None, "id", f"the id of a transaction in the file ({len(txs)} found)", id)])
    t, n = chosen[0]
    other_posture = "codified" if posture.value == "enforced" else "enforced"
    try:
        row = decide([t], on=day, posture=posture.value, source=str(file), rows=[n], explain=True).row(0, named=True)
        other = records(decide([t], on=day, posture=other_posture, source=str(file), rows=[n]))[0]
    except InputError as exc:
        fail([exc])
    render = render_memo
    if str(row.get("item_name") or "").startswith("model weights:"):
        from aiexport.commands.models import render_model_memo as render
    _done(write(memo_html(_recorded_html(render, row, other, posture.value), row, other, posture.value), out))


def _recorded_html(render, row: dict, other: dict, posture: str) -> str:
    """The CLI's memo (Rich) recorded as HTML: the memo renderers print to the commands' console."""
    import io

    from rich.console import Console

    # every module that prints memo sections, imported before the swap: a module first imported
    # during it would keep the recorder as its console for good (and print later memos into it)
    from aiexport.commands import check, common, memo_sections, models

    mods = (check, models, common, memo_sections)
    rec = Console(record=True, width=120, file=io.StringIO(), color_system="truecolor")
    saved = [m.console for m in mods]
    for m in mods:
        m.console = rec
    try:
        render(row, other, posture)
    finally:
        for m, c in zip(mods, saved, strict=True):
            m.console = c
    return rec.export_html(inline_styles=True, code_format='<pre class="memo">{code}</pre>')


@report_app.command("models")
def report_models(
    out: Path = typer.Option(..., "--out"),
    on: str = typer.Option(None, "--on"),
    posture: Posture = typer.Option(Posture.codified, "--posture", help="Whose 4E091 lines to draw (the CFR text by default)."),
) -> None:
    """The bundled models against the 10^26 line over time, with the open-weight trend (an estimate)."""
    from aiexport.report.figures import model_chart
    from aiexport.report.render import models_html, write

    out = _out(out)
    day = parse_date(on) or dt.date.today()
    svg, trend = model_chart(day, posture.value)
    _done(write(models_html(svg, trend.as_dict(), day.isoformat(), posture.value), out))


@report_app.command("trend")
def report_trend(
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Open-weight models against 10^26 over time: the least-squares trend and its estimated crossing date."""
    import json
    import sys

    from rich.table import Table

    from aiexport.report.figures import model_figure_data

    if fmt not in ("table", "json"):
        fail([InputError("command line", None, "--format", "table or json", fmt)])
    data, trend = model_figure_data()
    est = trend.as_dict()
    if fmt == "json":
        sys.stdout.write(json.dumps({"trend": est, "models": [dict(m, released=m["released"].isoformat()) for m in data]}, indent=2) + "\n")
        return
    t = Table(title="Open-weight models by publication date (Epoch AI estimates)", header_style="bold")
    for c in ("released", "model", "developer country", "training ops", "vs 10^26"):
        t.add_column(c, justify="right" if c in ("training ops", "vs 10^26") else "left")
    for m in sorted((m for m in data if m["published"] and m["operations"]), key=lambda m: m["released"]):
        t.add_row(m["released"].isoformat(), m["name"], m["country"] or "", f"{m['operations']:.3g}", f"{m['operations'] / 1e26:.3f}×")
    console.print(t)
    console.print(f"[bold]{est['label']}[/]: slope {est['slope_orders_of_magnitude_per_year']} orders of magnitude a year "
                  f"(s.e. {est['slope_standard_error']}); the trend reaches {est['threshold_operations']} on "
                  f"[bold]{est['estimated_crossing_date']}[/] (95 % interval {est['crossing_95_interval'][0]} to "
                  f"{est['crossing_95_interval'][1] or 'no upper bound'}; {est['bootstrap_share_without_crossing']:.1%} of resamples never cross).")
    console.print(f"[dim]Method: {est['method']}.[/]")


@report_app.command("charts")
def report_charts(
    out_dir: Path = typer.Option(Path("."), "--out-dir", help="Directory for chips-tpp-pd.svg and models-4e091.svg."),
    on: str = typer.Option(None, "--on"),
    posture: Posture = typer.Option(Posture.enforced, "--posture"),
) -> None:
    """Write the two charts as SVG files."""
    from aiexport.report.figures import chip_chart, model_chart

    if not out_dir.is_dir():
        fail([InputError("command line", None, "--out-dir", "an existing directory", str(out_dir))])
    day = parse_date(on) or dt.date.today()
    a = out_dir / "chips-tpp-pd.svg"
    a.write_text(chip_chart(day, posture.value), encoding="utf-8")
    b = out_dir / "models-4e091.svg"
    b.write_text(model_chart(day, "codified")[0], encoding="utf-8")
    _done(a)
    _done(b)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
