"""`aiexport ledger`, `aiexport holds`, `aiexport audit`.

Exit codes: 0 done (or already done with this reference), 1 audit chain broken, 2 bad input,
3 refused by the ledger (over the limit, not valid on the date, conflicting with what is
recorded), 4 not permitted (not an officer), 75 busy (another writer held the database lock
past the busy timeout, AIEXPORT_BUSY_TIMEOUT seconds; retry).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.exc import ArgumentError, OperationalError

from aiexport.commands.common import (
    ActorOpt,
    Format,
    acting_user,
    app_fail,
    cli_actor,
    console,
    emit_csv,
    err_console,
    fail,
    no_actor,
    parse_date,
)
from aiexport.errors import InputError, InputErrors, is_lock_contention
from aiexport.ledger import canonical
from aiexport.ledger.amounts import AmountError, fmt, to_amount
from aiexport.ledger.errors import LedgerBusy, LedgerError
from aiexport.ledger.service import REJECT_CODES, RELEASE_CODES, Ledger, resolve_actor

ledger_app = typer.Typer(
    help="Licenses, allocations and quotas as accounts: open, draw, release, adjust, balance.",
    no_args_is_help=True,
)
holds_app = typer.Typer(
    help="Holds on LICENSE_REQUIRED / NEEDS_FACTS decisions; officers release or reject them.",
    no_args_is_help=True,
)
audit_app = typer.Typer(
    help="The hash-chained audit log of every entry and decision.", no_args_is_help=True
)


class Unit(StrEnum):
    tpp = "tpp"
    units = "units"
    usd = "usd"


class Kind(StrEnum):
    license = "license"
    allocation = "allocation"
    quota = "quota"


class HoldStatus(StrEnum):
    open = "open"
    released = "released"
    rejected = "rejected"
    all = "all"


DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: $AIEXPORT_DATABASE_URL, else ./aiexport.db if present, else the user data dir).",
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def _bad(field: str, expected: str, got: object = None) -> None:
    fail([InputError("command line", None, field, expected, got)])


def _amount(value: str, field: str, *, positive: bool = False, nonzero: bool = False) -> Decimal:
    try:
        d = to_amount(value)
    except AmountError as exc:
        _bad(field, str(exc), value)
    if positive and d <= 0:
        _bad(field, "a positive amount", value)
    if nonzero and d == 0:
        _bad(field, "a non-zero amount", value)
    if d < 0 and not nonzero:
        _bad(field, "an amount of zero or more", value)
    return d


def _text(value: str, field: str) -> str:
    if not value or not value.strip():
        _bad(field, "a non-empty text", value)
    return value


@contextmanager
def _ledger(db: str | None, read_only: bool = False) -> Iterator[Ledger]:
    from aiexport.ledger.db import NoLedger, display_url

    try:
        ledger = Ledger(db, read_only=read_only)
    except NoLedger as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except ArgumentError as exc:
        _bad("--db / AIEXPORT_DATABASE_URL", "a SQLAlchemy database URL", f"{db or ''} ({exc})")
    except OperationalError as exc:
        if is_lock_contention(exc):
            err_console.print(f"[bold red]busy:[/] {LedgerBusy(db or '')}.", highlight=False)
            raise typer.Exit(LedgerBusy.exit_code) from None
        err_console.print(
            f"[bold red]error:[/] cannot open the ledger database: {exc.orig}", highlight=False
        )
        raise typer.Exit(2) from None
    err_console.print(f"[dim]ledger: {display_url(ledger.url)}[/]", highlight=False, soft_wrap=True)
    try:
        yield ledger
    except LedgerError as exc:
        label = {2: "error", 3: "refused", 4: "not permitted", 75: "busy"}.get(exc.exit_code, "error")
        err_console.print(f"[bold red]{label}:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except InputErrors as exc:
        fail(exc.errors)
    except (AmountError, ValueError) as exc:
        field, _, expected = str(exc).partition(": ")
        if not expected:
            field, expected = "value", str(exc)
        _bad(field, expected)
    finally:
        ledger.close()


def _use(name: str, *args):
    """The application use case NAME (`aiexport.app.usecases`), its errors rendered as one line
    with their exit code — the same function the REST API calls."""
    from aiexport.app import usecases
    from aiexport.app.errors import AppError

    try:
        return getattr(usecases, name)(*args)
    except AppError as exc:
        app_fail(exc)


def _emit(obj: object) -> None:
    sys.stdout.write(canonical.dumps(obj, indent=2) + "\n")


def _show_balance(b: dict, title: str | None = None) -> None:
    if title:
        console.print(title, highlight=False)
    console.print(
        f"{b['account']}: limit {fmt(b['limit'])} {b['unit']}, drawn {fmt(b['drawn'])}, "
        f"remaining {fmt(b['remaining'])}",
        highlight=False,
    )


def _balance_json(b: dict) -> dict:
    keys = ("account", "limit", "drawn", "remaining", "unit", "kind", "valid_from", "valid_to")
    return {k: b[k] for k in keys if k in b}


_NUMERIC = {"id", "seq", "qty", "limit", "drawn", "remaining", "amount", "drawn_after", "remaining_after"}


def _table(rows: list[dict], columns: list[str], title: str | None = None) -> None:
    # Fits the terminal (80 columns included): long cells wrap inside their column on purpose.
    t = Table(title=title, header_style="bold")
    for c in columns:
        if c in _NUMERIC:
            t.add_column(c, justify="right", no_wrap=True)
        else:
            t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(
            *[
                "" if r.get(c) is None else (fmt(r[c]) if isinstance(r[c], Decimal) else str(r[c]))
                for c in columns
            ]
        )
    console.print(t)


def _rows_out(
    rows: list[dict], columns: list[str], format: Format, title: str | None = None
) -> None:
    if format == Format.json:
        _emit(rows)
    elif format == Format.csv:
        if not rows:
            sys.stdout.write(",".join(columns) + "\n")
            return
        emit_csv(
            [
                {c: (fmt(r[c]) if isinstance(r.get(c), Decimal) else r.get(c)) for c in columns}
                for r in rows
            ]
        )
    else:
        _table(rows, columns, title)


# ----------------------------------------------------------------------------- ledger


@ledger_app.command("init")
def init_cmd(db: DbOpt = None) -> None:
    """Create or upgrade the schema (runs the Alembic migrations; also done on first use)."""
    from aiexport.ledger import db as dbmod

    with _ledger(db) as ledger:
        rev = dbmod.current_revision(ledger.engine)
        console.print(
            f"ledger schema at revision {rev} ({ledger.engine.url.render_as_string(hide_password=True)})",
            highlight=False,
        )


@ledger_app.command("open")
def open_cmd(
    account: Annotated[
        str,
        typer.Argument(
            help="Account name, e.g. license:D123456, lpp:ACME:2025, allocation:IN:2025-2027."
        ),
    ],
    limit: Annotated[str, typer.Option("--limit", help="Authorised amount (exact decimal).")],
    unit: Annotated[Unit, typer.Option("--unit")] = Unit.tpp,
    kind: Annotated[Kind, typer.Option("--kind")] = Kind.license,
    valid_from: Annotated[
        str | None, typer.Option("--valid-from", help="First valid day YYYY-MM-DD.")
    ] = None,
    valid_to: Annotated[
        str | None, typer.Option("--valid-to", help="Last valid day YYYY-MM-DD.")
    ] = None,
    destination: Annotated[
        str | None, typer.Option("--destination", help="Destination country (ISO alpha-2).")
    ] = None,
    consignee: Annotated[
        str | None, typer.Option("--consignee", help="Ultimate consignee.")
    ] = None,
    item: Annotated[
        list[str] | None, typer.Option("--item", help="Authorised item (repeatable).")
    ] = None,
    actor: ActorOpt = None,
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Open a license, allocation or quota account (re-opening with the same terms is a no-op)."""
    limit_d = _amount(limit, "--limit")
    vf, vt = parse_date(valid_from, "--valid-from"), parse_date(valid_to, "--valid-to")
    if vf and vt and vt < vf:
        _bad("--valid-to", f"a date on or after --valid-from {vf}", valid_to)
    attrs = {
        k: v
        for k, v in (
            ("destination", destination),
            ("consignee", consignee),
            ("items", item or None),
        )
        if v
    }
    no_actor(actor)
    with _ledger(db) as ledger:
        actor = acting_user(ledger, "officer", "opening a ledger account")
        bal, created = ledger.open_account(
            account,
            limit_d,
            unit=unit.value,
            kind=kind.value,
            valid_from=vf,
            valid_to=vt,
            attributes=attrs,
            actor=actor,
        )
    out = {"status": "opened" if created else "already_open", **_balance_json(bal.as_dict())}
    if format == Format.json:
        _emit(out)
    else:
        _show_balance(out, f"{'opened' if created else 'already open'} {kind.value} {account}")


@ledger_app.command("draw", context_settings={"ignore_unknown_options": True})
def draw_cmd(
    account: Annotated[str, typer.Argument(help="Account to draw from.")],
    amount: Annotated[
        str, typer.Argument(help="Amount to draw (exact decimal, in the account's unit).")
    ],
    ref: Annotated[
        str, typer.Option("--ref", help="Idempotency reference (order line, shipment id).")
    ],
    on: Annotated[
        str | None,
        typer.Option("--on", help="Date the draw is for (validity check), default today."),
    ] = None,
    actor: ActorOpt = None,
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Draw AMOUNT atomically: exit 0 drawn (or already drawn with REF); exit 3, nothing drawn, if it does not fit."""
    amount_d = _amount(amount, "AMOUNT", positive=True)
    _text(ref, "--ref")
    on_d = parse_date(on, "--on") or dt.date.today()
    from aiexport.ledger.errors import DrawRefused

    no_actor(actor)
    with _ledger(db) as ledger:
        actor = acting_user(ledger, "analyst", "drawing from a ledger account")
        try:
            r = ledger.draw(account, amount_d, ref, actor=actor, on=on_d)
        except DrawRefused as exc:
            if format == Format.json:
                _emit(
                    {
                        "status": "refused",
                        "account": account,
                        "amount": amount_d,
                        "ref": ref,
                        "remaining": exc.remaining,
                        "unit": exc.unit,
                        "reason": exc.reason,
                    }
                )
            raise
    if format == Format.json:
        _emit(r.as_dict())
    else:
        what = "drew" if r.status == "drawn" else "already drawn:"
        note = " (since released)" if r.released else ""
        console.print(
            f"{what} {fmt(r.amount)} {r.unit} from {r.account} (ref {r.ref}){note}; remaining {fmt(r.remaining)} {r.unit}",
            highlight=False,
        )


@ledger_app.command("release")
def release_cmd(
    account: Annotated[str, typer.Argument()],
    ref: Annotated[str, typer.Option("--ref", help="Reference of the draw to release.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (order cancelled, shipment returned).")
    ],
    actor: ActorOpt = None,
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Return a draw's amount to the account (idempotent)."""
    _text(reason, "--reason")
    no_actor(actor)
    with _ledger(db) as ledger:
        out = _use("release_draw", ledger, cli_actor(ledger, "officer", "releasing a draw"), account, ref, reason)
    if format == Format.json:
        _emit(out)
    else:
        _show_balance(out, f"{out['status'].replace('_', ' ')} {ref}")


@ledger_app.command("adjust", context_settings={"ignore_unknown_options": True})
def adjust_cmd(
    account: Annotated[str, typer.Argument()],
    amount: Annotated[
        str, typer.Argument(help="Correction of the drawn amount: +N consumes, -N restores.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
    actor: ActorOpt = None,
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Correct an account's drawn amount with a reason (recorded with the actor)."""
    amount_d = _amount(amount, "AMOUNT", nonzero=True)
    _text(reason, "--reason")
    no_actor(actor)
    with _ledger(db) as ledger:
        out = _use("adjust", ledger, cli_actor(ledger, "officer", "adjusting a ledger account"), account, amount_d, reason)
    if format == Format.json:
        _emit(out)
    else:
        _show_balance(out, f"adjusted by {fmt(amount_d)}")


@ledger_app.command("balance")
def balance_cmd(
    account: Annotated[str, typer.Argument()],
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Limit, drawn and remaining (derived from the entries)."""
    with _ledger(db, read_only=True) as ledger:
        b = _balance_json(ledger.balance(account).as_dict())
    if format == Format.json:
        _emit(b)
    else:
        _show_balance(b)


@ledger_app.command("history")
def history_cmd(
    account: Annotated[str, typer.Argument()],
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Every entry of an account, oldest first, with the running balance."""
    with _ledger(db, read_only=True) as ledger:
        rows = ledger.history(account)
    if format == Format.table:
        for r in rows:
            r["date"] = (r.get("on") or r["created_at"][:10])
        _rows_out(rows, ["id", "date", "kind", "amount", "ref", "actor", "drawn_after", "remaining_after"], format,
                  title=account)
        return
    cols = [
        "id",
        "created_at",
        "kind",
        "amount",
        "ref",
        "reason",
        "actor",
        "on",
        "decision_id",
        "drawn_after",
        "remaining_after",
    ]
    _rows_out(rows, cols, format, title=account)


@ledger_app.command("list")
def list_cmd(db: DbOpt = None, format: FormatOpt = Format.table) -> None:
    """All accounts with their balances."""
    with _ledger(db, read_only=True) as ledger:
        rows = [_balance_json(b.as_dict()) for b in ledger.accounts()]
    if format == Format.table:
        for r in rows:
            r["valid"] = f"{r['valid_from'] or '…'}…{r['valid_to'] or '…'}"
        _rows_out(rows, ["account", "kind", "unit", "limit", "drawn", "remaining", "valid"], format)
        return
    _rows_out(
        rows,
        ["account", "kind", "unit", "limit", "drawn", "remaining", "valid_from", "valid_to"],
        format,
    )


# ----------------------------------------------------------------------------- holds


@holds_app.command("list")
def holds_list(
    status: Annotated[HoldStatus, typer.Option("--status")] = HoldStatus.open,
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Holds (open ones by default)."""
    with _ledger(db, read_only=True) as ledger:
        rows = ledger.holds(None if status == HoldStatus.all else status.value)
    if format == Format.json:
        _emit(rows)
        return
    for r in rows:
        _hold_view(r)
    if format == Format.table:
        _rows_out(rows, ["id", "order", "outcome", "item", "qty", "consignee", "status", "why"], format)
        return
    _rows_out(
        rows,
        [
            "id",
            "decision_id",
            "outcome",
            "item",
            "qty",
            "consignee",
            "status",
            "created_at",
            "created_by",
            "resolved_by",
            "reason_code",
            "reason_text",
        ],
        format,
    )


def _hold_view(r: dict) -> None:
    """What an officer needs to act on a hold: the order, item, quantity, consignee and why."""
    d = r.get("decision") or {}
    inputs = d.get("inputs") or {}
    rec = d.get("record") or {}
    consignee = inputs.get("consignee") or {}
    r["order"] = r["decision_id"]
    r["item"] = rec.get("item") or _item_label(inputs.get("item"))
    r["qty"] = inputs.get("quantity")
    r["consignee"] = f"{consignee.get('name') or '(unnamed)'} ({consignee.get('country', '?')})"
    why = []
    if d.get("draws_refused"):
        why.append("draw refused: " + ", ".join(x["account"] for x in d["draws_refused"]))
    if d.get("needs_facts"):
        why.append("needs: " + ", ".join(d["needs_facts"]))
    if d.get("review_policy"):
        why.append(f"review: {d['review_policy']}")
    if r.get("status") != "open" and r.get("reason_code"):
        why.append(f"{r['reason_code']} by {r.get('resolved_by')}")
    r["why"] = "; ".join(why)


def _item_label(item: object) -> str:
    if isinstance(item, dict):
        for k in ("chip", "model"):
            if isinstance(item.get(k), str):
                return item[k]
        if isinstance(item.get("server"), list):
            return "server"
    return "?"


def _resolve(action: str, hold_id: int, reason_code: str, reason: str, actor, db, format) -> None:
    codes = RELEASE_CODES if action == "release" else REJECT_CODES
    if reason_code not in codes:
        _bad("--reason-code", "one of " + ", ".join(codes), reason_code)
    _text(reason, "--reason")
    no_actor(actor)
    with _ledger(db) as ledger:
        from pydantic import ValidationError

        from aiexport.app.models import HoldAction

        try:
            body = HoldAction(reason_code=reason_code, reason=reason)
        except ValidationError as exc:
            e = exc.errors()[0]
            _bad("--reason-code" if e["loc"][0] == "reason_code" else "--reason", e["msg"].lower(), e.get("input"))
        who = cli_actor(ledger, "officer", f"{action} of a hold")
        out = _use("resolve_hold", ledger, who, hold_id, action, body)
    if format == Format.json:
        _emit(out)
    else:
        console.print(
            f"hold {hold_id} {out['status']} by {out['resolved_by']} ({reason_code}: {reason})",
            highlight=False,
        )


@holds_app.command("release")
def holds_release(
    hold_id: Annotated[int, typer.Argument(help="Hold id (see `holds list`).")],
    reason_code: Annotated[
        str, typer.Option("--reason-code", help="One of " + ", ".join(RELEASE_CODES))
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Free text: license number, facts confirmed, ...")
    ],
    actor: ActorOpt = None,
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Release a hold (officers only)."""
    _resolve("release", hold_id, reason_code, reason, actor, db, format)


@holds_app.command("reject")
def holds_reject(
    hold_id: Annotated[int, typer.Argument(help="Hold id (see `holds list`).")],
    reason_code: Annotated[
        str, typer.Option("--reason-code", help="One of " + ", ".join(REJECT_CODES))
    ],
    reason: Annotated[str, typer.Option("--reason", help="Free text.")],
    actor: ActorOpt = None,
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Reject a held transaction (officers only)."""
    _resolve("reject", hold_id, reason_code, reason, actor, db, format)


def _roles_moved(user: str, role: str) -> None:
    err_console.print(
        f"[bold red]error:[/] roles are users' roles now: `aiexport users add {user} --role {role}` (an admin; "
        "`aiexport users init NAME` creates the first admin). A typed name is not an identity, so the ledger's own "
        "officer grant is no longer a CLI command.", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@holds_app.command("grant", hidden=True)
def holds_grant(
    user: Annotated[str, typer.Argument(help="User to make an officer.")],
    actor: ActorOpt = None,
    db: DbOpt = None,
) -> None:
    """Replaced by `aiexport users add NAME --role officer` (an admin)."""
    _roles_moved(user, "officer")


@holds_app.command("revoke", hidden=True)
def holds_revoke(
    user: Annotated[str, typer.Argument()],
    actor: ActorOpt = None,
    db: DbOpt = None,
) -> None:
    """Replaced by `aiexport users add NAME --role analyst` or `aiexport users disable NAME` (an admin)."""
    _roles_moved(user, "analyst")


@holds_app.command("officers")
def holds_officers(db: DbOpt = None, format: FormatOpt = Format.table) -> None:
    """Users with the officer role."""
    with _ledger(db, read_only=True) as ledger:
        rows = ledger.officers()
    _rows_out(rows, ["name", "role", "granted_by", "granted_at"], format)


# ----------------------------------------------------------------------------- audit


KeyFileOpt = Annotated[
    Path | None,
    typer.Option("--key-file", help="A secret key file: sign the checkpoint (HMAC-SHA256), or check its signature."),
]


def _key(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        _bad("--key-file", "a readable key file", f"{path}: {exc.strerror}")
    if len(key) < 16:
        _bad("--key-file", "a key of at least 16 bytes", f"{len(key)} bytes")
    return key


@audit_app.command("checkpoint")
def audit_checkpoint(
    key_file: KeyFileOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the checkpoint to this file.")] = None,
    db: DbOpt = None,
) -> None:
    """Print the chain's head (seq, hash, entries, time) as JSON, to keep somewhere the database's
    administrators cannot write (a ticket, an email, WORM storage). `audit verify --against` then
    detects the last entries being deleted, or the chain being rewritten, since."""
    key = _key(key_file)
    with _ledger(db, read_only=True) as ledger:
        cp = ledger.checkpoint(key)
    text = canonical.dumps(cp, indent=2) + "\n"
    if out is not None:
        out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)


@audit_app.command("verify")
def audit_verify(
    against: Annotated[
        Path | None, typer.Option("--against", help="A checkpoint printed earlier by `audit checkpoint`.")
    ] = None,
    key_file: KeyFileOpt = None,
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Walk the chain; exit 0 when intact, 1 naming the first broken entry. With --against, also
    detect truncation (the last entries deleted and the head moved back) since the checkpoint."""
    from aiexport.io.files import read_document
    from aiexport.ledger.service import check_checkpoint

    cp = None
    if against is not None:
        try:
            cp = check_checkpoint(read_document(against), _key(key_file))
        except InputError as exc:
            fail([exc])
        except ValueError as exc:
            field, _, expected = str(exc).partition(": ")
            fail([InputError(str(against), None, None, expected or str(exc))])
    with _ledger(db, read_only=True) as ledger:
        r = ledger.verify(against=cp)
    if format == Format.json:
        _emit(r.as_dict())
    elif r.ok:
        console.print(
            f"audit chain intact: {r.checked} entries, head #{r.head_seq} {r.head_hash}"
            + (f"; it extends the checkpoint of {cp['time']} (#{cp['seq']})" if cp else ""),
            highlight=False,
        )
    else:
        err_console.print(
            f"[bold red]audit chain broken:[/] {r.first}", highlight=False, soft_wrap=True
        )
        for p in r.problems[1:5]:
            err_console.print(f"  also: {p}", highlight=False, soft_wrap=True)
    if not r.ok:
        raise typer.Exit(1)


@audit_app.command("log")
def audit_log(
    limit: Annotated[int, typer.Option("--limit", min=1, help="The last N entries.")] = 20,
    db: DbOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """The last entries of the audit log."""
    with _ledger(db, read_only=True) as ledger:
        rows = ledger.audit_log(limit)
    if format == Format.json:
        _emit(rows)
        return
    for r in rows:
        r["summary"] = canonical.dumps(r["payload"])[:100]
        if format == Format.table:
            r["hash"] = r["hash"][:12] + "…"
            r["summary"] = r["summary"][:60]
    _rows_out(rows, ["seq", "kind", "subject", "hash", "summary"], format)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
    app.add_typer(holds_app, name="holds")
    app.add_typer(audit_app, name="audit")


__all__ = ["register", "resolve_actor"]
