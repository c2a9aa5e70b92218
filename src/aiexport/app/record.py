"""Recording decisions in the ledger (`check --record`, `POST /v1/check/record`): decide the
orders not yet recorded, reading LPP consumption from the ledger as a fact, and append them
with their draws (LPP quotas, Tier-2 allocations) and holds, as the authenticated actor.

`record_orders` is the use case; `decision_dicts` builds what the ledger stores for each
decision, including the draws (the place to add a draw kind). Errors are `app.errors`
(`Conflict`, `Busy`) and `InputErrors`; the faces render the returned `Recorded`."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from aiexport.app.errors import Busy, Conflict
from aiexport.io.transactions import Transaction
from aiexport.law.metrics import MICRO

CHUNK = 1000  # decisions per database transaction: the write lock is held for one chunk at a time


def consignee_key(t: Transaction) -> str:
    """The ultimate consignee's account key: its name (normalised), else its country."""
    name = t.consignee.name or f"unnamed-{t.consignee.country}"
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").upper()


def lpp_account(t: Transaction, year: int) -> str:
    return f"lpp:{consignee_key(t)}:{year}"


def ledger_lpp_lookup(ledger=None):
    """A callback (transaction, year) -> TPP already drawn under LPP, read from the ledger."""
    from aiexport.ledger import Ledger, consumed

    led = ledger or Ledger()
    cache: dict[str, Decimal] = {}

    def lookup(t: Transaction, year: int) -> Decimal:
        key = lpp_account(t, year)
        if key not in cache:
            cache[key] = consumed(led, key)
        return cache[key]

    return lookup


def decision_dicts(frame: pl.DataFrame, recs: list[dict], txs: list[Transaction], versions: dict | None = None,
                   authorizations: dict | None = None) -> list[dict]:
    """The ledger's decision dicts. ``versions`` maps a transaction id to its order key, content
    hash, version and superseded record id (an amended order gets a new decision id, ``#vN``).
    ``authorizations``: the VEU authorizations on record, whose accounts a VEU-authorized decision
    draws under ``codified`` (``app.veu.decision_draws``)."""
    from aiexport.app.veu import decision_draws
    from aiexport.engine.params import default_store

    store = default_store()
    by_id = {t.id: t for t in txs}
    versions = versions or {}
    out = []
    for row, rec in zip(frame.iter_rows(named=True), recs, strict=True):
        t = by_id[rec["id"]]
        day = row["date"]
        v = versions.get(rec["id"], {})
        did = f"{rec['id']}@{day.isoformat()}/{rec['posture']}"
        if v.get("version", 1) > 1:
            did += f"#v{v['version']}"
        ref = rec["id"] if v.get("version", 1) == 1 else did  # version 1 keeps the refs it always had
        total = None if row["system_tpp"] is None else Decimal(row["system_tpp"] * row["quantity"]) / MICRO
        draws = []
        if rec["posture"] == "codified" and total is not None:
            if rec["license_exception"] == "LPP":
                limit = store.at("lpp_limit_tpp", day, "codified").value
                draws.append({
                    "account": lpp_account(t, day.year), "amount": total, "ref": f"{ref}:lpp",
                    "open": {"limit": limit, "unit": "tpp", "kind": "quota",
                             "valid_from": dt.date(day.year, 1, 1), "valid_to": dt.date(day.year, 12, 31),
                             "attributes": {"consignee": t.consignee.name, "cite": "15 CFR 740.29(a)"}},
                })
            if rec["outcome"] == "LICENSE_REQUIRED" and row["policy_rule"] == "742.6(b)(10).tier2":
                limit = store.at("tier2_country_allocation_tpp", day, "codified").value
                draws.append({
                    "account": f"allocation:{row['to']}:2025-2027", "amount": total, "ref": f"{ref}:allocation",
                    "open": {"limit": limit, "unit": "tpp", "kind": "allocation",
                             "valid_from": dt.date(2025, 1, 1), "valid_to": dt.date(2027, 12, 31),
                             "attributes": {"country": row["to"], "cite": "90 FR 4544 (Tier-2 country allocation)"}},
                })
        draws += decision_draws(rec, t, total, ref, day, authorizations or {})  # UVEU/NVEU limits (issue 10)
        d = {
            **{k: rec[k] for k in ("outcome", "eccn", "license_exception", "review_policy", "obligations", "rules", "posture", "rule_set")},
            "id": did,
            "date": day,
            "needs_facts": [f["fact"] for f in rec["needs_facts"]],
            "inputs": t.model_dump(mode="json", by_alias=True),
            "draws": draws,
            "record": {**rec, "total_tpp": None if total is None else total},
            "notices": [r for r in rec["rules"] if r.startswith("notice:")],
        }
        for key in ("order_key", "content_hash", "version", "supersedes"):
            if v.get(key) is not None:
                d[key] = v[key]
        if t.facts.get("lpp_consumed_tpp") is None and row.get("f_lpp_consumed") is not None:
            # read from the ledger, not stated: recorded so that `explain` can decide it again
            d["ledger_facts"] = {"lpp_consumed_tpp": Decimal(row["f_lpp_consumed"]) / MICRO}
        out.append(d)
    return out


def decision_id(t: Transaction, on: dt.date | None, posture: str) -> str:
    return f"{t.id}@{(on or t.date).isoformat()}/{posture}"


def content_hash(t: Transaction, on: dt.date | None, posture: str, notices=None) -> str:
    """What a decision is about: the order's content, the as-of option, posture and notices."""
    from aiexport.ledger import canonical

    body = {
        "inputs": t.model_dump(mode="json", by_alias=True),
        "on": on, "posture": posture,
        "notices": sorted(getattr(n, "id", str(n)) for n in notices or []),
    }
    return hashlib.sha256(canonical.dumps(body).encode("utf-8")).hexdigest()


@dataclass
class Recorded:
    """What `record_orders` did: the records in input order (a stored one for an order already
    recorded with the same content), and what was written."""

    records: list[dict]
    total: int
    stored: int = 0  # already recorded with the same content, date, posture and notices: shown, not decided again
    amended: list[dict] = field(default_factory=list)  # {"id", "version", "supersedes_record", "decision_id"}
    record_ids: list[int] = field(default_factory=list)
    holds: int = 0
    draws: list[str] = field(default_factory=list)  # "account −amount"
    refused: list[str] = field(default_factory=list)  # decision ids whose draw did not fit (held)
    ledger_url: str = ""


def _busy_errors():
    from sqlalchemy.exc import OperationalError

    from aiexport.ledger import LedgerBusy

    return (LedgerBusy, OperationalError)


def _busy(exc: Exception, done: int, total: int) -> Busy:
    from aiexport.errors import is_lock_contention

    if not (is_lock_contention(exc) or exc.__class__.__name__ == "LedgerBusy"):
        raise exc
    return Busy(f"the ledger database is locked by another writer past the busy timeout (AIEXPORT_BUSY_TIMEOUT seconds). "
                f"{done} of {total} decisions were recorded before this and stay recorded; run the same command again "
                "to record the rest.")


def open_ledger(total: int = 0):
    """The default ledger (created and migrated on first use); a lock past the busy timeout is `Busy`."""
    from aiexport.ledger import Ledger

    try:
        return Ledger()
    except _busy_errors() as exc:
        raise _busy(exc, 0, total) from None


def record_orders(txs: list[Transaction], numbers: list[int], source: str, on: dt.date | None, posture: str,
                  actor: str | None, *, notices=None, ledger=None, chunk: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Recorded:
    """Decide the orders not yet recorded (reading LPP consumption from the ledger) and record
    them, ``chunk`` decisions per transaction (a killed run keeps what it committed; re-running
    records the rest). An order already recorded with the same content, date, posture and
    notices is not decided again: its recorded decision is returned. An order recorded with
    other content (amended) is decided again and recorded as a new version that supersedes the
    old. ``actor`` is the authenticated actor's audit name (see `aiexport.auth.service`)."""
    from aiexport.app.decisions import decide_checked
    from aiexport.app.veu import authorizations_on_record, ledger_veu_lookup
    from aiexport.law.decide import records

    chunk = chunk or CHUNK
    if ledger is None:
        ledger = open_ledger(len(txs))
    try:
        keys = {t.id: decision_id(t, on, posture) for t in txs}
        latest = ledger.latest_versions(list(keys.values()))
    except _busy_errors() as exc:
        raise _busy(exc, 0, len(txs)) from None
    stored: dict[str, dict] = {}
    versions: dict[str, dict] = {}
    amended: dict[str, dict] = {}
    for t in txs:
        h = content_hash(t, on, posture, notices)
        prev = latest.get(keys[t.id])
        v = {"order_key": keys[t.id], "content_hash": h, "version": 1}
        if prev is not None:
            same = prev["content_hash"] == h if prev["content_hash"] else (
                prev["decision"].get("inputs") == t.model_dump(mode="json", by_alias=True)
                and not notices)
            if same:
                stored[t.id] = prev
                continue
            v = {**v, "version": prev["version"] + 1, "supersedes": prev["record_id"]}
            amended[t.id] = prev
        versions[t.id] = v
    fresh = [(t, n) for t, n in zip(txs, numbers, strict=True) if t.id not in stored]
    out = Recorded(records=[], total=len(txs), stored=len(stored), ledger_url=ledger.url.split("?")[0])
    recs_by_id: dict[str, dict] = {}
    if fresh:
        ftxs, fnums = [t for t, _ in fresh], [n for _, n in fresh]
        lookup = ledger_lpp_lookup(ledger)
        if amended:  # an amended order's old draws are given back when it is recorded: not consumed
            old = ledger.unreleased_draws([p["decision_id"] for p in amended.values()])
            base = lookup

            def lookup(t: Transaction, year: int) -> Decimal:  # noqa: F811
                return base(t, year) - old.get(lpp_account(t, year), Decimal(0))

        auths = authorizations_on_record(ledger)  # VEU (issue 10): on record, balances from the ledger
        veu_lookup = ledger_veu_lookup(ledger, auths, released=old if amended else None)
        frame = decide_checked(ftxs, fnums, source, on, posture, lpp_lookup=lookup, notices=notices,
                               authorizations=auths, veu_lookup=veu_lookup)
        recs = records(frame)
        _record_frame(frame, recs, ftxs, source, actor, ledger, versions, chunk, progress, out, auths)
        recs_by_id = {r["id"]: r for r in recs}
    out.amended = [{"id": tid, "version": versions[tid]["version"], "supersedes_record": p["record_id"],
                    "decision_id": p["decision_id"]} for tid, p in amended.items()]
    for t in txs:
        if t.id in stored:
            out.records.append(dict(stored[t.id]["decision"]["record"], record_id=stored[t.id]["record_id"]))
        else:
            r = recs_by_id[t.id]
            if t.id in amended:
                r = {**r, "version": versions[t.id]["version"], "supersedes_record": versions[t.id]["supersedes"]}
            out.records.append(r)
    return out


def _record_frame(frame: pl.DataFrame, recs: list[dict], txs: list[Transaction], source: str, actor: str | None, led,
                  versions: dict, chunk: int, progress, out: Recorded, authorizations: dict | None = None) -> None:
    from pathlib import Path

    from aiexport.ledger import Conflict as LedgerConflict
    from aiexport.ledger import DrawRefused

    decisions = decision_dicts(frame, recs, txs, versions, authorizations)
    ids: list[int] = []
    refused: list[str] = []
    for i in range(0, len(decisions), chunk):
        part = decisions[i : i + chunk]
        try:
            ids += led.record_decisions(part, actor=actor, hold_refused=True, refused_out=refused)
        except LedgerConflict as exc:
            raise Conflict(f"{exc}. {len(ids)} of {len(decisions)} decisions of {Path(source).name} were recorded before "
                           "this one; the rest were not.") from None
        except DrawRefused as exc:
            raise Conflict(f"draw of {exc.amount} from {exc.account} does not fit ({exc.reason}; remaining {exc.remaining}). "
                           f"{len(ids)} of {len(decisions)} decisions were recorded.") from None
        except _busy_errors() as exc:
            raise _busy(exc, len(ids), len(decisions)) from None
        if progress is not None:
            progress(len(part), len(decisions))
    out.record_ids = ids
    out.refused = refused
    if ids:
        out.holds = sum(1 for d in decisions if d["outcome"] in ("LICENSE_REQUIRED", "NEEDS_FACTS") or d["id"] in refused)
        out.draws = [f"{d['account']} −{d['amount']}" for dec in decisions if dec["id"] not in refused for d in dec["draws"]]
