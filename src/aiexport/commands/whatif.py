"""`aiexport whatif REFORM.yaml`: the baseline law and a reform side by side, through the same engine.

What flips: the catalog's classifications, an order book's outcomes (counted by destination and
outcome), and the bundled models under 4E091. Every flip names the rules whose answer changed and
the reform change(s) that cause it on their own.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path

import typer
from rich.table import Table

from aiexport.commands.common import Posture, console, emit_csv, fail, parse_date
from aiexport.engine.params import ParameterStore, bundled_store, using_store
from aiexport.engine.reforms import LoadedReform, load_reform
from aiexport.errors import InputError, InputErrors

MODEL_PARTIES = {"from": "US"}  # model-weight exports are judged from the US to --model-to


# ---- the three comparisons -------------------------------------------------------------------


def _catalog_chips(day: dt.date, posture: str) -> list[dict]:
    from aiexport.catalog import accelerators
    from aiexport.commands.chips import records
    from aiexport.law.classify import classify_frame

    frame = accelerators().drop("vendor", "model", "variant", "release_year", "source", "notes")
    return records(classify_frame(frame, on=day, posture=posture))


def _chip_answer(r: dict) -> dict:
    return {"eccn": r["eccn"], "paragraph": r["paragraph"], "needs_facts": [f["fact"] for f in r["needs_facts"]]}


def _held_changes(base: dict, new: dict) -> list[str]:
    """Rules whose comparison came out differently ("3A090.a.1: does not hold -> holds")."""
    b = {x["rule"]: x["held"] for x in base.get("reasons") or []}
    n = {x["rule"]: x["held"] for x in new.get("reasons") or []}
    word = {True: "holds", False: "does not hold", None: "unknown"}
    return [f"{rule}: {word[b.get(rule)]} -> {word[n[rule]]}" for rule in n if rule in b and b[rule] != n[rule]]


def _rule_diff(base: list[str], new: list[str]) -> list[str]:
    return [f"+{r}" for r in new if r not in base] + [f"-{r}" for r in base if r not in new]


def _order_answer(r: dict) -> dict:
    return {k: r[k] for k in ("outcome", "license_exception", "review_policy", "eccn")}


def _orders(book: tuple, on: dt.date | None, posture: str, notices: list) -> list[dict]:
    from aiexport.law.decide import decide, records

    path, txs, numbers = book
    return records(decide(txs, on=on, posture=posture, source=str(path), rows=numbers, notices=notices))


def _models(day: dt.date, posture: str, to: str) -> list[dict]:
    from aiexport.law import models as law

    out = []
    for row in law.catalog():
        m = law.from_catalog(row)
        parties = law.Parties(to=to, from_=MODEL_PARTIES["from"], located=[to], headquarters=[to])
        d = law.decide_model(m, parties, day, posture)
        out.append({"model": m.name, "organization": m.organization, "country": m.country,
                    "published": m.published, "released": row["release_date"], **{k: d[k] for k in (
                        "eccn", "outcome", "license_exception", "review_policy", "rules")}})
    return out


def _model_answer(r: dict) -> dict:
    return {k: r[k] for k in ("eccn", "outcome", "license_exception", "review_policy")}


def _run(store: ParameterStore, fn, *args):
    with using_store(store):
        return fn(*args)


def _attribute(reform: LoadedReform, kind: str, run_one) -> list[list[str]]:
    """For each change alone, the items it flips; returns per-item the names of those changes.
    (A reform of one change needs no second run: the caller's flips are that change's.)"""
    hits: list[list[str]] = []
    if len(reform.reform.changes) < 2:
        return hits
    for (store, notices), change in zip(reform.single_stores, reform.reform.changes, strict=True):
        flipped = run_one(store, notices)
        for i, f in enumerate(flipped):
            while len(hits) <= i:
                hits.append([])
            if f:
                hits[i].append(change.name)
    return hits


def _cause(reform: LoadedReform, cause: list[list[str]], i: int) -> list[str]:
    if len(reform.reform.changes) == 1:
        return [reform.reform.changes[0].name]
    return cause[i] if i < len(cause) and cause[i] else ["(only the changes combined)"]


def whatif(reform: LoadedReform, *, on: dt.date, posture: str, chips: bool = True, models: bool = True,
           orders: Path | None = None, order_on: dt.date | None = None, model_to: str = "CN") -> dict:
    """The comparison as data (the JSON contract of `aiexport whatif`)."""
    base_store = bundled_store()
    flips: list[dict] = []
    result: dict = {
        "reform": reform.name, "rationale": reform.reform.rationale, "label": reform.reform.label,
        "source": reform.reform.source, "file": reform.path, "on": on.isoformat(), "posture": posture,
        "changes": [{"name": c.name, "kind": c.kind, "change": c.summary(), "rationale": c.rationale,
                     "cite": c.cite, "proposal": c.proposal} for c in reform.reform.changes],
        "baseline_rule_set": base_store.rule_set_label(on, posture),
    }
    if chips:
        base = _run(base_store, _catalog_chips, on, posture)
        new = _run(reform.store, _catalog_chips, on, posture)
        flipped = [_chip_answer(b) != _chip_answer(n) for b, n in zip(base, new, strict=True)]
        cause = _attribute(reform, "chip", lambda s, _n: [
            _chip_answer(b) != _chip_answer(x) for b, x in zip(base, _run(s, _catalog_chips, on, posture), strict=True)])
        for i, (b, n) in enumerate(zip(base, new, strict=True)):
            if flipped[i]:
                flips.append({
                    "kind": "chip", "item": b["name"], "on": on.isoformat(),
                    "baseline": _chip_answer(b), "reform": _chip_answer(n),
                    "rules": _held_changes(b, n) or _rule_diff(b["rules"], n["rules"]),
                    "changes": _cause(reform, cause, i),
                    "detail": {"total_processing_performance": b["total_processing_performance"],
                               "performance_density": b["performance_density"]},
                })
        result["chips"] = {"count": len(base), "flipped": sum(flipped)}
    if orders is not None:
        from aiexport.commands.check import load_transactions

        book = (orders, *load_transactions(orders))  # read and validated once, decided per store
        base = _run(base_store, _orders, book, order_on, posture, [])
        new = _run(reform.store, _orders, book, order_on, posture, reform.notices)
        flipped = [_order_answer(b) != _order_answer(n) for b, n in zip(base, new, strict=True)]
        cause = _attribute(reform, "order", lambda s, ns: [
            _order_answer(b) != _order_answer(x) for b, x in zip(base, _run(s, _orders, book, order_on, posture, ns), strict=True)])
        for i, (b, n) in enumerate(zip(base, new, strict=True)):
            if flipped[i]:
                flips.append({
                    "kind": "order", "item": b["id"], "on": b["date"], "what": f"{b['item']} × {b['quantity']:,} {b['from']}→{b['to']}",
                    "destination": b["to"], "baseline": _order_answer(b), "reform": _order_answer(n),
                    "rules": _rule_diff(b["rules"], n["rules"]),
                    "changes": _cause(reform, cause, i),
                })
        counts: Counter = Counter()
        for b, n in zip(base, new, strict=True):
            counts[(b["to"], b["outcome"], "baseline")] += 1
            counts[(n["to"], n["outcome"], "reform")] += 1
        keys = sorted({(d, o) for d, o, _ in counts})
        result["orders"] = {
            "file": str(orders), "count": len(base), "flipped": sum(flipped),
            "by_destination_and_outcome": [
                {"destination": d, "outcome": o, "baseline": counts[(d, o, "baseline")], "reform": counts[(d, o, "reform")]}
                for d, o in keys
            ],
            "by_outcome": {o: {"baseline": sum(1 for r in base if r["outcome"] == o), "reform": sum(1 for r in new if r["outcome"] == o)}
                           for o in sorted({r["outcome"] for r in base + new})},
        }
    if models:
        base = _run(base_store, _models, on, posture, model_to)
        new = _run(reform.store, _models, on, posture, model_to)
        flipped = [_model_answer(b) != _model_answer(n) for b, n in zip(base, new, strict=True)]
        cause = _attribute(reform, "model", lambda s, _n: [
            _model_answer(b) != _model_answer(x) for b, x in zip(base, _run(s, _models, on, posture, model_to), strict=True)])
        for i, (b, n) in enumerate(zip(base, new, strict=True)):
            if flipped[i]:
                flips.append({
                    "kind": "model", "item": b["model"], "on": on.isoformat(),
                    "what": f"weights exported US→{model_to} ({'published' if b['published'] else 'closed' if b['published'] is False else '?'})",
                    "baseline": _model_answer(b), "reform": _model_answer(n),
                    "rules": _rule_diff(b["rules"], n["rules"]),
                    "changes": _cause(reform, cause, i),
                })
        result["models"] = {"count": len(base), "flipped": sum(flipped), "export_to": model_to}
    result["flips"] = flips
    return result


# ---- views -----------------------------------------------------------------------------------


def answer_text(a: dict) -> str:
    if "outcome" in a:
        s = a["outcome"]
        if a.get("license_exception"):
            s += f" ({a['license_exception']})"
        if a.get("review_policy"):
            s += f" ({a['review_policy']})"
        if a.get("eccn"):
            s += f" [{a['eccn']}]"
        return s
    if a.get("needs_facts"):
        return "needs " + ", ".join(a["needs_facts"])
    return a.get("paragraph") or "not 3A090"


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

    from aiexport.commands.check import example_orders

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
        from aiexport.commands.check import example_orders

        chips = models = True
        orders = example_orders()
    try:
        return whatif(loaded, on=day, posture=posture, chips=chips, models=models, orders=orders,
                      order_on=parse_date(on), model_to=model_to.upper())
    except InputError as exc:
        fail([exc])


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
