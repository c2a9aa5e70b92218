"""`aiexport batch`: decide a whole order book (millions of lines) to Parquet or CSV."""

from __future__ import annotations

from pathlib import Path

import typer

from aiexport.commands.common import Posture, console, err_console, fail, parse_date
from aiexport.errors import InputError

EXIT_REJECTS = 3  # decided what could be decided; some rows were rejected (see the rejects file)


def _progress():
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    class Rate(TextColumn):
        def render(self, task):  # rows per second
            speed = task.finished_speed or task.speed
            return super().render(task) if speed is None else TextColumn(f"{speed:,.0f} rows/s").render(task)

    return Progress(
        TextColumn("[bold]deciding[/]"), BarColumn(), MofNCompleteColumn(), Rate(""), TimeElapsedColumn(),
        TextColumn("left"), TimeRemainingColumn(), console=err_console, disable=not err_console.is_terminal, transient=False,
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def batch(
        orders: Path = typer.Argument(..., help="Order book: CSV (the flat columns of `check`), Parquet, JSON Lines or XLSX."),
        out: Path = typer.Option(..., "-o", "--out", help="Decisions: .parquet or .csv, one row per decided line."),
        posture: Posture = typer.Option(Posture.enforced, "--posture", help="enforced (what BIS enforces) or codified (the CFR text)."),
        on: str = typer.Option(None, "--on", help="Decide every line as of this date (YYYY-MM-DD) instead of its own."),
        rejects: Path = typer.Option(None, "--rejects", help="Bad rows with row number, field and reason (.csv or .parquet; default OUT.rejects.csv)."),
        scheduler: str = typer.Option(None, "--scheduler", help="A Dask scheduler, tcp://HOST:PORT; input and output must be on storage every worker sees."),
        workers: int = typer.Option(None, "--workers", help="Start a local Dask cluster with N worker processes."),
        jobs: int = typer.Option(None, "--jobs", "-j", help="Processes deciding chunks at once on this machine (default: one per CPU core; 1: this process only).", min=1),
        chunk_size: int = typer.Option(None, "--chunk-size", help="Rows per chunk / partition (bounds the memory).", min=1),
        allow_extra_columns: bool = typer.Option(False, "--allow-extra-columns", help="Accept columns aiexport does not read (ERP exports); they are not carried into the output."),
    ) -> None:
        """Decide an order book at columnar speed: the same rules and values as `check`, bad rows to a rejects file."""
        from aiexport.batch.run import DEFAULT_CHUNK, cores, default_rejects, run

        day = parse_date(on)
        if out.suffix.lower() not in (".parquet", ".csv"):
            fail([InputError("command line", None, "-o", "an output file ending in .parquet or .csv", str(out))])
        rejects_path = rejects or default_rejects(out)
        size = chunk_size or DEFAULT_CHUNK
        try:
            if scheduler or workers:
                from aiexport.batch.cluster import run_dask

                summary = run_dask(orders, out, posture=posture.value, on=day, rejects_path=rejects_path, chunk_size=size,
                                   allow_extra=allow_extra_columns, scheduler=scheduler, workers=workers)
            else:
                with _progress() as bar:
                    task = bar.add_task("deciding", total=None)

                    def tick(done: int, total: int) -> None:
                        bar.update(task, completed=done, total=total)

                    summary = run(orders, out, posture=posture.value, on=day, rejects_path=rejects_path, chunk_size=size,
                                  allow_extra=allow_extra_columns, progress=tick, jobs=jobs or cores())
        except InputError as exc:
            fail([exc])
        outcomes = "  ".join(f"{k}: {v:,}" for k, v in sorted(summary.outcomes.items()))
        rate = summary.rows_in / summary.seconds if summary.seconds else 0
        console.print(
            f"lines in: {summary.rows_in:,} = decided {summary.decided:,} + rejected {summary.rejected:,}"
            + ("" if summary.reconciles else "  [bold red]DO NOT RECONCILE[/]"),
            highlight=False,
        )
        console.print(f"{outcomes}", highlight=False)
        console.print(
            f"{posture.value} posture; {summary.seconds:.2f} s ({rate:,.0f} lines/s); decisions: {out}"
            + (f"; rejects: {rejects_path}" if summary.rejected else "")
            + (f"; {summary.per_row:,} lines took check's per-row path (model weights, foundry role, datacenter override, a facts cell or a restricted-party match)" if summary.per_row else ""),
            highlight=False,
        )
        if "screened" in summary.screening:
            console.print(f"parties screened against {summary.screening['screened']}: {summary.party_hits:,} line(s) with a "
                          "restricted-party match, decided with the screening overlay of `check`", highlight=False)
        if "not_screened" in summary.screening:
            err_console.print(f"[yellow]note:[/] parties NOT screened against restricted-party lists"
                              f"{' in some chunks' if 'screened' in summary.screening else ''}: "
                              f"{summary.screening['not_screened']}", highlight=False)
        if not summary.reconciles:
            raise typer.Exit(70)
        if summary.rejected:
            raise typer.Exit(EXIT_REJECTS)
