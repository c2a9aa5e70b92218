"""`aiexport lists load | update | show | diff`: restricted-party lists as versioned data."""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Annotated

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
from aiexport.commands.screen import DbOpt, open_ledger
from aiexport.errors import InputError

lists_app = typer.Typer(help="Restricted-party lists (trade.gov CSL, OFAC SDN) as versioned data.", no_args_is_help=True)

# The official files (the CSL carries EL, DPL, MEU, UVL, SDN and the other agencies' lists).
OFFICIAL = {
    "csl": ["https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.csv"],
    "ofac-sdn": [
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.CSV",
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADD.CSV",
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ALT.CSV",
    ],
}
FILE_NAMES = {"SDN.CSV": "sdn.csv", "ADD.CSV": "add.csv", "ALT.CSV": "alt.csv", "consolidated.csv": "consolidated.csv"}


def fetch(url: str, dest: Path, timeout: float = 60.0) -> Path:
    """Download one file (monkeypatched in tests; the project is tested offline)."""
    with urllib.request.urlopen(url, timeout=timeout) as r, dest.open("wb") as fh:  # noqa: S310 - fixed https URLs
        fh.write(r.read())
    return dest


def _load(paths: list[Path], db: str | None, actor: str | None) -> list[dict]:
    from aiexport.screening.lists import load_list
    from aiexport.screening.store import load_version

    no_actor(actor)
    out = []
    with open_ledger(db) as ledger:
        actor = acting_user(ledger, "officer", "loading restricted-party lists")
        for p in paths:
            lf = load_list(p)
            r = load_version(ledger, lf, actor)
            out.append({"file": str(p), "version": r.version_id, "loaded": r.created, "source": r.source,
                        "published": r.published, "sha256": r.sha256, "counts": r.counts, "audit_seq": r.audit_seq})
    return out


def _print_loaded(rows: list[dict], fmt: Format) -> None:
    if fmt == Format.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    for r in rows:
        what = "loaded as version" if r["loaded"] else "already loaded as version"
        counts = ", ".join(f"{k} {v:,}" for k, v in r["counts"].items())
        console.print(f"{r['file']}: {what} {r['version']} ({r['source']}, {r['published']}, sha256 {r['sha256'][:12]}…): {counts}")


@lists_app.command("load")
def load_cmd(
    files: Annotated[list[Path], typer.Argument(help="CSL CSV/JSON, OFAC sdn.csv (add.csv/alt.csv beside it are read too) or sdn.xml.")],
    db: DbOpt = None,
    actor: ActorOpt = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """Store list versions (source, publication date, sha256, counts); recorded in the audit chain."""
    _print_loaded(_load(files, db, actor), format)


@lists_app.command("update")
def update_cmd(
    db: DbOpt = None,
    actor: ActorOpt = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="csl and/or ofac-sdn (default both).")] = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """Download the official files (trade.gov CSL, OFAC SDN with add/alt) and load them."""
    sources = source or list(OFFICIAL)
    for s in sources:
        if s not in OFFICIAL:
            fail([InputError("command line", None, "--source", "one of " + ", ".join(OFFICIAL), s)])
    tmp = Path(tempfile.mkdtemp(prefix="aiexport-lists-"))
    paths = []
    for s in sources:
        first = None
        for url in OFFICIAL[s]:
            name = FILE_NAMES.get(url.rsplit("/", 1)[-1], url.rsplit("/", 1)[-1])
            try:
                p = fetch(url, tmp / name)
            except OSError as exc:
                err_console.print(f"[bold red]error:[/] cannot download {url}: {exc}", highlight=False)
                raise typer.Exit(1) from None
            first = first or p
        paths.append(first)
    _print_loaded(_load(paths, db, actor), format)


@lists_app.command("show")
def show_cmd(db: DbOpt = None, format: Annotated[Format, typer.Option("--format", "-f")] = Format.table) -> None:
    """The stored list versions; the current one of each source is marked."""
    from aiexport.screening.store import versions

    with open_ledger(db) as ledger:
        rows = versions(ledger)
    if format == Format.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        console.print("No list loaded: parties cannot be screened (run `aiexport lists load FILE` or `lists update`).")
        return
    t = Table(title="Restricted-party list versions", header_style="bold")
    for c in ("version", "source", "published", "entries", "sha256", "loaded", "current"):
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(str(r["version"]), r["source"], r["published"] or "", ", ".join(f"{k} {v:,}" for k, v in r["counts"].items()),
                  r["sha256"][:16] + "…", f"{r['loaded_at'][:19]} by {r['loaded_by']}", "yes" if r["current"] else "")
    console.print(t)


def _entries(ref: str, ledger) -> list:
    from aiexport.screening.lists import load_list
    from aiexport.screening.store import entries_of, versions

    p = Path(ref)
    if p.exists():
        return load_list(p).entries
    if ref.isdigit() and any(v["version"] == int(ref) for v in versions(ledger)):
        return entries_of(ledger, [int(ref)])
    fail([InputError("command line", None, "OLD / NEW", "a stored list version number (see `lists show`) or a list file", ref)])
    return []


@lists_app.command("diff")
def diff_cmd(
    old: Annotated[str, typer.Argument(help="Version number or file.")],
    new: Annotated[str, typer.Argument(help="Version number or file.")],
    db: DbOpt = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """Entries added, removed and changed between two list versions (or files)."""
    from aiexport.screening.store import diff_entries, field_changes

    with open_ledger(db) as ledger:
        d = diff_entries(_entries(old, ledger), _entries(new, ledger))
    out = {
        "added": [{"list": e.list_code, "entry_id": e.uid, "name": e.name} for e in d["added"]],
        "removed": [{"list": e.list_code, "entry_id": e.uid, "name": e.name} for e in d["removed"]],
        "changed": [{"list": b.list_code, "entry_id": b.uid, "old_entry_id": a.uid, "name": b.name,
                     "fields": field_changes(a, b)} for a, b in d["changed"]],
    }
    if format == Format.json:
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
        return
    console.print(f"{len(out['added'])} added, {len(out['removed'])} removed, {len(out['changed'])} changed")
    t = Table(header_style="bold")
    for c in ("change", "list", "name", "what changed"):
        t.add_column(c, overflow="fold")
    for r in out["added"]:
        t.add_row("[green]added[/]", r["list"], r["name"], "")
    for r in out["removed"]:
        t.add_row("[red]removed[/]", r["list"], r["name"], "")
    for r in out["changed"]:
        t.add_row("[yellow]changed[/]", r["list"], r["name"],
                  "; ".join(f"{k}: {v['old']!r} → {v['new']!r}" for k, v in r["fields"].items() if k != "countries"))
    console.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(lists_app, name="lists")
