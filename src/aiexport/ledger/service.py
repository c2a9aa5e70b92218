"""The ledger: accounts whose balances derive from append-only entries, holds, decision records,
and the hash-chained audit log that records every one of them.

Locking. Every write transaction locks what it reads before it writes: the account rows it
draws from (SELECT ... FOR UPDATE, in name order), then the audit head row (to append to the
chain). Account locks always precede the head lock, so two transactions cannot deadlock. On
SQLite the whole transaction is BEGIN IMMEDIATE (see db.py), which serialises writers.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from aiexport.errors import InputError, InputErrors, is_lock_contention
from aiexport.ledger import canonical, db
from aiexport.ledger.amounts import AmountError, to_amount
from aiexport.ledger.errors import (
    Conflict,
    DrawRefused,
    LedgerBusy,
    NotPermitted,
    UnknownAccount,
    UnknownHold,
    UnknownReference,
)
from aiexport.ledger.models import (
    GENESIS_HASH,
    Account,
    AuditHead,
    AuditRecord,
    Decision,
    Entry,
    Hold,
    User,
)
from aiexport.ledger.prepared import Prepared

T = TypeVar("T")

ACCOUNT_KINDS = ("license", "allocation", "quota")
UNITS = ("tpp", "units", "usd")
OUTCOMES = ("NLR", "LICENSE_EXCEPTION", "LICENSE_REQUIRED", "NEEDS_FACTS")
HELD_OUTCOMES = ("LICENSE_REQUIRED", "NEEDS_FACTS")
POSTURES = ("enforced", "codified")
OFFICER = "officer"
RELEASE_CODES = (
    "LICENSE_GRANTED",
    "EXCEPTION_CONFIRMED",
    "FACTS_CONFIRMED",
    "NOT_CONTROLLED",
    "OTHER",
)
REJECT_CODES = (
    "LICENSE_DENIED",
    "FACTS_UNCONFIRMED",
    "RESTRICTED_PARTY",
    "ORDER_CANCELLED",
    "OTHER",
)


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resolve_actor(actor: str | None = None) -> str:
    """--actor, else AIEXPORT_ACTOR, else the OS user."""
    return (actor or os.environ.get("AIEXPORT_ACTOR") or getpass.getuser()).strip()


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + payload).encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Balance:
    account: str
    limit: Decimal
    drawn: Decimal
    remaining: Decimal
    unit: str
    kind: str
    valid_from: dt.date | None
    valid_to: dt.date | None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DrawResult:
    status: str  # "drawn" | "already_drawn"
    account: str
    amount: Decimal
    ref: str
    entry_id: int
    remaining: Decimal
    unit: str
    released: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problems: list[str] = field(default_factory=list)

    @property
    def first(self) -> str | None:
        return self.problems[0] if self.problems else None

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_problem": self.first,
            "problems": self.problems,
        }


# ----------------------------------------------------------------------------- payloads


def account_payload(a: Account) -> dict:
    return {
        "type": "account",
        "id": a.id,
        "name": a.name,
        "kind": a.kind,
        "unit": a.unit,
        "limit": a.limit_amount,
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
        "attributes": canonical.loads(a.attributes),
        "created_at": a.created_at,
        "created_by": a.created_by,
    }


def entry_payload(e: Entry, account: str) -> dict:
    p = {
        "type": "entry",
        "id": e.id,
        "account": account,
        "account_id": e.account_id,
        "kind": e.kind,
        "amount": e.amount,
        "ref": e.ref,
        "reason": e.reason,
        "actor": e.actor,
        "on": e.on_date,
        "created_at": e.created_at,
    }
    if e.decision_id is not None:
        p["decision_id"] = e.decision_id
    return p


def decision_payload(d: Decision) -> dict:
    """Every field of a decision row: its columns outcome/posture/rule_set/date are the hashed
    payload's (verify checks they agree); the version fields are hashed when present (NULL on
    rows recorded before migration 0003, whose audit payloads did not have them)."""
    p = {
        "type": "decision",
        "record_id": d.id,
        "decision_id": d.decision_id,
        "actor": d.actor,
        "recorded_at": d.recorded_at,
        "decision": canonical.loads(d.payload),
    }
    for key in ("order_key", "content_hash", "version", "supersedes"):
        value = getattr(d, key)
        if value is not None:
            p[key] = value
    return p


def decision_columns_problem(d: Decision) -> str | None:
    """The columns a query filters on must say what the hashed payload says."""
    try:
        body = canonical.loads(d.payload)
    except ValueError:
        return "its payload is not valid JSON"
    want = {"outcome": body.get("outcome"), "posture": body.get("posture"), "rule_set": body.get("rule_set"),
            "date": str(body.get("date"))}
    have = {"outcome": d.outcome, "posture": d.posture, "rule_set": d.rule_set, "date": d.date.isoformat() if d.date else None}
    diff = [k for k in want if want[k] != have[k]]
    if diff:
        return ", ".join(f"{k} is {have[k]!r} but the recorded decision says {want[k]!r}" for k in diff)
    return None


def hold_payload(h: Hold) -> dict:
    return {
        "type": "hold",
        "id": h.id,
        "decision_record_id": h.decision_record_id,
        "decision_id": h.decision_id,
        "outcome": h.outcome,
        "status": h.status,
        "created_at": h.created_at,
        "created_by": h.created_by,
        "resolved_by": h.resolved_by,
        "resolved_at": h.resolved_at,
        "reason_code": h.reason_code,
        "reason_text": h.reason_text,
    }


def user_payload(u: User) -> dict:
    return {
        "type": "user",
        "name": u.name,
        "role": u.role,
        "granted_by": u.granted_by,
        "granted_at": u.granted_at,
    }


def hold_dict(h: Hold) -> dict:
    d = hold_payload(h)
    d.pop("type")
    return d


# ----------------------------------------------------------------------------- primitives


# The statements of a draw, built once and run at the driver's speed (``prepared``: a draw through
# the ORM's unit of work cost ~3.4 ms, through ``Connection.execute`` ~1.5 ms, most of it SQLAlchemy's
# per-statement machinery, where the database's own work, fsync included, is ~0.3 ms). The audit
# log and its head are written with them too: nothing holds them as ORM objects across an append (a
# head loaded to lock it is only read).
_HEAD = AuditHead.__table__
_LOCK_HEAD = Prepared(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update())
_MOVE_HEAD = Prepared(update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash")))
_LINK_KEYS = ("seq", "kind", "subject", "payload", "prev_hash", "hash")
_ADD_LINK = Prepared(insert(AuditRecord.__table__), _LINK_KEYS)
_LOCK_ACCOUNT = select(Account).where(Account.name == bindparam("name")).with_for_update()
_ACCOUNTS = Account.__table__


@dataclass(slots=True)
class _Held:
    """An account row locked by a draw that needs no ORM object (``Ledger.draw``): the columns a
    draw reads, in the order ``_LOCK_ACCOUNT_ROW`` selects them."""

    id: int
    name: str
    unit: str
    limit_amount: Decimal
    drawn: Decimal | None
    valid_from: dt.date | None
    valid_to: dt.date | None


_LOCK_ACCOUNT_ROW = Prepared(select(*(_ACCOUNTS.c[f.name] for f in fields(_Held))).where(
    _ACCOUNTS.c.name == bindparam("name")).with_for_update())
_ENTRIES = Entry.__table__
_DRAWN_BY = Prepared(select(_ENTRIES.c.id, _ENTRIES.c.amount).where(
    _ENTRIES.c.account_id == bindparam("account_id"), _ENTRIES.c.kind == "draw", _ENTRIES.c.ref == bindparam("ref")))
_RELEASED = Prepared(select(_ENTRIES.c.id).where(
    _ENTRIES.c.account_id == bindparam("account_id"), _ENTRIES.c.kind == "release", _ENTRIES.c.ref == bindparam("ref")))
_ENTRY_KEYS = ("account_id", "kind", "amount", "ref", "reason", "actor", "on_date", "created_at", "decision_id")
_ADD_ENTRY = Prepared(insert(_ENTRIES).returning(_ENTRIES.c.id), _ENTRY_KEYS)
_SET_DRAWN = Prepared(update(_ACCOUNTS).where(_ACCOUNTS.c.id == bindparam("account_id")).values(
    drawn=bindparam("new_drawn")))


def _conn(s: Session | Connection) -> Connection:
    """The connection of a session's transaction (or the connection given)."""
    return s.connection() if isinstance(s, Session) else s



class Link(NamedTuple):
    """A link of the chain as ``append_audit`` wrote it (the columns of ``AuditRecord``)."""

    seq: int
    kind: str
    subject: str
    payload: str
    prev_hash: str
    hash: str


def append_audit(s: Session | Connection, kind: str, subject: str, payload: dict) -> Link:
    """Append one link to the chain (locks the head row until the transaction ends). Returns the
    link as written."""
    c = _conn(s)
    seq, prev = _LOCK_HEAD.one(c)
    body = canonical.dumps(payload)
    digest = chain_hash(prev, body)
    link = Link(seq + 1, kind, subject, body, prev, digest)
    _ADD_LINK.rows(c, link._asdict())
    _MOVE_HEAD.rows(c, {"new_seq": link.seq, "new_hash": digest})
    return link


def _lock_account(s: Session, name: str) -> Account | None:
    return s.execute(_LOCK_ACCOUNT, {"name": name}).scalar_one_or_none()


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name.strip() or name != name.strip() or len(name) > 200:
        raise ValueError("account: a non-empty account name (at most 200 characters, no leading or trailing spaces)")


def _get_account(s: Session, name: str) -> Account:
    a = s.execute(select(Account).where(Account.name == name)).scalar_one_or_none()
    if a is None:
        raise UnknownAccount(name)
    return a


def _drawn(s: Session, account_id: int) -> Decimal:
    """The sum of an account's entries (audit verify; the running total is `Account.drawn`)."""
    total = s.execute(select(func.sum(Entry.amount)).where(Entry.account_id == account_id)).scalar()
    return Decimal(0) if total is None else total


def _move(s: Session | Connection, a: Account | _Held, amount: Decimal) -> None:
    """Keep the running total of a locked account (every entry goes through here): written at
    once, and the account object given the stored value (an ORM one as committed, so no flush
    writes it again)."""
    new = (a.drawn or Decimal(0)) + amount
    _SET_DRAWN.rows(_conn(s), {"account_id": a.id, "new_drawn": new})
    if isinstance(a, _Held):
        a.drawn = new
    else:
        set_committed_value(a, "drawn", new)


def _balance(s: Session, a: Account) -> Balance:
    drawn = a.drawn or Decimal(0)
    return Balance(
        a.name,
        a.limit_amount,
        drawn,
        a.limit_amount - drawn,
        a.unit,
        a.kind,
        a.valid_from,
        a.valid_to,
    )


def _invalid_on(a: Account, on: dt.date) -> str | None:
    if a.valid_from is not None and on < a.valid_from:
        return f"the account is valid from {a.valid_from.isoformat()}, not on {on.isoformat()}"
    if a.valid_to is not None and on > a.valid_to:
        return f"the account expired on {a.valid_to.isoformat()} (draw dated {on.isoformat()})"
    return None


def _new_account(
    name: str,
    limit: Decimal,
    unit: str,
    kind: str,
    valid_from: dt.date | None,
    valid_to: dt.date | None,
    attributes: dict | None,
    actor: str,
) -> Account:
    return Account(
        name=name,
        kind=kind,
        unit=unit,
        limit_amount=limit,
        valid_from=valid_from,
        valid_to=valid_to,
        attributes=canonical.dumps(attributes or {}),
        created_at=utcnow(),
        created_by=actor,
    )


def _same_terms(a: Account, b: Account) -> bool:
    return (a.kind, a.unit, a.limit_amount, a.valid_from, a.valid_to, a.attributes) == (
        b.kind,
        b.unit,
        b.limit_amount,
        b.valid_from,
        b.valid_to,
        b.attributes,
    )


def _draw(
    s: Session | Connection,
    acct: Account | _Held,
    amount: Decimal,
    ref: str,
    actor: str,
    on: dt.date,
    decision_id: str | None = None,
) -> DrawResult:
    """Draw from an account the caller has locked. Refuses (raises) rather than overshoot."""
    c = _conn(s)
    existing = _DRAWN_BY.one(c, {"account_id": acct.id, "ref": ref})
    drawn = acct.drawn or Decimal(0)
    remaining = acct.limit_amount - drawn
    if existing is not None:
        entry_id, drew = existing
        if drew != amount:
            raise Conflict(
                f"reference {ref!r} already drew {drew} {acct.unit} from {acct.name!r}, "
                f"not {amount}; nothing drawn"
            )
        released = _RELEASED.one(c, {"account_id": acct.id, "ref": ref}) is not None
        return DrawResult(
            "already_drawn", acct.name, amount, ref, entry_id, remaining, acct.unit, released
        )
    invalid = _invalid_on(acct, on)
    if invalid:
        raise DrawRefused(acct.name, amount, remaining, acct.unit, invalid)
    if amount > remaining:
        raise DrawRefused(
            acct.name, amount, remaining, acct.unit, "it exceeds the remaining balance"
        )
    row = {"account_id": acct.id, "kind": "draw", "amount": amount, "ref": ref, "reason": None, "actor": actor,
           "on_date": on, "created_at": utcnow(), "decision_id": decision_id}
    (entry_id,) = _ADD_ENTRY.one(c, row)
    _move(c, acct, amount)
    append_audit(c, "entry", f"entry:{entry_id}", entry_payload(SimpleNamespace(id=entry_id, **row), acct.name))
    return DrawResult("drawn", acct.name, amount, ref, entry_id, remaining - amount, acct.unit)


def _is_officer(s: Session, user: str) -> bool:
    u = s.get(User, user)
    return u is not None and u.role == OFFICER


def _count_officers(s: Session) -> int:
    return s.execute(
        select(func.count()).select_from(User).where(User.role == OFFICER)
    ).scalar_one()


# ----------------------------------------------------------------------------- decisions


@dataclass
class _Draw:
    account: str
    amount: Decimal
    ref: str
    open: dict | None


@dataclass
class _Decision:
    id: str
    outcome: str
    posture: str
    rule_set: str
    date: dt.date
    payload: str
    draws: list[_Draw]
    stored: dict = field(default_factory=dict)
    order_key: str | None = None
    content_hash: str | None = None
    version: int | None = None
    supersedes: int | None = None


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise ValueError(value)


def validate_decisions(decisions: list[dict]) -> list[_Decision]:
    """Check every decision dict; all problems are reported together (InputErrors)."""
    errors: list[InputError] = []
    out: list[_Decision] = []

    def bad(row: int, column: str, expected: str, got: object = None) -> None:
        errors.append(InputError("decisions", row, column, expected, got))

    if not isinstance(decisions, list | tuple):
        raise InputErrors(
            [
                InputError(
                    "decisions", None, None, "a list of decision dicts", type(decisions).__name__
                )
            ]
        )
    for i, d in enumerate(decisions):
        n = len(errors)
        if not isinstance(d, dict):
            bad(i, None, "a decision dict", type(d).__name__)
            continue
        did = d.get("id")
        if not isinstance(did, str) or not did.strip() or len(did) > 200:
            bad(i, "id", "a non-empty decision id (at most 200 characters)", did)
        if d.get("outcome") not in OUTCOMES:
            bad(i, "outcome", "one of " + ", ".join(OUTCOMES), d.get("outcome"))
        if d.get("posture") not in POSTURES:
            bad(i, "posture", "one of " + ", ".join(POSTURES), d.get("posture"))
        rs = d.get("rule_set")
        if not isinstance(rs, str) or not rs.strip() or len(rs) > 100:
            bad(i, "rule_set", "the rule-set version (a non-empty string)", rs)
        try:
            date = _as_date(d.get("date"))
        except (ValueError, TypeError):
            bad(i, "date", "a date YYYY-MM-DD", d.get("date"))
            date = None
        rules = d.get("rules")
        if not isinstance(rules, list | tuple) or not all(isinstance(r, str) for r in rules):
            bad(i, "rules", "a list of rule ids", rules)
        if not isinstance(d.get("inputs"), dict):
            bad(i, "inputs", "a dict of the inputs decided on", d.get("inputs"))
        for key in ("eccn", "license_exception", "review_policy"):
            if d.get(key) is not None and not isinstance(d.get(key), str):
                bad(i, key, "a string or null", d.get(key))
        for key in ("obligations", "needs_facts"):
            if d.get(key) is not None and not isinstance(d.get(key), list | tuple):
                bad(i, key, "a list or null", d.get(key))
        draws: list[_Draw] = []
        raw_draws = d.get("draws") or []
        if not isinstance(raw_draws, list | tuple):
            bad(i, "draws", "a list of {account, amount, ref}", raw_draws)
            raw_draws = []
        for j, dr in enumerate(raw_draws):
            col = f"draws[{j}]"
            if not isinstance(dr, dict):
                bad(i, col, "a dict {account, amount, ref}", dr)
                continue
            acct, ref = dr.get("account"), dr.get("ref")
            if not isinstance(acct, str) or not acct.strip() or len(acct) > 200:
                bad(i, f"{col}.account", "an account name", acct)
            if not isinstance(ref, str) or not ref.strip() or len(ref) > 200:
                bad(i, f"{col}.ref", "a draw reference (non-empty string)", ref)
            try:
                amount = to_amount(dr.get("amount"))
                if amount <= 0:
                    raise AmountError("a positive amount")
            except AmountError as exc:
                bad(i, f"{col}.amount", str(exc), dr.get("amount"))
                amount = Decimal(0)
            spec = dr.get("open")
            if spec is not None:
                try:
                    spec = _open_spec(spec)
                except ValueError as exc:
                    bad(i, f"{col}.open", str(exc), dr.get("open"))
            draws.append(_Draw(acct, amount, ref, spec))
        stored = dict(d)
        if date is not None:
            stored["date"] = date
        try:
            payload = canonical.dumps(stored)
        except ValueError as exc:
            bad(i, None, f"JSON-recordable values ({exc})")
            payload = ""
        version = d.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
            bad(i, "version", "a positive integer", version)
        supersedes = d.get("supersedes")
        if supersedes is not None and (not isinstance(supersedes, int) or isinstance(supersedes, bool)):
            bad(i, "supersedes", "the record id of the superseded decision", supersedes)
        for key in ("order_key", "content_hash"):
            if d.get(key) is not None and (not isinstance(d.get(key), str) or len(d[key]) > 200):
                bad(i, key, "a string", d.get(key))
        if len(errors) == n:
            out.append(_Decision(did, d["outcome"], d["posture"], rs, date, payload, draws, stored,
                                 d.get("order_key"), d.get("content_hash"), version, supersedes))
    if errors:
        raise InputErrors(errors)
    return out


def _open_spec(spec: dict) -> dict:
    if not isinstance(spec, dict):
        raise ValueError("a dict {limit, unit, kind, valid_from, valid_to, attributes}")
    try:
        limit = to_amount(spec.get("limit"))
    except AmountError as exc:
        raise ValueError(f"limit: {exc}") from None
    unit, kind = spec.get("unit", "tpp"), spec.get("kind", "quota")
    if unit not in UNITS:
        raise ValueError("unit: one of " + ", ".join(UNITS))
    if kind not in ACCOUNT_KINDS:
        raise ValueError("kind: one of " + ", ".join(ACCOUNT_KINDS))
    try:
        vf = _as_date(spec["valid_from"]) if spec.get("valid_from") is not None else None
        vt = _as_date(spec["valid_to"]) if spec.get("valid_to") is not None else None
    except (ValueError, TypeError):
        raise ValueError("valid_from/valid_to: dates YYYY-MM-DD") from None
    attrs = spec.get("attributes") or {}
    if not isinstance(attrs, dict):
        raise ValueError("attributes: a dict")
    return {
        "limit": limit,
        "unit": unit,
        "kind": kind,
        "valid_from": vf,
        "valid_to": vt,
        "attributes": attrs,
    }


def _record(s: Session, decisions: list[_Decision], actor: str, hold_refused: bool = False,
            refused_out: list[str] | None = None) -> list[int]:
    # Lock (or create) every account the batch draws from, in name order, before any audit append.
    specs: dict[str, dict | None] = {}
    for dec in decisions:
        for dr in dec.draws:
            if specs.get(dr.account) is None:
                specs[dr.account] = dr.open
    # The accounts a superseded version drew from are released below: lock them now, in the same
    # name order, so that no account lock is taken after the audit head's.
    old_ids = [dec.supersedes for dec in decisions if dec.supersedes is not None]
    if old_ids:
        old_names = s.execute(
            select(Account.name).join(Entry, Entry.account_id == Account.id)
            .join(Decision, Decision.decision_id == Entry.decision_id)
            .where(Decision.id.in_(old_ids))
        ).scalars()
        for name in old_names:
            specs.setdefault(name, None)
    accounts: dict[str, Account] = {}
    created: list[Account] = []
    for name in sorted(specs):
        a = _lock_account(s, name)
        if a is None:
            spec = specs[name]
            if spec is None:
                raise UnknownAccount(name)
            a = _new_account(name, actor=actor, **spec)
            s.add(a)
            s.flush()
            created.append(a)
        accounts[name] = a
    for a in created:
        append_audit(s, "account", f"account:{a.id}", account_payload(a))

    ids: list[int] = []
    for dec in decisions:
        existing = s.execute(
            select(Decision).where(Decision.decision_id == dec.id)
        ).scalar_one_or_none()
        if existing is not None:
            same = (existing.content_hash == dec.content_hash) if dec.content_hash else existing.payload == dec.payload
            if not same:
                raise Conflict(f"decision {dec.id!r} is already recorded with different content")
            ids.append(existing.id)
            continue
        # A draw that does not fit (an allocation used up, an account not valid on the date)
        # does not refuse the batch: this decision is recorded with the refusal and held.
        refused, fitting = [], []
        for dr in dec.draws:
            acct = accounts[dr.account]
            reason = _refusal(s, acct, dr, dec.date) if hold_refused else None
            if reason is None:
                fitting.append(dr)
            else:
                remaining = acct.limit_amount - (acct.drawn or Decimal(0))
                refused.append({"account": dr.account, "amount": dr.amount, "ref": dr.ref, "reason": reason,
                                "remaining": remaining})
        payload = dec.payload
        if refused:
            payload = canonical.dumps({**dec.stored, "draws_refused": refused})
            if refused_out is not None:
                refused_out.append(dec.id)
        rec = Decision(
            decision_id=dec.id,
            outcome=dec.outcome,
            posture=dec.posture,
            rule_set=dec.rule_set,
            date=dec.date,
            actor=actor,
            recorded_at=utcnow(),
            payload=payload,
            order_key=dec.order_key,
            content_hash=dec.content_hash,
            version=dec.version,
            supersedes=dec.supersedes,
        )
        s.add(rec)
        s.flush()
        if dec.supersedes is not None:
            _supersede(s, dec.supersedes, rec, actor)
        append_audit(s, "decision", f"decision:{rec.id}", decision_payload(rec))
        for dr in fitting:
            _draw(s, accounts[dr.account], dr.amount, dr.ref, actor, dec.date, decision_id=dec.id)
        if dec.outcome in HELD_OUTCOMES or refused:
            h = Hold(
                decision_record_id=rec.id,
                decision_id=dec.id,
                outcome=dec.outcome,
                status="open",
                created_at=utcnow(),
                created_by=actor,
            )
            s.add(h)
            s.flush()
            append_audit(s, "hold", f"hold:{h.id}", hold_payload(h))
        ids.append(rec.id)
    return ids


def _refusal(s: Session, acct: Account, dr: _Draw, on: dt.date) -> str | None:
    """Why a draw would be refused (None: it fits, or the same reference already drew it)."""
    if s.execute(
        select(Entry.id).where(Entry.account_id == acct.id, Entry.kind == "draw", Entry.ref == dr.ref)
    ).first() is not None:
        return None  # _draw decides: the same amount again is a no-op, another amount a Conflict
    invalid = _invalid_on(acct, on)
    if invalid:
        return invalid
    if dr.amount > acct.limit_amount - (acct.drawn or Decimal(0)):
        return "it exceeds the remaining balance"
    return None


def _release_draws(s: Session, decision_id: str, reason: str, actor: str) -> list[dict]:
    """Return every amount a decision drew and that is not yet released (audited entries)."""
    draws = list(s.execute(
        select(Entry).where(Entry.decision_id == decision_id, Entry.kind == "draw").order_by(Entry.id)
    ).scalars())
    out = []
    names = {}
    for a_id in sorted({e.account_id for e in draws}):
        a = s.execute(select(Account).where(Account.id == a_id).with_for_update()).scalar_one()
        names[a_id] = a
    for e in draws:
        a = names[e.account_id]
        done = s.execute(
            select(Entry.id).where(Entry.account_id == a.id, Entry.kind == "release", Entry.ref == e.ref)
        ).first()
        if done is not None:
            continue
        r = Entry(account_id=a.id, kind="release", amount=-e.amount, ref=e.ref, reason=reason, actor=actor,
                  on_date=None, created_at=utcnow(), decision_id=decision_id)
        s.add(r)
        _move(s, a, r.amount)
        s.flush()
        append_audit(s, "entry", f"entry:{r.id}", entry_payload(r, a.name))
        out.append({"account": a.name, "amount": e.amount, "ref": e.ref})
    return out


def _supersede(s: Session, old_record_id: int, new: Decision, actor: str) -> None:
    """An amended order: the old version's draws are returned and its open hold is closed as
    superseded. The old decision record itself is never changed (it stays in the chain)."""
    old = s.get(Decision, old_record_id)
    if old is None:
        raise Conflict(f"decision record {old_record_id} to supersede does not exist")
    _release_draws(s, old.decision_id, f"superseded by {new.decision_id}", actor)
    h = s.execute(
        select(Hold).where(Hold.decision_record_id == old.id).with_for_update()
    ).scalar_one_or_none()
    if h is not None and h.status == "open":
        h.status = "superseded"
        h.resolved_by, h.resolved_at = actor, utcnow()
        h.reason_code, h.reason_text = "SUPERSEDED", f"order amended: superseded by {new.decision_id}"
        s.flush()
        append_audit(s, "hold", f"hold:{h.id}", hold_payload(h))


def _account_name(account: str, period: object | None) -> str:
    return account if period is None else f"{account}:{period}"


def _consumed(s: Session, account: str, period: object | None = None) -> Decimal:
    a = s.execute(
        select(Account).where(Account.name == _account_name(account, period))
    ).scalar_one_or_none()
    return Decimal(0) if a is None else (a.drawn or Decimal(0))


# ----------------------------------------------------------------------------- the ledger


def _retryable(exc: Exception) -> bool:
    """A PostgreSQL serialization failure or deadlock (lock contention is ``is_lock_contention``)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in ("40001", "40P01")


class Ledger:
    """A handle on one ledger database. Cheap to keep for the life of a process."""

    def __init__(
        self,
        url: str | None = None,
        *,
        migrate: bool = True,
        engine: Engine | None = None,
        read_only: bool = False,
    ):
        """read_only: never create a database (a mistyped path is an error, not an empty ledger
        that verifies as intact); an existing one is still brought up to the current schema."""
        self.url = db.resolve_url(url, read_only=read_only)
        if read_only and engine is None and not db.exists(self.url):
            raise db.NoLedger(self.url)
        self.engine = engine or db.create(self.url)
        if read_only and db.current_revision(self.engine) is None:
            self.engine.dispose()
            raise db.NoLedger(self.url)
        if migrate:
            db.ensure_schema(self.engine)

    @classmethod
    def open(cls, url: str | None = None) -> Ledger:
        return cls(url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            yield s

    def _run(self, fn: Callable[[Any], T], retry_integrity: bool = False, core: bool = False) -> T:
        """``fn`` in a transaction (an ORM session; ``core``: a Core connection), retried on
        serialisation failures and deadlocks. A lock another writer held past the busy timeout
        (SQLite's, PostgreSQL's lock_timeout) is retried once, then ``LedgerBusy``."""
        busy = 0
        for attempt in range(8):
            try:
                with self.engine.begin() if core else self.transaction() as s:
                    return fn(s)
            except (IntegrityError, OperationalError) as exc:
                contended = is_lock_contention(exc)
                if contended:
                    busy += 1  # the busy timeout has already waited: retry once, then give up
                    if busy > 1:
                        raise LedgerBusy(self.url, exc) from None
                if attempt == 7 or not (
                    contended or _retryable(exc) or (retry_integrity and isinstance(exc, IntegrityError))
                ):
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    # -- accounts

    def open_account(
        self,
        name: str,
        limit: object,
        *,
        unit: str = "tpp",
        kind: str = "license",
        valid_from: dt.date | None = None,
        valid_to: dt.date | None = None,
        attributes: dict | None = None,
        actor: str | None = None,
    ) -> tuple[Balance, bool]:
        """Open an account; returns (balance, created). Re-opening with the same terms is a no-op."""
        actor = resolve_actor(actor)
        _check_name(name)
        limit_d = to_amount(limit)
        if limit_d < 0:
            raise AmountError("a limit of zero or more")
        if unit == "units" and limit_d != limit_d.to_integral_value():
            raise AmountError("limit: a whole number of units (chips are not divisible)")
        if unit not in UNITS:
            raise ValueError("unit: one of " + ", ".join(UNITS))
        if kind not in ACCOUNT_KINDS:
            raise ValueError("kind: one of " + ", ".join(ACCOUNT_KINDS))
        if valid_from and valid_to and valid_to < valid_from:
            raise ValueError("valid_to on or after valid_from")
        proposed = _new_account(name, limit_d, unit, kind, valid_from, valid_to, attributes, actor)

        def fn(s: Session) -> tuple[Balance, bool]:
            a = _lock_account(s, name)
            if a is not None:
                if not _same_terms(a, proposed):
                    raise Conflict(
                        f"account {name!r} is already open with other terms "
                        f"(limit {a.limit_amount} {a.unit}, {a.kind}, valid {a.valid_from}..{a.valid_to})"
                    )
                return _balance(s, a), False
            a = _new_account(name, limit_d, unit, kind, valid_from, valid_to, attributes, actor)
            s.add(a)
            s.flush()
            append_audit(s, "account", f"account:{a.id}", account_payload(a))
            return _balance(s, a), True

        return self._run(fn, retry_integrity=True)

    def draw(
        self,
        account: str,
        amount: object,
        ref: str,
        *,
        actor: str | None = None,
        on: dt.date | None = None,
    ) -> DrawResult:
        """Draw `amount`; idempotent on `ref`. Raises DrawRefused (nothing drawn) when it does not fit."""
        actor = resolve_actor(actor)
        amount_d = to_amount(amount)
        if amount_d <= 0:
            raise AmountError("a positive amount")
        if not ref or not ref.strip():
            raise ValueError("ref: a non-empty reference")
        on = on or dt.date.today()

        def fn(c: Connection) -> DrawResult:  # (no ORM session: a connection's transaction)
            row = _LOCK_ACCOUNT_ROW.one(c, {"name": account})
            if row is None:
                raise UnknownAccount(account)
            a = _Held(*row)
            if a.unit == "units" and amount_d != amount_d.to_integral_value():
                raise AmountError(f"AMOUNT: a whole number of units ({account} counts units)")
            return _draw(c, a, amount_d, ref, actor, on)

        return self._run(fn, core=True)

    def release(self, account: str, ref: str, reason: str, *, actor: str | None = None) -> dict:
        """Return a draw's amount to the balance; idempotent (a second release is a no-op)."""
        actor = resolve_actor(actor)
        if not reason or not reason.strip():
            raise ValueError("reason: a non-empty reason")

        def fn(s: Session) -> dict:
            a = _lock_account(s, account)
            if a is None:
                raise UnknownAccount(account)
            draw = s.execute(
                select(Entry).where(
                    Entry.account_id == a.id, Entry.kind == "draw", Entry.ref == ref
                )
            ).scalar_one_or_none()
            if draw is None:
                raise UnknownReference(account, ref)
            prior = s.execute(
                select(Entry).where(
                    Entry.account_id == a.id, Entry.kind == "release", Entry.ref == ref
                )
            ).scalar_one_or_none()
            if prior is not None:
                return {
                    "status": "already_released",
                    "entry_id": prior.id,
                    **_balance(s, a).as_dict(),
                }
            e = Entry(
                account_id=a.id,
                kind="release",
                amount=-draw.amount,
                ref=ref,
                reason=reason,
                actor=actor,
                on_date=None,
                created_at=utcnow(),
            )
            s.add(e)
            _move(s, a, e.amount)
            s.flush()
            append_audit(s, "entry", f"entry:{e.id}", entry_payload(e, a.name))
            return {"status": "released", "entry_id": e.id, **_balance(s, a).as_dict()}

        return self._run(fn)

    def adjust(
        self, account: str, amount: object, reason: str, *, actor: str | None = None
    ) -> dict:
        """Correct the drawn amount (+ consumes, - restores) with a reason; drawn never goes below 0."""
        actor = resolve_actor(actor)
        amount_d = to_amount(amount)
        if amount_d == 0:
            raise AmountError("a non-zero amount")
        if not reason or not reason.strip():
            raise ValueError("reason: a non-empty reason")

        def fn(s: Session) -> dict:
            a = _lock_account(s, account)
            if a is None:
                raise UnknownAccount(account)
            drawn = a.drawn or Decimal(0)
            if drawn + amount_d < 0:
                raise Conflict(
                    f"adjusting {account!r} by {amount_d} would make drawn negative (drawn {drawn})"
                )
            e = Entry(
                account_id=a.id,
                kind="adjust",
                amount=amount_d,
                ref=None,
                reason=reason,
                actor=actor,
                on_date=None,
                created_at=utcnow(),
            )
            s.add(e)
            _move(s, a, amount_d)
            s.flush()
            append_audit(s, "entry", f"entry:{e.id}", entry_payload(e, a.name))
            return {"status": "adjusted", "entry_id": e.id, **_balance(s, a).as_dict()}

        return self._run(fn)

    def balance(self, account: str) -> Balance:
        with self.transaction() as s:
            return _balance(s, _get_account(s, account))

    def accounts(self) -> list[Balance]:
        with self.transaction() as s:
            return [
                _balance(s, a) for a in s.execute(select(Account).order_by(Account.name)).scalars()
            ]

    def history(self, account: str) -> list[dict]:
        with self.transaction() as s:
            a = _get_account(s, account)
            rows = s.execute(
                select(Entry).where(Entry.account_id == a.id).order_by(Entry.id)
            ).scalars()
            out, drawn = [], Decimal(0)
            for e in rows:
                drawn += e.amount
                p = entry_payload(e, a.name)
                p.pop("type")
                p.pop("account_id")
                p["drawn_after"] = drawn
                p["remaining_after"] = a.limit_amount - drawn
                out.append(p)
            return out

    def consumed(self, account: str, period: object | None = None) -> Decimal:
        """Drawn so far from `account` (or `account:period`); 0 when the account does not exist."""
        with self.transaction() as s:
            return _consumed(s, account, period)

    # -- decisions and holds

    def record_decisions(
        self, decisions: list[dict], actor: str | None = None, *, hold_refused: bool = False,
        refused_out: list[str] | None = None,
    ) -> list[int]:
        """Record decisions, their draws and holds in one transaction: all or nothing. With
        ``hold_refused``, a decision whose draw does not fit is recorded without that draw, with
        the refusal in its payload (``draws_refused``) and a hold, instead of refusing the batch."""
        actor = resolve_actor(actor)
        validated = validate_decisions(decisions)
        def fn(s: Session) -> list[int]:
            out: list[str] = []
            ids = _record(s, validated, actor, hold_refused, out)
            if refused_out is not None:
                refused_out.extend(out)  # only once the transaction is the one that commits
            return ids

        return self._run(fn, retry_integrity=True)

    def decision(self, decision_id: str) -> dict | None:
        with self.transaction() as s:
            d = s.execute(
                select(Decision).where(Decision.decision_id == decision_id)
            ).scalar_one_or_none()
            return None if d is None else decision_payload(d)

    def latest_versions(self, order_keys: list[str]) -> dict[str, dict]:
        """The latest recorded version of each order key (decisions recorded before versions
        existed are version 1, found by their decision id)."""
        out: dict[str, dict] = {}
        keys = list(dict.fromkeys(order_keys))
        with self.transaction() as s:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                rows = s.execute(
                    select(Decision).where(
                        (Decision.order_key.in_(part))
                        | (Decision.order_key.is_(None) & Decision.decision_id.in_(part))
                    )
                ).scalars()
                for d in rows:
                    key = d.order_key or d.decision_id
                    v = d.version or 1
                    if key not in out or v > out[key]["version"]:
                        out[key] = {**decision_payload(d), "version": v, "content_hash": d.content_hash}
        return out

    def unreleased_draws(self, decision_ids: list[str]) -> dict[str, Decimal]:
        """Per account, what these decisions drew and is not released (for re-deciding them)."""
        out: dict[str, Decimal] = {}
        ids = list(dict.fromkeys(decision_ids))
        with self.transaction() as s:
            for i in range(0, len(ids), 500):
                rows = s.execute(
                    select(Account.name, Entry.amount, Entry.kind)
                    .join(Account, Account.id == Entry.account_id)
                    .where(Entry.decision_id.in_(ids[i : i + 500]))
                ).all()
                for name, amount, _kind in rows:
                    out[name] = out.get(name, Decimal(0)) + amount
        return out

    def holds(self, status: str | None = "open") -> list[dict]:
        with self.transaction() as s:
            q = select(Hold).order_by(Hold.id)
            if status is not None:
                q = q.where(Hold.status == status)
            out = []
            for h in s.execute(q).scalars():
                d = hold_dict(h)
                dec = s.get(Decision, h.decision_record_id)
                d["decision"] = canonical.loads(dec.payload) if dec else None
                out.append(d)
            return out

    def resolve_hold(
        self,
        hold_id: int,
        action: str,
        reason_code: str,
        reason_text: str,
        *,
        actor: str | None = None,
    ) -> dict:
        """Release or reject an open hold; only an officer may."""
        actor = resolve_actor(actor)
        codes = {"release": RELEASE_CODES, "reject": REJECT_CODES}[action]
        if reason_code not in codes:
            raise ValueError(f"reason code: one of {', '.join(codes)}")
        if not reason_text or not reason_text.strip():
            raise ValueError("reason: a non-empty text")

        def fn(s: Session) -> dict:
            if not _is_officer(s, actor):
                raise NotPermitted(f"{actor!r} is not an officer; only officers may {action} holds")
            h = s.execute(
                select(Hold).where(Hold.id == hold_id).with_for_update()
            ).scalar_one_or_none()
            if h is None:
                raise UnknownHold(hold_id)
            if h.status != "open":
                raise Conflict(
                    f"hold {hold_id} is already {h.status} (by {h.resolved_by} at {h.resolved_at})"
                )
            h.status = "released" if action == "release" else "rejected"
            h.resolved_by, h.resolved_at = actor, utcnow()
            h.reason_code, h.reason_text = reason_code, reason_text
            s.flush()
            returned = []
            if action == "reject":  # the rejected order will not ship: give back what it drew
                returned = _release_draws(s, h.decision_id, f"hold {h.id} rejected ({reason_code})", actor)
            append_audit(s, "hold", f"hold:{h.id}", hold_payload(h))
            out = hold_dict(h)
            if returned:
                out["released_draws"] = returned
            return out

        return self._run(fn)

    def release_hold(
        self, hold_id: int, reason_code: str, reason_text: str, *, actor: str | None = None
    ) -> dict:
        return self.resolve_hold(hold_id, "release", reason_code, reason_text, actor=actor)

    def reject_hold(
        self, hold_id: int, reason_code: str, reason_text: str, *, actor: str | None = None
    ) -> dict:
        return self.resolve_hold(hold_id, "reject", reason_code, reason_text, actor=actor)

    def officers(self) -> list[dict]:
        with self.transaction() as s:
            return [
                {k: v for k, v in user_payload(u).items() if k != "type"}
                for u in s.execute(select(User).order_by(User.name)).scalars()
            ]

    def grant(self, user: str, *, actor: str | None = None, role: str = OFFICER) -> bool:
        """Make `user` an officer. The first officer may be granted by anyone (bootstrap);
        after that only an officer may grant. Returns False when already granted."""
        actor = resolve_actor(actor)
        if role != OFFICER:
            raise ValueError(f"role: {OFFICER}")
        if not user or not user.strip():
            raise ValueError("user: a user name")

        def fn(s: Session) -> bool:
            s.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
            if _count_officers(s) > 0 and not _is_officer(s, actor):
                raise NotPermitted(
                    f"{actor!r} is not an officer; only officers may grant the officer role"
                )
            if s.get(User, user) is not None:
                return False
            u = User(name=user, role=role, granted_by=actor, granted_at=utcnow())
            s.add(u)
            s.flush()
            append_audit(s, "user", f"user:{user}", user_payload(u))
            return True

        return self._run(fn, retry_integrity=True)

    def revoke(self, user: str, *, actor: str | None = None) -> bool:
        actor = resolve_actor(actor)

        def fn(s: Session) -> bool:
            s.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
            if not _is_officer(s, actor):
                raise NotPermitted(
                    f"{actor!r} is not an officer; only officers may revoke the role"
                )
            u = s.get(User, user)
            if u is None:
                return False
            if _count_officers(s) == 1:
                raise Conflict(f"{user!r} is the last officer; grant another officer first")
            s.delete(u)
            s.flush()
            append_audit(
                s,
                "user",
                f"user:{user}",
                {
                    "type": "user",
                    "name": user,
                    "role": None,
                    "revoked_by": actor,
                    "revoked_at": utcnow(),
                },
            )
            return True

        return self._run(fn)

    # -- audit

    def audit_log(self, limit: int | None = None) -> list[dict]:
        with self.transaction() as s:
            q = select(AuditRecord).order_by(AuditRecord.seq.desc())
            if limit:
                q = q.limit(limit)
            rows = list(s.execute(q).scalars())
        return [
            {
                "seq": r.seq,
                "kind": r.kind,
                "subject": r.subject,
                "hash": r.hash,
                "prev_hash": r.prev_hash,
                "payload": canonical.loads(r.payload),
            }
            for r in reversed(rows)
        ]

    def verify(self, against: dict | None = None) -> VerifyResult:
        """Walk the chain; with a checkpoint kept elsewhere, also detect truncation and rewriting
        up to the checkpoint (the head row and the log can be rolled back together; the
        checkpoint cannot)."""
        with self.transaction() as s:
            result = verify_chain(s)
            if against is not None:
                problem = _against_checkpoint(s, against)
                if problem:
                    result.problems.insert(0, problem)
                    result.ok = False
            return result

    def checkpoint(self, key: bytes | None = None) -> dict:
        """The chain's head (seq, hash, entries, time), HMAC-SHA256-signed when a key is given."""
        with self.transaction() as s:
            head = s.get(AuditHead, 1)
            count = s.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
        cp = {
            "type": "aiexport-audit-checkpoint",
            "ledger": db.display_url(self.url),
            "seq": head.seq,
            "hash": head.hash,
            "entries": count,
            "time": utcnow(),
        }
        if key:
            cp["signature"] = sign_checkpoint(cp, key)
        return cp


# Other modules register a function (session -> (subject, payload, label) per stored row) so that
# verify_chain checks their audited rows too (the screening module does: list versions, dispositions).
AUDITED_RECORDS: list[Callable[[Session], Any]] = []


def sign_checkpoint(cp: dict, key: bytes) -> str:
    import hmac

    body = canonical.dumps({k: v for k, v in cp.items() if k != "signature"})
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def check_checkpoint(cp: object, key: bytes | None = None) -> dict:
    """A checkpoint read back: its fields, and its signature when a key is given."""
    import hmac

    if not isinstance(cp, dict) or cp.get("type") != "aiexport-audit-checkpoint":
        raise ValueError("checkpoint: the JSON printed by `aiexport audit checkpoint`")
    seq, h = cp.get("seq"), cp.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or not isinstance(h, str) or len(h) != 64:
        raise ValueError("checkpoint: a seq (integer) and a hash (64 hex digits)")
    if key is not None:
        sig = cp.get("signature")
        if not isinstance(sig, str) or not hmac.compare_digest(sig, sign_checkpoint(cp, key)):
            raise ValueError("checkpoint: a signature made with this key (it is missing or does not match: the "
                             "checkpoint was altered, or signed with another key)")
    return cp


def _against_checkpoint(s: Session, cp: dict) -> str | None:
    seq, want = cp["seq"], cp["hash"]
    when = cp.get("time", "?")
    head = s.get(AuditHead, 1)
    last = s.execute(select(func.max(AuditRecord.seq))).scalar() or 0
    if seq == 0:
        return None
    if last < seq or (head is not None and head.seq < seq):
        return (f"the checkpoint of {when} says the chain had {seq} entries (head {want[:16]}…), but the log "
                f"ends at #{last}: entries after #{last} were deleted (truncated)")
    rec = s.get(AuditRecord, seq)
    if rec is None or rec.hash != want:
        got = rec.hash[:16] + "…" if rec else "nothing"
        return (f"audit entry #{seq} has hash {got} but the checkpoint of {when} says {want[:16]}…: "
                "the chain was rewritten up to the checkpoint")
    return None


def verify_chain(s: Session) -> VerifyResult:
    """Walk the chain from the genesis; then check every stored row against its last audit record."""
    head = s.get(AuditHead, 1)
    result = VerifyResult(True, 0, head.seq if head else -1, head.hash if head else "")
    if head is None:
        result.ok = False
        result.problems.append("the audit head row is missing")
        return result
    prev, expected_seq = GENESIS_HASH, 1
    last: dict[str, tuple[int, str]] = {}
    for rec in s.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars():
        where = f"audit entry #{rec.seq} ({rec.subject})"
        if rec.seq != expected_seq:
            result.problems.append(
                f"audit entry #{expected_seq} is missing (the log jumps to #{rec.seq}): deleted or reordered"
            )
            break
        if rec.prev_hash != prev:
            result.problems.append(
                f"{where}: its prev_hash does not match entry #{rec.seq - 1}: reordered, inserted or an earlier entry deleted"
            )
            break
        if chain_hash(rec.prev_hash, rec.payload) != rec.hash:
            result.problems.append(f"{where}: its content does not match its hash: changed")
            break
        prev, expected_seq = rec.hash, expected_seq + 1
        result.checked += 1
        last[rec.subject] = (rec.seq, rec.payload)
    if result.problems:
        result.ok = False
        return result
    if head.seq != expected_seq - 1 or head.hash != prev:
        result.problems.append(
            f"audit entry #{expected_seq}: the log ends at #{expected_seq - 1} but its head says #{head.seq}: "
            "the last entries were deleted"
        )
        result.ok = False
        return result

    found: list[tuple[int, str]] = []
    seen: set[str] = set()
    names = {a.id: a.name for a in s.execute(select(Account)).scalars()}

    def check(subject: str, payload: dict, what: str) -> None:
        seen.add(subject)
        if subject not in last:
            found.append((10**18, f"{what} is not in the audit log: inserted outside the ledger"))
            return
        seq, text = last[subject]
        if canonical.dumps(payload) != text:
            found.append((seq, f"{what} differs from audit entry #{seq}: changed"))

    for a in s.execute(select(Account)).scalars():
        check(f"account:{a.id}", account_payload(a), f"account {a.id} ({a.name})")
    for e in s.execute(select(Entry)).scalars():
        check(
            f"entry:{e.id}", entry_payload(e, names.get(e.account_id, "?")), f"ledger entry {e.id}"
        )
    for d in s.execute(select(Decision)).scalars():
        check(f"decision:{d.id}", decision_payload(d), f"decision record {d.id} ({d.decision_id})")
        problem = decision_columns_problem(d)
        if problem:
            found.append((last.get(f"decision:{d.id}", (10**18, ""))[0],
                          f"decision record {d.id} ({d.decision_id}): {problem}: changed"))
    sums = dict(s.execute(select(Entry.account_id, func.sum(Entry.amount)).group_by(Entry.account_id)).all())
    for a in s.execute(select(Account)).scalars():
        total = sums.get(a.id) or Decimal(0)
        if (a.drawn or Decimal(0)) != total:
            found.append((2 * 10**18 + a.id,
                          f"account {a.id} ({a.name}): running total drawn {a.drawn} but its entries sum to {total}: changed"))
    for h in s.execute(select(Hold)).scalars():
        check(f"hold:{h.id}", hold_payload(h), f"hold {h.id}")
    for u in s.execute(select(User)).scalars():
        check(f"user:{u.name}", user_payload(u), f"user {u.name}")
    for records in AUDITED_RECORDS:  # other modules' audited rows (screening lists, dispositions)
        for subject, payload, what in records(s):
            check(subject, payload, what)
    for subject, (seq, text) in last.items():
        if subject in seen:
            continue
        if subject.startswith("user:") and canonical.loads(text).get("role") is None:
            continue
        kind, _, key = subject.partition(":")
        label = {"entry": "ledger entry", "decision": "decision record"}.get(kind, kind)
        found.append(
            (seq, f"{label} {key} (audit entry #{seq}) is missing from the database: deleted")
        )
    found.sort()
    result.problems.extend(p for _, p in found)
    result.ok = not result.problems
    return result


# ----------------------------------------------------------------------------- module API


def _with_session(
    target: Ledger | Session, fn: Callable[[Session], T], retry_integrity: bool = False
) -> T:
    if isinstance(target, Ledger):
        return target._run(fn, retry_integrity=retry_integrity)
    if isinstance(target, Session):
        return fn(target)
    raise TypeError("expected a Ledger or a SQLAlchemy Session")


def record_decisions(
    session_or_ledger: Ledger | Session, decisions: list[dict], actor: str | None = None,
    *, hold_refused: bool = False,
) -> list[int]:
    """Record decisions atomically; returns their record ids (in input order).

    With a Ledger, one transaction is opened and committed here. With a Session, the work joins
    the caller's transaction (the caller commits or rolls back)."""
    actor = resolve_actor(actor)
    validated = validate_decisions(decisions)
    return _with_session(
        session_or_ledger, lambda s: _record(s, validated, actor, hold_refused), retry_integrity=True
    )


def consumed(
    session_or_ledger: Ledger | Session, account: str, period: object | None = None
) -> Decimal:
    """Drawn so far from `account` (or `account:period`, e.g. ("lpp:ACME", 2025)); 0 when unopened."""
    return _with_session(session_or_ledger, lambda s: _consumed(s, account, period))
