"""`aiexport check --record`: the CLI face of `aiexport.app.record` (progress bar, messages on
stderr, exit codes)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from aiexport.app.errors import Busy, Conflict
from aiexport.app.record import CHUNK as DEFAULT_CHUNK
from aiexport.app.record import Recorded, record_orders
from aiexport.commands.common import err_console, load_transactions

EXIT_REFUSED = 3
CHUNK = DEFAULT_CHUNK  # decisions per database transaction (tests make it small)


def check_and_record(path: Path, on: dt.date | None, posture: str, notices=None,
                     allow_extra_columns: bool = False) -> list[dict]:
    """Decide and record the orders of a file as the CLI's authenticated identity (an analyst or
    higher, `aiexport.commands.common.cli_actor`); prints what was recorded on stderr and returns
    the records for stdout."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from aiexport.app.record import open_ledger
    from aiexport.commands.common import cli_actor

    txs, numbers = load_transactions(path, allow_extra_columns)
    bar = Progress(TextColumn("recording"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=err_console, transient=True, disable=not err_console.is_terminal or len(txs) <= CHUNK)
    task = None

    def advance(n: int, total: int) -> None:
        nonlocal task
        if task is None:
            task = bar.add_task("record", total=total)
        bar.advance(task, n)

    try:
        ledger = open_ledger(len(txs))
        actor = cli_actor(ledger, "analyst", "recording decisions")
        with bar:
            done = record_orders(txs, numbers, str(path), on, posture, actor.name, notices=notices, ledger=ledger,
                                 chunk=CHUNK, progress=advance)
    except Conflict as exc:
        err_console.print(f"[bold red]refused:[/] {exc.detail}", highlight=False)
        raise typer.Exit(EXIT_REFUSED) from None
    except Busy as exc:
        err_console.print(f"[bold red]busy:[/] {exc.detail}", highlight=False)
        raise typer.Exit(exc.exit_code) from None
    report(done)
    return done.records


def report(done: Recorded) -> None:
    """What was recorded, on stderr (stdout stays the machine-readable result)."""
    if done.record_ids:
        ids = done.record_ids
        shown = "; ".join(done.draws[:10]) + (f"; and {len(done.draws) - 10} more" if len(done.draws) > 10 else "")
        refused = done.refused
        err_console.print(
            f"[bold]Recorded[/] {len(ids)} decisions (record ids {min(ids)}–{max(ids)}) in the ledger "
            f"({done.ledger_url}); {done.holds} holds opened for LICENSE_REQUIRED / NEEDS_FACTS"
            + (f" / a draw that did not fit ({len(refused)}: {', '.join(sorted(refused)[:5])})" if refused else "")
            + "." + (f" Draws: {shown}." if done.draws else ""),
            highlight=False,
        )
    if done.stored:
        err_console.print(f"{done.stored} of {done.total} orders were already recorded with the same content, date and "
                          "posture; their recorded decisions are shown.", highlight=False)
    if done.amended:
        listing = "; ".join(f"{a['id']} v{a['version']} supersedes record {a['supersedes_record']} ({a['decision_id']})"
                            for a in done.amended[:10])
        more = f" and {len(done.amended) - 10} more" if len(done.amended) > 10 else ""
        err_console.print(f"[bold yellow]amended:[/] {len(done.amended)} orders changed since they were recorded and were "
                          f"decided again: {listing}{more}. The old versions stay in the audit chain; their open holds "
                          "are closed as superseded and their draws returned.", highlight=False)
