"""`aiexport check --record`: decisions into the ledger (audit chain, holds, LPP and allocation draws)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import polars as pl
import typer

from aiexport.commands.common import err_console
from aiexport.io.transactions import Transaction
from aiexport.law.metrics import MICRO

EXIT_REFUSED = 3


def consignee_key(t: Transaction) -> str:
    """The ultimate consignee's account key: its name (normalised), else its country."""
    name = t.consignee.name or f"unnamed-{t.consignee.country}"
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").upper()


def lpp_account(t: Transaction, year: int) -> str:
    return f"lpp:{consignee_key(t)}:{year}"


def _ledger():
    from aiexport.ledger import Ledger

    return Ledger()


def ledger_lpp_lookup(ledger=None):
    """A callback (transaction, year) -> TPP already drawn under LPP, read from the ledger."""
    from aiexport.ledger import consumed

    led = ledger or _ledger()
    cache: dict[str, Decimal] = {}

    def lookup(t: Transaction, year: int) -> Decimal:
        key = lpp_account(t, year)
        if key not in cache:
            cache[key] = consumed(led, key)
        return cache[key]

    return lookup


def decision_dicts(frame: pl.DataFrame, recs: list[dict], txs: list[Transaction]) -> list[dict]:
    from aiexport.engine.params import default_store

    store = default_store()
    by_id = {t.id: t for t in txs}
    out = []
    for row, rec in zip(frame.iter_rows(named=True), recs, strict=True):
        t = by_id[rec["id"]]
        day = row["date"]
        total = None if row["system_tpp"] is None else Decimal(row["system_tpp"] * row["quantity"]) / MICRO
        draws = []
        if rec["posture"] == "codified" and total is not None:
            if rec["license_exception"] == "LPP":
                limit = store.at("lpp_limit_tpp", day, "codified").value
                draws.append({
                    "account": lpp_account(t, day.year), "amount": total, "ref": f"{rec['id']}:lpp",
                    "open": {"limit": limit, "unit": "tpp", "kind": "quota",
                             "valid_from": dt.date(day.year, 1, 1), "valid_to": dt.date(day.year, 12, 31),
                             "attributes": {"consignee": t.consignee.name, "cite": "15 CFR 740.29(a)"}},
                })
            if rec["outcome"] == "LICENSE_REQUIRED" and row["policy_rule"] == "742.6(b)(10).tier2":
                limit = store.at("tier2_country_allocation_tpp", day, "codified").value
                draws.append({
                    "account": f"allocation:{row['to']}:2025-2027", "amount": total, "ref": f"{rec['id']}:allocation",
                    "open": {"limit": limit, "unit": "tpp", "kind": "allocation",
                             "valid_from": dt.date(2025, 1, 1), "valid_to": dt.date(2027, 12, 31),
                             "attributes": {"country": row["to"], "cite": "90 FR 4544 (Tier-2 country allocation)"}},
                })
        out.append({
            **{k: rec[k] for k in ("outcome", "eccn", "license_exception", "review_policy", "obligations", "rules", "posture", "rule_set")},
            "id": f"{rec['id']}@{day.isoformat()}/{rec['posture']}",
            "date": day,
            "needs_facts": [f["fact"] for f in rec["needs_facts"]],
            "inputs": t.model_dump(mode="json", by_alias=True),
            "draws": draws,
            "record": {**rec, "total_tpp": None if total is None else total},
            "notices": [r for r in rec["rules"] if r.startswith("notice:")],
        })
    return out


def decision_id(t: Transaction, on: dt.date | None, posture: str) -> str:
    return f"{t.id}@{(on or t.date).isoformat()}/{posture}"


def check_and_record(path: Path, on: dt.date | None, posture: str, actor: str | None, notices=None,
                     allow_extra_columns: bool = False) -> list[dict]:
    """Decide the transactions not yet recorded (reading LPP consumption from the ledger) and
    record them in one transaction; a transaction already recorded for this date and posture
    is not decided again: its recorded decision is returned (re-running a file is idempotent)."""
    from aiexport.commands.check import load_transactions, run_frame
    from aiexport.law.decide import records

    led = _ledger()
    txs, numbers = load_transactions(path, allow_extra_columns)
    stored = {}
    for t in txs:
        found = led.decision(decision_id(t, on, posture))
        if found is not None:
            stored[t.id] = found
    fresh = [(t, n) for t, n in zip(txs, numbers, strict=True) if t.id not in stored]
    recs_by_id: dict[str, dict] = {}
    if fresh:
        ftxs, fnums = [t for t, _ in fresh], [n for _, n in fresh]
        frame = run_frame(ftxs, fnums, path, on, posture, lpp_lookup=ledger_lpp_lookup(led), notices=notices)
        recs = records(frame)
        record_frame(frame, recs, ftxs, path, actor, led)
        recs_by_id = {r["id"]: r for r in recs}
    if stored:
        err_console.print(f"{len(stored)} of {len(txs)} transactions were already recorded for this date and posture; "
                          "their recorded decisions are shown.", highlight=False)
    out = []
    for t in txs:
        if t.id in stored:
            out.append(dict(stored[t.id]["decision"]["record"], record_id=stored[t.id]["record_id"]))
        else:
            out.append(recs_by_id[t.id])
    return out


def record_frame(frame: pl.DataFrame, recs: list[dict], txs: list[Transaction], file: Path, actor: str | None, led=None) -> None:
    from aiexport.ledger import Conflict, DrawRefused, record_decisions

    decisions = decision_dicts(frame, recs, txs)
    try:
        ids = record_decisions(led or _ledger(), decisions, actor=actor)
    except Conflict as exc:
        err_console.print(f"[bold red]refused:[/] {exc}. Nothing of {file.name} was recorded.")
        raise typer.Exit(EXIT_REFUSED) from None
    except DrawRefused as exc:
        err_console.print(
            f"[bold red]refused:[/] draw of {exc.amount} from {exc.account} does not fit "
            f"({exc.reason}; remaining {exc.remaining}). Nothing of {file.name} was recorded.")
        raise typer.Exit(EXIT_REFUSED) from None
    holds = sum(1 for d in decisions if d["outcome"] in ("LICENSE_REQUIRED", "NEEDS_FACTS"))
    draws = [f"{d['account']} −{d['amount']}" for dec in decisions for d in dec["draws"]]
    if not ids:
        return
    err_console.print(  # stderr: stdout stays the machine-readable result
        f"[bold]Recorded[/] {len(ids)} decisions (record ids {min(ids)}–{max(ids)}) in the ledger; "
        f"{holds} holds opened for LICENSE_REQUIRED / NEEDS_FACTS." + (f" Draws: {'; '.join(draws)}." if draws else ""),
        highlight=False,
    )
