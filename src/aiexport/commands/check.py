"""`aiexport check` and `aiexport explain`: license determinations, and the memo behind one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import typer
from rich.panel import Panel
from rich.table import Table

from aiexport.app.decisions import decide_checked, example_orders, explain_rows, tests_in_force
from aiexport.commands.common import (
    Format,
    Posture,
    console,
    emit_csv,
    emit_json,
    fail,
    fail_input,
    load_transactions,
    parse_date,
)
from aiexport.errors import InputError, InputErrors
from aiexport.law.decide import records, rule_info
from aiexport.law.metrics import MICRO

STYLE = {"NLR": "green", "LICENSE_EXCEPTION": "cyan", "LICENSE_REQUIRED": "red", "NEEDS_FACTS": "magenta"}


def run_check(path: Path, on: dt.date | None, posture: str, explain: bool = False, lpp_lookup=None, notices=None,
              allow_extra_columns: bool = False):
    txs, numbers = load_transactions(path, allow_extra_columns)
    return run_frame(txs, numbers, path, on, posture, explain, lpp_lookup, notices), txs


def run_frame(txs, numbers, path: Path, on, posture: str, explain: bool = False, lpp_lookup=None, notices=None) -> pl.DataFrame:
    """`app.decisions.decide_checked`, its input errors rendered (exit 2)."""
    try:
        return decide_checked(txs, numbers, str(path), on, posture, explain=explain, lpp_lookup=lpp_lookup, notices=notices)
    except (InputError, InputErrors) as exc:
        fail_input(exc)


# The table shows at most this many orders: Rich measures every cell before printing, and a
# 100,000-line book took minutes to lay out for a table no one reads row by row. The counts under
# it cover every order; --format json|csv (or `aiexport batch`) gives them all.
TABLE_ROWS = 1_000


def render_check(recs: list[dict], title: str) -> None:
    t = Table(title=title, header_style="bold")
    for c in ("id", "date", "route", "item", "qty", "ECCN", "outcome", "exception / review", "determining rules"):
        t.add_column(c, overflow="fold", justify="right" if c == "qty" else "left")
    if len(recs) > TABLE_ROWS:
        t.caption = (f"the first {TABLE_ROWS:,} of {len(recs):,} orders; the counts below cover all of them. "
                     "Every order: --format json or csv, or `aiexport batch`")
    for r in recs[:TABLE_ROWS]:
        style = STYLE[r["outcome"]]
        detail = r["license_exception"] or r["review_policy"] or ""
        if r["needs_facts"]:
            detail = "needs: " + ", ".join(f["fact"] for f in r["needs_facts"])
        t.add_row(
            r["id"], r["date"], f"{r['from']}→{r['to']}", r["item"] or "", f"{r['quantity']:,}",
            r["eccn"] or "—", f"[{style}]{r['outcome']}[/]", detail, ", ".join(r["rules"]),
        )
    console.print(t)


def demo_order_book(today: dt.date) -> None:
    path = example_orders()
    for posture in ("enforced", "codified"):
        recs = records(run_check(path, None, posture)[0])
        render_check(recs, f"Example order book ({path.name}), each order on its own date — {posture} posture")
    console.print(
        "[dim]The A800 order is free in June 2023 and needs a license in January 2024; the 2,000 H100s to India "
        "exceed LPP under the codified (Diffusion) text, which BIS has not enforced since 2025-05-13. "
        "Explain any order: aiexport explain <file> --id ORD-2026-010[/]"
    )


def _yn(v, in_force: bool = True) -> str:
    if not in_force:
        return "[dim]not in force[/]"
    return {True: "[green]holds[/]", False: "[dim]does not hold[/]", None: "[magenta]unknown[/]"}[v]


def render_memo(row: dict, other: dict, posture: str) -> None:
    title = f"Determination memo — {row['id']} ({posture} posture, rule set {row['rule_set']})"
    facts = [
        f"date {row['date']}; {row['kind']} from {row['from']} to {row['to_stated']}",
        f"item: {row['item_name']} × {row['quantity']:,}"
        + (f" — {row['system_tpp'] * row['quantity'] / MICRO:,.0f} TPP in all" if row["system_tpp"] is not None else ""),
        f"consignee: {row['c_name'] or '(unnamed)'}, located {row['c_country']}, headquarters {row['c_hq']}, ultimate parent {row['c_phq']}",
        f"end user: {row['e_name'] or '(as consignee)'}, located {row['e_country']}, headquarters {row['e_hq']}, ultimate parent {row['e_phq']}",
    ]
    console.print(Panel("\n".join(facts), title=title, border_style="cyan"))
    from aiexport.law.memo import build

    memo = build(row, posture, rule_info)
    console.print(Panel("\n".join(f"• {a}" for a in memo["assumptions"]), title="Assumptions this memo rests on", border_style="yellow"))
    if "subject_to_ear" in row:  # issue 10: subject to the EAR, Part 744/746, VEU — before the classification
        from aiexport.commands.memo_sections import render_reach

        render_reach(row)
        if row.get("veu_exceeded"):
            console.print("   → the VEU authorization does not apply: a ledger allocation limit would be exceeded")

    t = Table(title="1. Classification of the item", header_style="bold", show_lines=False)
    for c in ("rule", "citation", "", "detail"):
        t.add_column(c, overflow="fold")
    for r in row["item_reasons"] or []:
        t.add_row(r["rule"], r["citation"], _yn(r["held"]), r["detail"] or "")
    console.print(t)
    console.print(f"   → ECCN [bold]{row['eccn'] or 'none'}[/] ({row['paragraph'] or 'no advanced-computing paragraph'})")
    from aiexport.commands.memo_sections import render_screening  # restricted parties (issue 8)

    render_screening(row)

    steps = [
        ("2. License requirements", [
            ("no-license.us-destination", "t_us_destination"),
            ("742.6(a)(6)(ii).2022", "t_req_2022"),
            ("742.6(a)(6)(iii)", "t_req_dest"),
            (next((r for r in row["rules"] if r.endswith(".headquarters")), "742.6(a)(6)(iii)(A).headquarters"), "t_req_hq"),
            ("742.6(a)(6)(iii)(B).UAE", "t_req_uae"),
            ("91 FR 43034.license-free", "t_uae_license_free"),
            ("742.6(a)(6)(i)(B)", "t_req_c"),
            ("742.6(a)(6)(iii)(A).worldwide", "t_req_world"),
        ]),
        ("3. License exceptions, in order", [
            ("740.2(a)(9)(ii)", "t_restricted_9ii"),
            ("740.25.HBM", "t_hbm"),
            (f"740.8.{row['t_nac_code']}", "t_nac_aca"),
            ("740.27.AIA", "t_aia"),
            ("740.28.ACM", "t_acm"),
            ("740.29.LPP", "t_lpp"),
        ]),
    ]
    force = tests_in_force(row, posture)
    for title, rules in steps:
        t = Table(title=title, header_style="bold")
        for c in ("rule", "citation", "", "what it says"):
            t.add_column(c, overflow="fold")
        for rid, col in rules:
            cite, text = rule_info(rid)
            t.add_row(rid, cite, _yn(row[col], force.get(col, True)), text)
        console.print(t)
    if memo["exceptions"]:
        t = Table(title="License exceptions considered", header_style="bold")
        for c in ("exception", "", "condition"):
            t.add_column(c, overflow="fold")
        for e in memo["exceptions"]:
            t.add_row(e["exception"], e["status"], e["why"])
        console.print(t)
    if row["outcome"] == "LICENSE_REQUIRED":
        cite, text = rule_info(row["policy_rule"])
        console.print(f"4. Review policy: [bold]{row['review_policy'] or 'undetermined'}[/] — {row['policy_rule']} ({cite}): {text}")
    style = STYLE[row["outcome"]]
    summary = f"[bold {style}]{row['outcome']}[/]"
    if row["license_exception"]:
        summary += f" under License Exception {row['license_exception']}"
    if row["review_policy"]:
        summary += f", review policy: {row['review_policy']}"
    lines = [summary, "determining rules (CFR paragraph in force on the date first; later guidance as confirmation):"]
    lines += [f"  {d['rule']} — {d['role']} — {d['citation']}" for d in memo["determining"]]
    lines += [f"• obligation: {o}" for o in row["obligations"]]
    from aiexport.law.decide import question

    lines += [f"• needs: {f} — {question(f)}" for f in row["needs_facts"]]
    other_summary = other["outcome"] + (f" ({other['license_exception']})" if other["license_exception"] else "") + (
        f" ({other['review_policy']})" if other["review_policy"] else "")
    lines.append(f"Under the {other['posture']} posture ({other['rule_set']}) the answer would be: {other_summary}; rules: {', '.join(other['rules'])}")
    console.print(Panel("\n".join(lines), title="Outcome", border_style=style))


def _busy_status(file: Path):
    """A spinner on stderr for a file that takes more than a few seconds (a terminal only)."""
    from contextlib import nullcontext

    from aiexport.commands.common import err_console

    try:
        large = file.stat().st_size > 500_000
    except OSError:
        large = False
    if not (large and err_console.is_terminal):
        return nullcontext()
    return err_console.status(f"reading and deciding {file.name} …")


def _fast(file: Path, day, posture: str, allow_extra_columns: bool) -> list[dict] | None:
    """A long CSV file through the columnar path (`app.decisions.check_file_fast`), or None."""
    from aiexport.app.decisions import check_file_fast

    ignored: list[str] = []
    recs = check_file_fast(file, day, posture, allow_extra_columns=allow_extra_columns, ignored=ignored)
    if recs is not None and ignored:
        from aiexport.commands.common import err_console

        err_console.print(f"{file.name}: columns left out (--allow-extra-columns): {', '.join(ignored)}", highlight=False)
    return recs


def _notices(ids: list[str] | None, path: Path | None) -> list:
    from dataclasses import replace

    from aiexport.law.overlays import bundled_notice, load_notices

    try:
        out = [replace(bundled_notice(n), enabled=True) for n in ids or []]
        return out + (load_notices(path) if path else [])
    except InputError as exc:
        fail([exc])


def register(app: typer.Typer) -> None:
    @app.command()
    def check(
        file: Path = typer.Argument(..., help="Transactions: YAML, JSON or CSV."),
        on: str = typer.Option(None, "--on", help="Decide every transaction as of this date (YYYY-MM-DD) instead of its own."),
        posture: Posture = typer.Option(Posture.enforced, "--posture", help="enforced (what BIS enforces) or codified (the CFR text)."),
        fmt: Format = typer.Option(Format.table, "--format"),
        record: bool = typer.Option(False, "--record", help="Store each decision in the ledger (audit chain, holds, LPP/allocation draws)."),
        actor: str = typer.Option(None, "--actor", hidden=True, help="No longer accepted: the CLI acts as the configured local user."),
        notice: list[str] = typer.Option(None, "--notice", help="Enable a bundled notice (not CFR text) by id, e.g. h20-mi308-2025-04."),
        notices_file: Path = typer.Option(None, "--notices", help="Your own dated notices (YAML), applied with their own citation."),
        allow_extra_columns: bool = typer.Option(False, "--allow-extra-columns", help="CSV: leave out columns aiexport does not know (e.g. an ERP export), listing them, instead of refusing the file."),
    ) -> None:
        """Does each order need a license? Outcome, exception and obligations, review policy, and the rules."""
        day = parse_date(on)
        if actor is not None:
            fail([InputError("command line", None, "--actor", "no --actor: a typed name is not an identity; --record acts "
                             "as the configured local user (`aiexport users whoami`; before `users init`, the OS user "
                             "as local:<name>; see docs/api.md)", actor)])
        enabled = _notices(notice, notices_file)
        if record:
            from aiexport.commands.record import check_and_record

            recs = check_and_record(file, day, posture.value, notices=enabled,
                                    allow_extra_columns=allow_extra_columns)
        else:
            with _busy_status(file):
                recs = None if enabled else _fast(file, day, posture.value, allow_extra_columns)
                if recs is None:
                    recs = records(run_check(file, day, posture.value, notices=enabled, allow_extra_columns=allow_extra_columns)[0])
        before = [r["id"] for r in recs if str(r.get("rule_set") or "").startswith("R0:")]
        if before:
            from aiexport.commands.common import err_console

            err_console.print(
                f"[yellow]no rule in force:[/] {len(before)} order(s) ({', '.join(before[:5])}"
                f"{', …' if len(before) > 5 else ''}) are dated before the first advanced-computing rule "
                "(87 FR 62186, effective 2022-10-21); aiexport encodes no earlier rules, so their answer is "
                "\"no rule in force\" (rule set R0), not a determination under earlier law.", highlight=False)
        if fmt is Format.json:
            emit_json(recs)
        elif fmt is Format.csv:
            emit_csv(recs)
        else:
            render_check(recs, f"{file.name} — {posture.value} posture" + (f" as of {day}" if day else ""))
            counts = pl.DataFrame({"o": [r["outcome"] for r in recs]}).group_by("o").len()
            console.print("  ".join(f"[{STYLE[o]}]{o}[/]: {n}" for o, n in counts.sort("o").iter_rows()))

    @app.command()
    def explain(
        file: Path = typer.Argument(None, help="Transactions: YAML, JSON or CSV. Leave out to explain a recorded decision."),
        id: str = typer.Option(..., "--id", help="The transaction to explain; without FILE, a recorded decision id "
                               "(e.g. ORD-1@2025-06-02/codified, see `holds list`)."),
        on: str = typer.Option(None, "--on", help="Decide as of this date (YYYY-MM-DD) instead of the transaction's own."),
        posture: Posture = typer.Option(None, "--posture", help="enforced (default) or codified; a recorded decision uses its own."),
        notice: list[str] = typer.Option(None, "--notice", help="Enable a bundled notice by id (as with check)."),
        notices_file: Path = typer.Option(None, "--notices", help="Your own dated notices (YAML), as with check."),
        allow_extra_columns: bool = typer.Option(False, "--allow-extra-columns", help="CSV: leave out unknown columns (as with check)."),
        db: str = typer.Option(None, "--db", help="Ledger database URL, for a recorded decision (default as for `ledger`)."),
    ) -> None:
        """A determination memo: facts, each rule tried with its citation, outcome, obligations, and
        the other posture. Takes the options of `check` and gives the answer `check` gives; without
        FILE it explains a recorded decision from the inputs that were recorded."""
        day = parse_date(on)
        enabled = _notices(notice, notices_file)
        recorded = None
        if file is None:
            recorded, t, day, rec_posture, enabled = _recorded_decision(id, db, day, posture, enabled)
            posture = Posture(rec_posture)
            n, source = 1, f"ledger decision {recorded['decision_id']}"
        else:
            posture = posture or Posture.enforced
            txs, numbers = load_transactions(file, allow_extra_columns)
            chosen = [(t, n) for t, n in zip(txs, numbers, strict=True) if t.id == id]
            if not chosen:
                fail([InputError(str(file), None, "id", f"the id of a transaction in the file ({len(txs)} found)", id)])
            t, n = chosen[0]
            source = str(file)
        try:
            row, other = explain_rows(t, n, source, day, posture.value, enabled)
        except InputError as exc:
            fail([exc])
        if recorded is not None:
            _compare_with_record(recorded, row)
        if str(row.get("item_name") or "").startswith("model weights:"):
            from aiexport.commands.models import render_model_memo

            render_model_memo(row, other, posture.value)
            return
        render_memo(row, other, posture.value)


def _recorded_decision(decision_id: str, db: str | None, day, posture, enabled):
    """`app.decisions.recorded_decision`, with the options it overrides said on stderr."""
    from aiexport.app.decisions import recorded_decision
    from aiexport.commands.common import err_console

    try:
        r = recorded_decision(decision_id, db)
    except InputError as exc:
        fail([exc])
    if posture is not None and posture.value != r["posture"]:
        err_console.print(f"[dim]--posture {posture.value} ignored: the decision was recorded under {r['posture']}[/]")
    if day is not None and day != r["date"]:
        err_console.print(f"[dim]--on {day} ignored: the decision was recorded as of {r['date']}[/]")
    if r["unbundled_notices"]:
        err_console.print(f"[yellow]the decision applied notices {', '.join(r['unbundled_notices'])} that are not bundled: "
                          "give them with --notices[/]")
    return r["record"], r["transaction"], r["on"], r["posture"], r["notices"] or enabled


def _compare_with_record(rec: dict, row: dict) -> None:
    from aiexport.app.decisions import same_as_recorded

    d = rec["decision"]
    same = same_as_recorded(rec, row)
    line = (f"Recorded decision {rec['decision_id']} (record {rec['record_id']}, {d['rule_set']}, recorded "
            f"{rec['recorded_at']} by {rec['actor']}): {d['outcome']}"
            + (f" ({d['license_exception']})" if d.get("license_exception") else "") + ". ")
    if d.get("draws_refused"):
        line += "A draw did not fit when it was recorded: " + "; ".join(
            f"{x['account']} ({x['reason']})" for x in d["draws_refused"]) + ". "
    line += ("Decided again from the recorded inputs: the same answer." if same else
             f"[bold yellow]Decided again from the recorded inputs today's rules give {row['outcome']}: "
             "the rules or the ledger's LPP consumption changed since (the memo below is today's).[/]")
    console.print(line, highlight=False)
