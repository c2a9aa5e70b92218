"""`aiexport models`: the bundled AI-model catalog under ECCN 4E091, and `aiexport models estimate`:
training operations from facts people know (each figure labelled as an estimate with its formula)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import typer
from rich.table import Table

from aiexport.app.modelweights import PRECISIONS, _ratio, catalog_records, estimate, estimate_record  # noqa: E402,F401
from aiexport.catalog import ATTRIBUTION
from aiexport.commands.common import Format, Posture, console, emit_csv, emit_json, fail, parse_date
from aiexport.errors import InputError
from aiexport.law import models as law

# The outcome colours of `check` (commands/check.py STYLE); importing them from check made a cycle.
STYLE = {"NLR": "green", "LICENSE_EXCEPTION": "cyan", "LICENSE_REQUIRED": "red", "NEEDS_FACTS": "magenta"}


def render(recs: list[dict], title: str) -> None:
    t = Table(title=title, header_style="bold")
    for c in ("model", "organization", "released", "training ops (Epoch est.)", "vs 10^26", "weights", "4E091 status"):
        t.add_column(c, overflow="fold", justify="right" if c in ("training ops (Epoch est.)", "vs 10^26") else "left")
    for r in recs:
        ratio = r["share_of_threshold"]
        if ratio is None:
            dist = "—"
        elif ratio >= 1:
            dist = f"[red]{ratio:.1f}× above[/]"
        else:
            dist = f"{r['times_below_threshold']:,}× below"
        colour = "red" if r["eccn"] else ("magenta" if r["status"].startswith("needs") else "green")
        t.add_row(r["model"], r["organization"], r["released"], law.sci(Fraction(r["training_operations_exact"]) if r["training_operations_exact"] else None),
                  dist, {True: "published", False: "closed", None: "?"}[r["published"]], f"[{colour}]{r['status']}[/]")
    console.print(t)


def _frac(value: str | None, option: str) -> Fraction | None:
    if value is None:
        return None
    try:
        return law.operations(value, option)
    except law.ModelFactsError:
        fail([InputError("command line", None, option, "a non-negative number, e.g. 14.8e12", value)])


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(help="AI models under ECCN 4E091: the bundled catalog, and training-operations estimates.",
                             invoke_without_command=True, no_args_is_help=False)

    @models_app.callback()
    def list_models(
        ctx: typer.Context,
        on: str = typer.Option(None, "--on", help="Date YYYY-MM-DD (default: today)."),
        posture: Posture = typer.Option(Posture.enforced, "--posture"),
        fmt: Format = typer.Option(Format.table, "--format"),
    ) -> None:
        """List the bundled models with their 4E091 status and distance to 10^26 operations."""
        if ctx.invoked_subcommand is not None:
            return
        day = parse_date(on) or dt.date.today()
        recs = catalog_records(day, posture.value)
        if fmt is Format.json:
            emit_json(recs)
        elif fmt is Format.csv:
            emit_csv(recs)
        else:
            render(recs, f"AI models and ECCN 4E091 on {day} ({posture.value} posture)")
            above = [r for r in recs if r["share_of_threshold"] and r["share_of_threshold"] >= 1]
            console.print(f"{len(above)} of {len(recs)} models are estimated at or above 10^26 operations; "
                          "operations are Epoch AI estimates, not official figures. 4E091 classifies the weights; "
                          "whether a license binds depends on the date and posture — `aiexport check` with item {model: NAME}.")
            console.print(f"[dim]{ATTRIBUTION}[/]")

    @models_app.command("estimate")
    def estimate_cmd(
        parameters: str = typer.Option(None, "--parameters", help="Total parameters (dense), e.g. 405e9."),
        active_parameters: str = typer.Option(None, "--active-parameters", help="Active parameters per token (mixture-of-experts), e.g. 37e9."),
        tokens: str = typer.Option(None, "--tokens", help="Training tokens, e.g. 14.8e12."),
        gpu_hours: str = typer.Option(None, "--gpu-hours", help="Accelerator-hours of training, e.g. 2.788e6."),
        chip: str = typer.Option(None, "--chip", help="A catalog chip, e.g. 'H800 SXM'."),
        precision: str = typer.Option("fp16", "--precision", help="Peak dense precision: " + ", ".join(PRECISIONS)),
        utilisation: str = typer.Option(None, "--utilisation", help="Model FLOP utilisation 0-1 (default 0.4, labelled as assumed)."),
        fmt: Format = typer.Option(Format.table, "--format"),
    ) -> None:
        """Estimate training operations: 6 × parameters × tokens, or GPU-hours × peak × utilisation."""
        if precision not in PRECISIONS:
            fail([InputError("command line", None, "--precision", "one of " + ", ".join(PRECISIONS), precision)])
        try:
            rec = estimate_record(parameters=_frac(parameters, "--parameters"),
                                  active_parameters=_frac(active_parameters, "--active-parameters"),
                                  tokens=_frac(tokens, "--tokens"), gpu_hours=_frac(gpu_hours, "--gpu-hours"), chip=chip,
                                  precision=precision, utilisation=_frac(utilisation, "--utilisation"))
        except InputError as exc:
            fail([exc])
        if fmt is Format.json:
            emit_json([rec])
            return
        side = "at or above" if rec["at_or_above_threshold"] else "below"
        console.print(f"[bold]ESTIMATE[/] of training operations: [bold]{rec['operations_text']}[/]\n"
                      f"  formula: {rec['formula']}\n  basis: {rec['basis']}\n"
                      f"  {rec['share_of_threshold']:.3g} × the 4E091 threshold of 10^26 ({side}). "
                      "An estimate, not a classification: state the operations you count in item.model_facts.training_operations.")

    app.add_typer(models_app, name="models")


def render_model_memo(row: dict, other: dict, posture: str) -> None:
    """`aiexport explain` for an export of model weights (ECCN 4E091)."""
    from rich.panel import Panel

    from aiexport.law.facts import question

    facts = [
        f"date {row['date']}; {row['kind']} from {row['from']} to {row['to_stated']}",
        f"item: {row['item_name']}",
        f"consignee: {row['c_name'] or '(unnamed)'}, located {row['c_country']}, headquarters {row['c_hq']}, ultimate parent {row['c_phq']}",
        f"end user: {row['e_name'] or '(as consignee)'}, located {row['e_country']}, headquarters {row['e_hq']}, ultimate parent {row['e_phq']}",
    ]
    console.print(Panel("\n".join(facts), title=f"Determination memo — {row['id']} ({posture} posture, rule set {row['rule_set']})", border_style="cyan"))
    from aiexport.law.memo import assumptions  # issue 9: every memo states what it rests on

    console.print(Panel("\n".join(f"• {a}" for a in assumptions(row, posture)), title="Assumptions this memo rests on", border_style="yellow"))
    t = Table(title="1. ECCN 4E091: counting operations and the exclusions", header_style="bold")
    for c in ("rule", "citation", "", "detail"):
        t.add_column(c, overflow="fold")
    for r in row["item_reasons"] or []:
        held = {True: "[green]holds[/]", False: "[dim]does not hold[/]", None: "[magenta]unknown[/]"}[r["held"]]
        t.add_row(r["rule"], r["citation"], held, r["detail"] or "")
    console.print(t)
    t = Table(title="2. License requirement, exception, review policy", header_style="bold")
    for c in ("rule", "citation", "what it says"):
        t.add_column(c, overflow="fold")
    for rid in row["rules"]:
        r = law.RULES.get(rid)
        if r and rid not in {x["rule"] for x in row["item_reasons"] or []}:
            t.add_row(rid, r.cite, r.text)
    console.print(t)
    style = STYLE[row["outcome"]]
    summary = f"[bold {style}]{row['outcome']}[/]" + (f" under License Exception {row['license_exception']}" if row["license_exception"] else "") + (
        f", review policy: {row['review_policy']}" if row["review_policy"] else "")
    lines = [summary, "determining rules: " + ", ".join(row["rules"])]
    lines += [f"• obligation: {o}" for o in row["obligations"]]
    lines += [f"• needs: {f} — {question(f)}" for f in row["needs_facts"]]
    lines.append(f"Under the {other['posture']} posture ({other['rule_set']}) the answer would be: {other['outcome']}"
                 + (f" ({other['license_exception']})" if other["license_exception"] else "") + f"; rules: {', '.join(other['rules'])}")
    console.print(Panel("\n".join(lines), title="Outcome", border_style=style))
