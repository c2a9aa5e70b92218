"""`aiexport veu`: validated end-user authorizations on record (15 CFR 748.15), like a licence.

    aiexport veu load FILE                         an officer loads a YAML/JSON file of authorizations
    aiexport veu show [ID]                         all on record, or one (reading needs no role)
    aiexport veu revoke ID --on DATE --reason TEXT an officer revokes one from DATE
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from aiexport.commands.common import Format, console, err_console, parse_date


def _ledger(db: str | None, read_only: bool = False):
    from aiexport.ledger import Ledger

    return Ledger(db, read_only=read_only)


def _fail(exc) -> None:
    from aiexport.app.errors import AppError
    from aiexport.commands.common import app_fail, fail
    from aiexport.errors import InputError

    if isinstance(exc, InputError):  # exit 2 naming file, entry and field
        fail([exc])
    if isinstance(exc, AppError):
        app_fail(exc)
    raise exc


def _table(rows: list[dict]) -> None:
    from rich.table import Column, Table

    t = Table(Column("id", no_wrap=True), "kind", "holder", "hq", "sites", "ECCNs", "valid", "allocation TPP", "status")
    for r in rows:
        sites = "; ".join(s["country"] + (f" ({s['address']})" if s.get("address") else "") for s in r["sites"])
        valid = f"{r['valid_from']} – {r['valid_to'] or 'open'}"
        status = r["status"] + (f" from {r['revoked_on']}: {r['revoked_reason']}" if r["revoked_on"] else "")
        t.add_row(r["id"], r["kind"], r["holder"], r["headquarters"] or "", sites, ", ".join(r["eccns"]), valid,
                  r["allocation_tpp"] or "", status)
    console.print(t)


def register(app: typer.Typer) -> None:
    veu = typer.Typer(help="Validated end-user authorizations on record (15 CFR 748.15): load, show, revoke.",
                      no_args_is_help=True)
    DB = typer.Option(None, "--db", help="Ledger database URL (default as for `ledger`).")

    @veu.command("load")
    def load(file: Path = typer.Argument(..., help="A YAML or JSON list of VEU authorizations."), db: str = DB) -> None:
        """Load VEU authorizations (officers). A bad file is refused whole, naming entry and field."""
        from aiexport.app import veu as uc
        from aiexport.app.errors import AppError
        from aiexport.commands.common import cli_actor
        from aiexport.errors import InputError

        with _ledger(db) as led:
            actor = cli_actor(led, "officer", "loading VEU authorizations")
            try:
                out = uc.load_file(led, actor, file)
            except (AppError, InputError) as exc:
                _fail(exc)
        err_console.print(f"Loaded {len(out['loaded'])} VEU authorizations from {file}"
                          + (f" ({len(out['unchanged'])} already on record with the same terms)" if out["unchanged"] else "")
                          + ".", highlight=False)
        sys.stdout.write(json.dumps(out) + "\n")

    @veu.command("show")
    def show(veu_id: str = typer.Argument(None, metavar="[ID]", help="One authorization; all when omitted."),
             fmt: Format = typer.Option(Format.table, "--format", help="table or json."), db: str = DB) -> None:
        """The VEU authorizations on record (or one)."""
        from aiexport.app import veu as uc
        from aiexport.app.errors import AppError
        from aiexport.ledger.db import NoLedger

        try:
            led = _ledger(db, read_only=True)
        except NoLedger:
            rows: list[dict] = []
            if veu_id is not None:
                err_console.print(f"[bold red]error:[/] no VEU authorization {veu_id!r} on record (no ledger database)")
                raise typer.Exit(2) from None
        else:
            with led:
                try:
                    rows = [uc.show(led, veu_id)] if veu_id is not None else uc.list_authorizations(led)
                except AppError as exc:
                    _fail(exc)
        if fmt == Format.json:
            sys.stdout.write(json.dumps(rows if veu_id is None else rows[0], indent=2) + "\n")
        elif not rows:
            err_console.print("No VEU authorizations on record (`aiexport veu load FILE`).")
        else:
            _table(rows)

    @veu.command("revoke")
    def revoke(veu_id: str = typer.Argument(..., metavar="ID"),
               on: str = typer.Option(..., "--on", help="The first day the authorization no longer authorizes (YYYY-MM-DD)."),
               reason: str = typer.Option(..., "--reason", help="Why (recorded in the audit chain)."),
               db: str = DB) -> None:
        """Revoke an authorization from a date (officers)."""
        from aiexport.app import veu as uc
        from aiexport.app.errors import AppError
        from aiexport.commands.common import cli_actor
        from aiexport.errors import InputError

        day = parse_date(on)
        with _ledger(db) as led:
            actor = cli_actor(led, "officer", "revoking a VEU authorization")
            try:
                out = uc.revoke(led, actor, veu_id, day, reason)
            except (AppError, InputError) as exc:
                _fail(exc)
        err_console.print(f"VEU authorization {veu_id} revoked from {day.isoformat()}.", highlight=False)
        sys.stdout.write(json.dumps(out) + "\n")

    app.add_typer(veu, name="veu")
