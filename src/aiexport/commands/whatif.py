"""`aiexport whatif REFORM.yaml`: the CLI face of `aiexport.app.whatif` (what flips, and why)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import typer
from rich.table import Table

from aiexport.app.whatif import answer_text, whatif  # noqa: F401 (the logic lives in app/; names kept for callers)
from aiexport.commands.common import Posture, console, emit_csv, fail, fail_input, parse_date
from aiexport.engine.reforms import LoadedReform, load_reform
from aiexport.errors import InputError, InputErrors


def render(res: dict) -> None:
    console.print(f"[bold]What if: {res['reform']}[/]" + (f" [dim]({res['label']})[/]" if res.get("label") else ""))
    console.print(f"[dim]{res['rationale'].strip()}[/]")
    t = Table(title="Changes", header_style="bold")
    for c in ("change", "what", "source"):
        t.add_column(c, overflow="fold")
    for c in res["changes"]:
        t.add_row(c["name"], c["change"], c["cite"] or "[yellow]proposal[/]")
    console.print(t)
    console.print(f"As of {res['on']}, {res['posture']} posture; baseline rule set {res['baseline_rule_set']}.")
    for kind, title in (("chip", "Catalog classifications that flip"), ("order", "Order lines that flip"),
                        ("model", "Models (4E091) that flip")):
        section = {"chip": "chips", "order": "orders", "model": "models"}[kind]
        if section not in res:
            continue
        rows = [f for f in res["flips"] if f["kind"] == kind]
        summary = res[section]
        t = Table(title=f"{title}: {summary['flipped']} of {summary['count']}", header_style="bold")
        for c in ("item", "baseline", "reform", "rules that made the difference", "caused by"):
            t.add_column(c, overflow="fold")
        for f in rows:
            label = f["item"] + (f"\n[dim]{f['what']}[/]" if f.get("what") else "")
            t.add_row(label, answer_text(f["baseline"]), f"[bold]{answer_text(f['reform'])}[/]", "\n".join(f["rules"]), "\n".join(f["changes"]))
        console.print(t)
        if kind == "order":
            ct = Table(title="Order lines by destination and outcome (baseline → reform)", header_style="bold")
            for c in ("destination", "outcome", "baseline", "reform"):
                ct.add_column(c, justify="right" if c in ("baseline", "reform") else "left")
            for r in res["orders"]["by_destination_and_outcome"]:
                style = "bold" if r["baseline"] != r["reform"] else ""
                ct.add_row(r["destination"], r["outcome"], str(r["baseline"]), f"[{style}]{r['reform']}[/]" if style else str(r["reform"]))
            console.print(ct)


def flips_csv(res: dict) -> list[dict]:
    return [{"kind": f["kind"], "item": f["item"], "on": f["on"], "what": f.get("what", ""),
             "baseline": answer_text(f["baseline"]), "reform": answer_text(f["reform"]),
             "rules": "; ".join(f["rules"]), "changes": "; ".join(f["changes"])} for f in res["flips"]]


def bundled_orders(name: str) -> Path:
    """A bundled order book by name: ``example`` (aiexport demo) or ``policy-lab``."""
    from importlib import resources

    from aiexport.app.decisions import example_orders

    books = {"example": example_orders(), "policy-lab": Path(str(resources.files("aiexport") / "reforms" / "orders" / "policy-lab.yaml"))}
    if name not in books:
        fail([InputError(name, None, "--orders", "an order book file, or a bundled one: " + ", ".join(books), "no such file")])
    return books[name]


def load_or_fail(path: str) -> LoadedReform:
    try:
        return load_reform(path)
    except InputErrors as exc:
        fail(exc.errors)
    except InputError as exc:
        fail([exc])


def run_from_cli(reform: str, on: str | None, orders: Path | None, chips: bool, models: bool, posture: str,
                 model_to: str) -> dict:
    import pycountry

    code = (model_to or "").strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        fail([InputError("command line", None, "--model-to", "an ISO 3166-1 alpha-2 country code, e.g. CN", model_to)])
    model_to = {"HK": "CN"}.get(code, code)  # Hong Kong is treated as China under the EAR
    loaded = load_or_fail(reform)
    day = parse_date(on) or dt.date.today()
    if orders is not None and not orders.exists():
        orders = bundled_orders(str(orders))
    if not (chips or models or orders is not None):  # nothing chosen: everything, on the example order book
        from aiexport.app.decisions import example_orders

        chips = models = True
        orders = example_orders()
    try:
        return whatif(loaded, on=day, posture=posture, chips=chips, models=models, orders=orders,
                      order_on=parse_date(on), model_to=model_to.upper())
    except (InputError, InputErrors) as exc:
        fail_input(exc)


def register(app: typer.Typer) -> None:
    @app.command(name="whatif")
    def whatif_cmd(
        reform: str = typer.Argument(..., help="A reform YAML file, or a bundled reform name (see docs/policy-lab.md)."),
        on: str = typer.Option(None, "--on", help="Date YYYY-MM-DD (default: today; orders: each on its own date unless given)."),
        orders: Path = typer.Option(None, "--orders", help="An order book (YAML/JSON/CSV, as for `check`)."),
        chips: bool = typer.Option(False, "--chips", help="Compare the catalog's classifications."),
        models: bool = typer.Option(False, "--models", help="Compare the bundled models under 4E091."),
        posture: Posture = typer.Option(Posture.enforced, "--posture"),
        model_to: str = typer.Option("CN", "--model-to", help="Destination for the model-weight exports compared (from the US)."),
        fmt: str = typer.Option("table", "--format", help="table, json, csv or html."),
    ) -> None:
        """Run the baseline law and a reform side by side: what flips (chips, orders, models), and why.

        With none of --chips/--models/--orders, all three are compared (orders: the example order book)."""
        if fmt not in ("table", "json", "csv", "html"):
            fail([InputError("command line", None, "--format", "table, json, csv or html", fmt)])
        res = run_from_cli(reform, on, orders, chips, models, posture.value, model_to)
        if fmt == "json":
            import json

            sys.stdout.write(json.dumps(res, indent=2, default=str) + "\n")
        elif fmt == "csv":
            emit_csv(flips_csv(res)) if res["flips"] else sys.stdout.write("kind,item,on,what,baseline,reform,rules,changes\n")
        elif fmt == "html":
            from aiexport.report.render import whatif_html

            sys.stdout.write(whatif_html(res))
        else:
            render(res)
