"""`aiexport screen`: restricted-party screening with explained matches; `aiexport disposition`.

Contract (other tools rely on it): ``aiexport screen [NAME ...] [--parties FILE] [--country CC]
[--threshold T] [--format table|json|csv]``. JSON is an array with one object per query: ``id``,
``query``, ``country``, ``status`` (``clear`` | ``potential_match``), ``matches`` (best first:
``list``, ``entry_id``, ``name``, ``matched_name``, ``score``, ``countries``, ``federal_register``,
``license_requirement``, ``explanation``, …). Exit 0 when every query was screened, whatever the
result; 2 for bad input (file, row and field named).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import pycountry
import typer
from rich.table import Table

from aiexport.commands.common import (
    ActorOpt,
    Format,
    acting_user,
    console,
    err_console,
    fail,
    no_actor,
)
from aiexport.errors import InputError
from aiexport.screening.match import THRESHOLD, Index

disposition_app = typer.Typer(help="Dispositions of potential matches (false positive / confirmed), recorded in the audit chain.",
                              no_args_is_help=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default: $AIEXPORT_DATABASE_URL, else ./aiexport.db, else the user data dir).")]
MAX_PARTIES = 1_000_000


def country_arg(value: str | None, file: str, row: int | None, field: str) -> str | None:
    if value is None or not str(value).strip():
        return None
    code = str(value).strip().upper()
    if len(code) != 2 or (pycountry.countries.get(alpha_2=code) is None and code not in ("XK",)):
        raise InputError(file, row, field, "an ISO 3166-1 alpha-2 country code (e.g. CN, HK, DE) or nothing", value)
    return code


def read_parties(path: Path) -> list[tuple[str | None, str, str | None]]:
    """CSV / JSON / YAML with id, name, country (country optional; id defaults to the row number)."""
    from aiexport.io.files import read_document

    src = str(path)
    if not path.is_file():
        raise InputError(src, None, None, "an existing parties file (CSV, JSON or YAML with id,name,country)")
    if path.suffix.lower() == ".csv":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(src, None, None, "UTF-8 text", f"byte at offset {exc.start}") from None
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in (reader.fieldnames or [])]
        if "name" not in header:
            raise InputError(src, None, "name", "a header with the columns id,name,country (country optional)", ",".join(header))
        reader.fieldnames = header
        rows = []
        for i, r in enumerate(reader, start=1):
            if None in r:
                raise InputError(src, i, None, f"{len(header)} cells, like the header", f"{len(header) + len(r[None])} cells")
            rows.append(r)
    else:
        doc = read_document(path)
        rows = doc.get("parties") if isinstance(doc, dict) else doc
        if not isinstance(rows, list):
            raise InputError(src, None, None, "a list of parties (or {parties: [...]}) each with id, name, country")
    if not rows:
        raise InputError(src, None, None, "at least one party")
    if len(rows) > MAX_PARTIES:
        raise InputError(src, None, None, f"at most {MAX_PARTIES:,} parties per file", len(rows))
    out, errors = [], []
    for i, r in enumerate(rows, start=1):
        if not isinstance(r, dict):
            errors.append(InputError(src, i, None, "an object with id, name, country", type(r).__name__))
            continue
        name = r.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(InputError(src, i, "name", "a party name", name))
            continue
        if len(name) > 1000:
            errors.append(InputError(src, i, "name", "a name of at most 1,000 characters", f"{len(name):,} characters"))
            continue
        try:
            cc = country_arg(r.get("country"), src, i, "country")
        except InputError as exc:
            errors.append(exc)
            continue
        pid = r.get("id")
        out.append((str(pid) if pid not in (None, "") else str(i), name.strip(), cc))
    if errors:
        from aiexport.errors import InputErrors

        raise InputErrors(errors)
    return out


@contextmanager
def open_ledger(db: str | None):
    from sqlalchemy.exc import ArgumentError, OperationalError

    from aiexport.ledger.service import Ledger

    try:
        ledger = Ledger(db)
    except ArgumentError as exc:
        fail([InputError("command line", None, "--db", "a SQLAlchemy database URL", f"{db} ({exc})")])
    except OperationalError as exc:
        err_console.print(f"[bold red]error:[/] cannot open the database: {exc.orig}", highlight=False)
        raise typer.Exit(2) from None
    try:
        yield ledger
    finally:
        ledger.close()


def index_for(ledger, lists: list[Path] | None) -> tuple[Index, list[int] | None]:
    from aiexport.screening.lists import load_list
    from aiexport.screening.store import NoLists, current_index

    if lists:
        entries = [e for p in lists for e in load_list(p).entries]
        return Index(entries), None
    try:
        return current_index(ledger)
    except NoLists as exc:
        fail([InputError("database", None, None, str(exc))])
        raise  # unreachable


def render(results: list[dict], fmt: Format) -> None:
    if fmt == Format.json:
        sys.stdout.write(json.dumps([{k: v for k, v in r.items() if k != "party_key"} for r in results],
                                    indent=2, ensure_ascii=False, default=str) + "\n")
        return
    if fmt == Format.csv:
        w = csv.writer(sys.stdout)
        w.writerow(["id", "query", "country", "status", "rank", "list", "entry_id", "name", "matched_name", "score",
                    "countries", "federal_register", "license_requirement", "disposition"])
        for r in results:
            if not r["matches"]:
                w.writerow([r["id"], r["query"], r["country"] or "", r["status"], "", "", "", "", "", "", "", "", "", ""])
            for k, m in enumerate(r["matches"], start=1):
                d = m["disposition"]["status"] if m["disposition"] else ""
                w.writerow([r["id"], r["query"], r["country"] or "", r["status"], k, m["list"], m["entry_id"], m["name"],
                            m["matched_name"], m["score"], ";".join(m["countries"]), m["federal_register"] or "",
                            m["license_requirement"] or "", d])
        return
    t = Table(title="Restricted-party screening", header_style="bold")
    for c in ("id", "query", "cc", "status", "list", "entry (matched name)", "score", "why", "disposition"):
        t.add_column(c, overflow="fold")
    for r in results:
        style = "red" if r["status"] == "potential_match" else "green"
        if not r["matches"]:
            t.add_row(r["id"] or "", r["query"], r["country"] or "", f"[{style}]{r['status']}[/]", "", "", "", "", "")
        for k, m in enumerate(r["matches"][:5]):
            ex = m["explanation"]
            agreed = ", ".join(a["query"] if a["similarity"] == 1 else f"{a['query']}≈{a['name']}" for a in ex.get("agreed", []))
            why = f"{ex.get('decisive_feature', '')}: {agreed}; country {ex.get('country_evidence', {}).get('reading', '')}"
            d = m["disposition"]
            t.add_row(
                (r["id"] or "") if k == 0 else "", r["query"] if k == 0 else "", (r["country"] or "") if k == 0 else "",
                f"[{style}]{r['status']}[/]" if k == 0 else "", m["list"],
                m["name"] + ("" if m["matched_name"] == m["name"] else f" ({m['matched_name']})"),
                f"{m['score']:.2f}", why, (d["status"] if d else ""),
            )
    console.print(t)


def screen_cmd(
    names: Annotated[list[str] | None, typer.Argument(help="Party names to screen.")] = None,
    parties: Annotated[Path | None, typer.Option("--parties", help="CSV / JSON / YAML with id,name,country.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="Country (ISO alpha-2) of the NAME arguments: a qualifier, never a filter.")] = None,
    threshold: Annotated[float, typer.Option("--threshold", help=f"Score in 0..1 from which a hit is a potential match (default {THRESHOLD}).")] = THRESHOLD,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    lists: Annotated[list[Path] | None, typer.Option("--list", help="Screen against these list files instead of the loaded lists.")] = None,
    record: Annotated[bool, typer.Option("--record", help="Store the parties and their candidates (for --rescreen).")] = False,
    rescreen: Annotated[bool, typer.Option("--rescreen", help="Screen again only the stored parties whose candidate entries changed since their last screening.")] = False,
    db: DbOpt = None,
) -> None:
    """Screen parties against the restricted-party lists (EL, DPL, MEU, UVL, SDN, …); every hit explained."""
    from aiexport.errors import InputErrors
    from aiexport.screening.store import record_parties, screen_parties
    from aiexport.screening.store import rescreen as do_rescreen

    if not 0.0 <= threshold <= 1.0:
        fail([InputError("command line", None, "--threshold", "a number in 0..1", threshold)])
    try:
        cc = country_arg(country, "command line", None, "--country")
        queries: list[tuple[str | None, str, str | None]] = []
        for i, n in enumerate(names or [], start=1):
            if not n.strip():
                raise InputError("command line", None, f"NAME {i}", "a non-empty party name", n)
            queries.append((None, n.strip(), cc))
        if parties is not None:
            queries += read_parties(parties)
    except InputError as exc:
        fail([exc])
    except InputErrors as exc:
        fail(exc.errors)
    if not queries and not rescreen:
        fail([InputError("command line", None, "NAME / --parties", "at least one party name, a --parties file, or --rescreen")])
    if rescreen and lists:
        fail([InputError("command line", None, "--list", "no --list with --rescreen (it compares the loaded list versions)")])
    with open_ledger(db) as ledger:
        index, ids = index_for(ledger, lists)
        results = screen_parties(index, queries, threshold, ledger if ids is not None else None)
        if record and ids is not None and results:
            record_parties(ledger, results, index, ids)
        if rescreen:
            again = do_rescreen(ledger, index, ids, threshold)
            if format == Format.table:
                if not again:
                    console.print("No stored party has a candidate entry that changed since its last screening.")
                for r in again:
                    console.print(f"[bold]{r['query']}[/]: " + "; ".join(
                        f"{c['entry_id']} {c['change']}" + (f" ({', '.join(c['fields'])})" if c.get("fields") else "")
                        for c in r["changes"]))
            results = results + again
    render(results, format)


# ----------------------------------------------------------------------------- dispositions


@disposition_app.command("add")
def disposition_add(
    party: Annotated[str, typer.Option("--party", help="The party's name, as screened.")],
    entry: Annotated[str, typer.Option("--entry", help="The list entry id (entry_id in the screen output).")],
    status: Annotated[str, typer.Option("--status", help="false_positive or confirmed.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the audit chain).")],
    country: Annotated[str | None, typer.Option("--country", help="The party's country as screened.")] = None,
    actor: ActorOpt = None,
    db: DbOpt = None,
) -> None:
    """Mark a potential match as a false positive (or confirm it). Holds for this party and this
    version of the entry only: when the entry changes, the match comes back. An officer's act."""
    from aiexport.screening.store import dispose

    no_actor(actor)
    try:
        cc = country_arg(country, "command line", None, "--country")
    except InputError as exc:
        fail([exc])
    with open_ledger(db) as ledger:
        actor = acting_user(ledger, "officer", "disposing of a screening match")
        index, _ = index_for(ledger, None)
        try:
            d = dispose(ledger, index, party, cc, entry, status, reason, actor)
        except ValueError as exc:
            field, _, expected = str(exc).partition(": ")
            fail([InputError("command line", None, field, expected)])
    sys.stdout.write(json.dumps(d, indent=2, ensure_ascii=False) + "\n")


@disposition_app.command("list")
def disposition_list(db: DbOpt = None, format: Annotated[Format, typer.Option("--format", "-f")] = Format.table) -> None:
    """Every disposition (latest per party and entry), with the audit-chain link that records it."""
    from aiexport.screening.store import dispositions

    with open_ledger(db) as ledger:
        rows = [{"party": d.party_name, "list": d.list_code, "entry_id": d.entry_uid, "entry": d.entry_name,
                 "status": d.status, "reason": d.reason, "actor": d.actor, "at": d.created_at, "audit_seq": d.audit_seq}
                for d in dispositions(ledger).values()]
    if format == Format.json:
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    t = Table(title="Dispositions", header_style="bold")
    for c in ("party", "list", "entry", "status", "reason", "actor", "at", "audit_seq"):
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*(str(r[c]) for c in ("party", "list", "entry", "status", "reason", "actor", "at", "audit_seq")))
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("screen")(screen_cmd)
    app.add_typer(disposition_app, name="disposition")
