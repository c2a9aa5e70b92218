"""Validated end-user authorizations on record, like a licence (issue 10; 15 CFR 748.15).

The table ``veu_authorizations`` (migration 0006) holds each authorization an officer loaded:
its id, kind, holder, headquarters, sites, ECCNs, validity, NVEU allocation, conditions and
citation, who loaded it and when, and its revocation (a date and a reason). Every write appends
the row to the audit chain (subject ``veu:<id>``) and `audit verify` checks the stored rows
against it. Reading needs no role; loading and revoking are an officer's acts.

The ledger accounts a VEU-authorized decision draws from under ``codified`` (the Diffusion
rule's limits, Supp. No. 10 to Part 748 para 6 and §748.15(a)(2)(iii)(B)):

``veu:<ID>:installed-base:<CC>``  NVEU: TPP installed in its country; limit = the authorization's
                                  ``allocation_tpp`` (the ledger refuses a draw beyond it)
``veu:<ID>:total``                UVEU: TPP installed worldwide (a counter)
``veu:<ID>:country:<CC>``         UVEU: TPP installed in country CC (a counter)
``veu:<ID>:outside-tier1``        UVEU: TPP installed outside Tier-1 destinations (a counter)
``veu:<ID>:us``                   UVEU: TPP installed in the United States (a counter)

The UVEU limits are percentages of the total, which no fixed account limit can express: those
accounts are counters (limit ``COUNTER_LIMIT``) and the rule (``law.reach.veu``) compares the
balances ``veu_lookup`` reads from them, as ``ledger_lpp_lookup`` reads LPP consumption.

This module is imported by ``aiexport.ledger.models`` (one metadata for the "models match
migrations" check): keep its module-level imports to SQLAlchemy and the ledger's models.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Date, String, Text, event, select
from sqlalchemy.orm import Mapped, mapped_column

from aiexport.ledger.models import AuditHead, Base

COUNTER_LIMIT = Decimal("999999999999")  # the largest amount the ledger accepts (below 10^12)
DRAW_KINDS = ("uveu", "nveu")  # the kinds whose limits are drawn from the ledger (codified)


class VeuRecord(Base):
    """One VEU authorization on record (JSON text for the lists: sites, ECCNs, conditions)."""

    __tablename__ = "veu_authorizations"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    holder: Mapped[str] = mapped_column(String(300))
    headquarters: Mapped[str | None] = mapped_column(String(2), nullable=True)
    sites: Mapped[str] = mapped_column(Text)
    eccns: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    allocation_tpp: Mapped[str | None] = mapped_column(String(40), nullable=True)
    conditions: Mapped[str] = mapped_column(Text)
    cite: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    revoked_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    revoked_at: Mapped[str | None] = mapped_column(String(32), nullable=True)


def _iso(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def payload(r: VeuRecord) -> dict:
    """What the audit chain records of a row (all of it)."""
    return {
        "type": "veu-authorization", "id": r.id, "kind": r.kind, "holder": r.holder, "headquarters": r.headquarters,
        "sites": json.loads(r.sites), "eccns": json.loads(r.eccns), "valid_from": _iso(r.valid_from),
        "valid_to": _iso(r.valid_to), "allocation_tpp": r.allocation_tpp, "conditions": json.loads(r.conditions),
        "cite": r.cite, "source": r.source, "loaded_at": r.loaded_at, "actor": r.actor,
        "revoked_on": _iso(r.revoked_on), "revoked_reason": r.revoked_reason, "revoked_by": r.revoked_by,
        "revoked_at": r.revoked_at,
    }


def _audited(s):
    for r in s.execute(select(VeuRecord)).scalars():
        yield f"veu:{r.id}", payload(r), f"VEU authorization {r.id}"


@event.listens_for(AuditHead, "load")
def _register(target, context) -> None:
    # as aiexport.auth.models: ledger.service imports ledger.models, which imports this module;
    # the audit head is loaded before any verification, so register then.
    from aiexport.ledger import service

    if _audited not in service.AUDITED_RECORDS:
        service.AUDITED_RECORDS.append(_audited)


# ----------------------------------------------------------------------------- rows <-> authorizations


def _row(a, source: str, actor: str, at: str) -> VeuRecord:
    return VeuRecord(
        id=a.id, kind=a.kind, holder=a.holder, headquarters=a.headquarters,
        sites=json.dumps([s.model_dump() for s in a.sites], sort_keys=True),
        eccns=json.dumps(list(a.eccns)), valid_from=a.valid_from, valid_to=a.valid_to,
        allocation_tpp=None if a.allocation_tpp is None else str(a.allocation_tpp),
        conditions=json.dumps(list(a.conditions)), cite=a.cite, source=source, loaded_at=at, actor=actor,
    )


def _terms(r: VeuRecord) -> dict:
    p = payload(r)
    return {k: p[k] for k in ("kind", "holder", "headquarters", "sites", "eccns", "valid_from", "valid_to",
                              "allocation_tpp", "conditions", "cite")}


def to_authorization(r: VeuRecord):
    """The rule's view of a row: a revocation ends the validity the day before its date."""
    from aiexport.law.reach.veu import VeuAuthorization

    valid_to = r.valid_to
    if r.revoked_on is not None:
        last = r.revoked_on - dt.timedelta(days=1)
        valid_to = last if valid_to is None else min(valid_to, last)
    return VeuAuthorization(
        id=r.id, kind=r.kind, holder=r.holder, headquarters=r.headquarters, sites=json.loads(r.sites),
        eccns=json.loads(r.eccns), valid_from=r.valid_from, valid_to=valid_to,
        allocation_tpp=None if r.allocation_tpp is None else Decimal(r.allocation_tpp),
        conditions=json.loads(r.conditions)
        + ([f"Revoked from {r.revoked_on.isoformat()}: {r.revoked_reason}"] if r.revoked_on else []),
        cite=r.cite,
    )


def as_dict(r: VeuRecord) -> dict:
    d = payload(r)
    d.pop("type")
    d["status"] = "revoked" if r.revoked_on else "on record"
    return d


# ----------------------------------------------------------------------------- use cases


def load_file(led, actor, path: Path) -> dict:
    """An officer loads a file of VEU authorizations (YAML/JSON). A bad file is refused whole
    (InputError naming file, entry and field); an id already on record with the same terms is
    left as it is; with other terms it is refused (revoke it and grant a new id)."""
    from aiexport.law.reach.veu import load_authorizations

    actor.require("officer", "loading VEU authorizations")
    return load(led, actor, load_authorizations(Path(path)), str(path))


def load(led, actor, auths: dict, source: str) -> dict:
    """An officer puts validated authorizations (id -> ``VeuAuthorization``) on record: what
    `veu load FILE` and `POST /v1/veu` do. Errors name SOURCE and the entry."""
    from aiexport.errors import InputError
    from aiexport.ledger.service import append_audit, utcnow

    actor.require("officer", "loading VEU authorizations")
    path = source
    for n, a in enumerate(auths.values(), start=1):
        if len(a.id) > 100 or not a.id.strip():
            raise InputError(str(path), n, "id", "an authorization id of 1 to 100 characters", a.id)

    def fn(s) -> dict:
        loaded, unchanged = [], []
        at = utcnow()
        for n, a in enumerate(auths.values(), start=1):
            new = _row(a, str(path), actor.name, at)
            old = s.get(VeuRecord, a.id)
            if old is not None:
                if _terms(old) == _terms(new):
                    unchanged.append(a.id)
                    continue
                raise InputError(str(path), n, "id", "an id not already on record with other terms "
                                 "(authorizations are not edited: revoke the old one and load a new id)", a.id)
            s.add(new)
            s.flush()
            append_audit(s, "veu", f"veu:{a.id}", payload(new))
            loaded.append(a.id)
        return {"file": str(path), "loaded": loaded, "unchanged": unchanged}

    return led._run(fn)


def load_entries(led, actor, entries: list[dict], source: str = "request") -> dict:
    """The same from a list of entries (the API's body): each validated as a file's entry is,
    errors naming ``authorizations[N].field``; ids must be unique."""
    from pydantic import ValidationError

    from aiexport.errors import InputError
    from aiexport.law.reach.veu import VeuAuthorization

    actor.require("officer", "loading VEU authorizations")
    auths: dict = {}
    for n, e in enumerate(entries):
        try:
            a = VeuAuthorization.model_validate(e)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in err["loc"])
            raise InputError(source, n + 1, f"authorizations[{n}].{field}", err["msg"], err.get("input")) from None
        if a.id in auths:
            raise InputError(source, n + 1, f"authorizations[{n}].id", "a unique authorization id", a.id)
        auths[a.id] = a
    return load(led, actor, auths, source)


def list_authorizations(led) -> list[dict]:
    with led.transaction() as s:
        return [as_dict(r) for r in s.execute(select(VeuRecord).order_by(VeuRecord.id)).scalars()]


def show(led, veu_id: str) -> dict:
    from aiexport.app.errors import NotFound

    with led.transaction() as s:
        r = s.get(VeuRecord, veu_id)
        if r is None:
            raise NotFound(f"no VEU authorization {veu_id!r} on record")
        return as_dict(r)


def revoke(led, actor, veu_id: str, on: dt.date, reason: str) -> dict:
    """An officer revokes an authorization from ON (the first day it no longer authorizes)."""
    from aiexport.app.errors import Conflict, NotFound
    from aiexport.errors import InputError
    from aiexport.ledger.service import append_audit, utcnow

    actor.require("officer", "revoking a VEU authorization")
    if not reason or not reason.strip():
        raise InputError("command line", None, "--reason", "the reason for the revocation", reason)

    def fn(s) -> dict:
        r = s.get(VeuRecord, veu_id)
        if r is None:
            raise NotFound(f"no VEU authorization {veu_id!r} on record")
        if r.revoked_on is not None:
            raise Conflict(f"VEU authorization {veu_id!r} was already revoked from {r.revoked_on.isoformat()}")
        r.revoked_on, r.revoked_reason, r.revoked_by, r.revoked_at = on, reason.strip(), actor.name, utcnow()
        s.flush()
        append_audit(s, "veu", f"veu:{r.id}", payload(r))
        return as_dict(r)

    return led._run(fn)


def authorizations_on_record(ledger) -> dict[str, Any]:
    """Every authorization on record, as the rule reads it (``law.reach.veu.VeuAuthorization``)."""
    with ledger.transaction() as s:
        return {r.id: to_authorization(r) for r in s.execute(select(VeuRecord)).scalars()}


def authorizations_if_any(url: str | None = None) -> dict[str, Any]:
    """For check / explain / batch: the authorizations on record when the ledger database exists
    (a read; no database is created), else none."""
    return on_record_if_any(url)[0]


def _drawn_by_decision(led, drawn: dict[str, Decimal]) -> dict[str, dict[str, Decimal]]:
    """Decision id (without its version) -> VEU account -> what that decision drew, net of releases."""
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for name in drawn:
        entries = led.history(name)
        by_ref = {e["ref"]: e["decision_id"].split("#")[0] for e in entries if e["kind"] == "draw" and e.get("decision_id")}
        for e in entries:
            if e["kind"] in ("draw", "release") and e["ref"] in by_ref:
                out[by_ref[e["ref"]]][name] += e["amount"]
    return out


def on_record_if_any(url: str | None = None, ledger=None, transactions=None):
    """(authorizations on record, a ``veu_lookup`` over the VEU balances as they stand now) when the
    ledger database exists — read once, the database closed again — else ({}, None). What `check`
    and `explain` decide with; `check --record` reads the balances inside its own transaction.
    ``ledger``: an open ledger to read instead (the server's: no new connection per request).
    ``transactions``: when given and none states a ``veu_authorization``, nothing is read (the
    VEU rules read only stated authorizations)."""
    from aiexport.ledger import Ledger
    from aiexport.ledger.db import NoLedger

    if transactions is not None and not any((t.facts or {}).get("veu_authorization") for t in transactions):
        return {}, None
    if ledger is not None:
        led = ledger
    else:
        try:
            led = Ledger(url, read_only=True)
        except NoLedger:
            return {}, None
    try:
        auths = authorizations_on_record(led)
        if not auths:
            return {}, None
        drawn = {b.account: b.drawn for b in led.accounts() if b.account.startswith("veu:")}
        own = _drawn_by_decision(led, drawn)
    finally:
        if led is not ledger:
            led.close()

    def lookup(t, veu_id: str) -> dict[str, Decimal]:
        a = auths.get(str(veu_id).strip())
        if a is None:
            return {}
        # an order checked again after it was recorded does not count its own draw against itself
        mine = own.get(f"{t.id}@{t.date.isoformat()}/codified", {})
        return {fact: drawn.get(name, Decimal(0)) - mine.get(name, Decimal(0))
                for fact, name in accounts(a, _dest(t.to)).items()}

    return auths, lookup


# ----------------------------------------------------------------------------- ledger accounts (codified)


def _tier1(day: dt.date) -> frozenset[str]:
    from aiexport.engine.params import default_store

    return default_store().snapshot(day, "codified").group("Tier1")


def _dest(code: str) -> str:
    from aiexport.law.reach.facts import _country

    return _country(code, "to")


def accounts(a, to: str) -> dict[str, str]:
    """The ledger accounts whose balances are the VEU facts of a shipment to TO under A (fact
    name → account name); none for a kind without drawn limits (general, data_center)."""
    if a.kind == "nveu":
        return {"veu_country_tpp": f"veu:{a.id}:installed-base:{to}"}
    if a.kind == "uveu":
        return {"veu_total_tpp": f"veu:{a.id}:total", "veu_country_tpp": f"veu:{a.id}:country:{to}",
                "veu_outside_tier1_tpp": f"veu:{a.id}:outside-tier1", "veu_us_tpp": f"veu:{a.id}:us"}
    return {}


def ledger_veu_lookup(ledger, authorizations: dict | None = None, released: dict | None = None):
    """A ``veu_lookup`` for ``law.decide.decide`` (transaction, VEU id) -> the VEU balances before
    this shipment (TPP), read from the ledger's accounts as ``ledger_lpp_lookup`` reads LPP. An
    authorization not on record gives nothing (the rule then says so). A stated balance wins.
    ``released``: account -> amount an amended order's old decision drew, given back when the new
    version is recorded (not counted as installed)."""
    from aiexport.ledger import consumed

    auths = authorizations if authorizations is not None else authorizations_on_record(ledger)
    released = released or {}
    cache: dict[str, Decimal] = {}

    def lookup(t, veu_id: str) -> dict[str, Decimal]:
        a = auths.get(str(veu_id).strip())
        if a is None:
            return {}
        out = {}
        for fact, name in accounts(a, _dest(t.to)).items():
            if name not in cache:
                cache[name] = consumed(ledger, name) - released.get(name, Decimal(0))
            out[fact] = cache[name]
        return out

    return lookup


def draws(a, to: str, total: Decimal, ref: str, day: dt.date) -> list[dict]:
    """The ledger draws of a VEU-authorized shipment of TOTAL TPP to TO under A (codified)."""
    to = _dest(to)
    cite = {"nveu": "15 CFR 748.15(a)(2)(iii)(B) (NVEU installed base)",
            "uveu": "15 CFR 748.15(a)(2)(ii)(B); Supp. No. 10 to Part 748 para 6 (UVEU geographic allocations)"}
    out = []
    for fact, name in accounts(a, to).items():
        if fact == "veu_outside_tier1_tpp" and to in _tier1(day):
            continue
        if fact == "veu_us_tpp" and to != "US":
            continue
        limited = a.kind == "nveu"
        if limited and a.allocation_tpp is None:
            continue  # the rule asked (NEEDS_FACTS); nothing authorized, nothing to draw
        out.append({
            "account": name, "amount": total, "ref": f"{ref}:veu",
            "open": {"limit": a.allocation_tpp if limited else COUNTER_LIMIT, "unit": "tpp",
                     "kind": "allocation" if limited else "quota",
                     "attributes": {"veu": a.id, "kind": a.kind, "fact": fact, "country": to if "country" in fact else None,
                                    "counter": not limited, "cite": cite[a.kind]}},
        })
    return out


def decision_draws(rec: dict, t, total: Decimal | None, ref: str, day: dt.date, authorizations: dict) -> list[dict]:
    """The VEU draws of one recorded decision: under ``codified``, a decision authorized by a
    UVEU/NVEU (licence exception ``VEU``) draws its TPP from the authorization's accounts."""
    if rec.get("posture") != "codified" or rec.get("license_exception") != "VEU" or total is None:
        return []
    a = authorizations.get(str((t.facts or {}).get("veu_authorization") or "").strip())
    if a is None or a.kind not in DRAW_KINDS:
        return []
    return draws(a, t.to, total, ref, day)
