"""Shared CLI helpers: output formats, postures, errors with exit code 2."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from typing import Annotated

import polars as pl
import typer
from rich.console import Console

from aiexport.errors import EXIT_BAD_INPUT, InputError, InputErrors

console = Console()
err_console = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Posture(StrEnum):
    enforced = "enforced"
    codified = "codified"


def parse_date(value: str | None, option: str = "--on") -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail([InputError("command line", None, option, "a date YYYY-MM-DD", value)])


def fail(errors: list[InputError], total: int | None = None) -> None:
    for e in errors:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
    if total is not None:
        if any(e.row is None for e in errors):
            err_console.print("The file was refused; nothing was classified.", highlight=False)
        else:
            rows = len({(e.file, e.row) for e in errors})
            err_console.print(f"{rows} of {total} rows rejected; nothing was classified.", highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def fail_input(exc: InputError | InputErrors) -> None:
    """An input error raised by the application layer, rendered as `fail` does (with the row
    count when the error carries one)."""
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    fail(errors, total=getattr(exc, "total", None))


def load_transactions(path, allow_extra_columns: bool = False):
    """The validated transactions of an order file (`app.decisions.load_transactions`); a bad
    file or row exits 2 naming the file, row and field."""
    from aiexport.app.decisions import load_transactions as load

    ignored: list[str] = []
    try:
        out = load(path, allow_extra_columns, ignored)
    except (InputError, InputErrors) as exc:
        fail_input(exc)
    if ignored:
        err_console.print(f"{path.name}: columns left out (--allow-extra-columns): {', '.join(ignored)}", highlight=False)
    return out


def emit_json(records: list[dict]) -> None:
    """The records as indented JSON, written by pydantic-core's encoder: Python's ``json`` indents
    in pure Python (4.1 s of a 100,000-line `check`; this 0.8 s). The text is that of
    ``json.dumps(records, indent=2, default=str)`` (non-ASCII escaped, a date as YYYY-MM-DD, an
    unknown type as its ``str``) but for a float in exponent form (1e-6, not 1e-06), a datetime
    (ISO 8601 with a T), and a set, enum or dataclass (its JSON value, not its ``str``)."""
    from pydantic_core import to_json

    sys.stdout.write(to_json(records, indent=2, ensure_ascii=True, fallback=str).decode() + "\n")


def emit_csv(records: list[dict]) -> None:
    flat = [
        {k: (json.dumps(v, default=str) if isinstance(v, list | dict) else v) for k, v in r.items()}
        for r in records
    ]
    sys.stdout.write(pl.DataFrame(flat, infer_schema_length=None).write_csv())




# ---- who acts (issue 12): the authenticated CLI identity, never a typed name ------------------

ActorOpt = Annotated[
    str | None,
    typer.Option("--actor", hidden=True, help="No longer accepted: the CLI acts as the configured local user."),
]


def no_actor(actor: str | None) -> None:
    """A typed name is not an identity: refuse `--actor` rather than ignore it (exit 2)."""
    if actor is not None:
        fail([InputError("command line", None, "--actor",
                         "no --actor: a typed name is not an identity; the CLI acts as the configured local user "
                         "(`aiexport users whoami`; before `users init`, the OS user as local:<name>; see docs/api.md)",
                         actor)])


def cli_actor(ledger, role: str, what: str):
    """For a CLI command that writes: the CLI's identity (`auth.service.cli_identity`) holding at
    least ROLE, else a one-line error and exit 77 (EX_NOPERM). Replaces `--actor NAME`, which
    proved nothing."""
    from aiexport.app.errors import AppError
    from aiexport.auth.service import cli_identity

    try:
        a = cli_identity(ledger)
        a.require(role, what)
        return a
    except AppError as exc:
        app_fail(exc)


def acting_user(ledger, role: str, what: str) -> str:
    """The authenticated actor's audit name (exit 77 with one line when the role is too low)."""
    return cli_actor(ledger, role, what).name


def app_fail(exc) -> typer.Exit:
    """An application-layer error (`app.errors.AppError`) as one line on stderr and its exit code
    (2 invalid / not found, 3 conflict, 75 busy, 77 not permitted)."""
    label = {3: "refused", 75: "busy", 77: "not permitted"}.get(exc.exit_code, "error")
    err_console.print(f"[bold red]{label}:[/] {exc.detail}", highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code) from None
