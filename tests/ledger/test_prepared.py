"""The draw's statements run on the driver's cursor (``ledger.prepared``): what they write and read
back must be what SQLAlchemy would have written and read (amounts in micro-units on SQLite,
exact decimals on PostgreSQL, dates), and a driver error must reach the callers as SQLAlchemy's
exception, so that a duplicate reference is an IntegrityError and a lock held by another writer
is ``LedgerBusy``, not a raw driver error. Both databases."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError

from aiexport.ledger import Ledger
from aiexport.ledger.errors import LedgerBusy
from aiexport.ledger.models import Account, AuditHead, Entry
from aiexport.ledger.service import _ADD_ENTRY, _DRAWN_BY, _LOCK_ACCOUNT_ROW, utcnow


def test_values_written_and_read_back_as_sqlalchemy_would(ledger):
    ledger.open_account("A", "1000000.5", kind="allocation", valid_from=dt.date(2025, 1, 15))
    got = ledger.draw("A", "123456.654321", "r1", actor="t", on=dt.date(2025, 3, 1))
    assert got.status == "drawn" and got.remaining == Decimal("876543.845679")
    with ledger.transaction() as s:  # read back through the ORM: SQLAlchemy's own result processing
        e = s.execute(select(Entry).where(Entry.ref == "r1")).scalar_one()
        a = s.execute(select(Account).where(Account.name == "A")).scalar_one()
        head = s.get(AuditHead, 1)
    assert (e.amount, e.on_date, e.kind, e.account_id) == (Decimal("123456.654321"), dt.date(2025, 3, 1), "draw", a.id)
    assert a.drawn == Decimal("123456.654321")
    assert head.seq == 2  # the account, the entry
    with ledger.engine.begin() as c:  # and the prepared reads give the same values and types
        row = _LOCK_ACCOUNT_ROW.one(c, {"name": "A"})
        assert row == (a.id, "A", "tpp", Decimal("1000000.5"), Decimal("123456.654321"), dt.date(2025, 1, 15), None)
        assert isinstance(row[3], Decimal) and isinstance(row[5], dt.date)
        assert _DRAWN_BY.one(c, {"account_id": a.id, "ref": "r1"}) == (e.id, Decimal("123456.654321"))
        assert _DRAWN_BY.one(c, {"account_id": a.id, "ref": "nope"}) is None
    assert ledger.verify().ok


def test_a_driver_error_is_sqlalchemys(ledger):
    ledger.open_account("A", 10, kind="allocation")
    ledger.draw("A", 1, "r1", actor="t")
    with ledger.engine.begin() as c:
        (account_id,) = c.execute(text("SELECT id FROM ledger_accounts")).one()
    row = {"account_id": account_id, "kind": "draw", "amount": Decimal(1), "ref": "r1", "reason": None, "actor": "t",
           "on_date": None, "created_at": utcnow(), "decision_id": None}
    with pytest.raises(IntegrityError), ledger.engine.begin() as c:  # the same reference twice: unique
        _ADD_ENTRY.one(c, row)
    assert ledger.balance("A").drawn == 1 and ledger.verify().ok


def test_a_lock_held_by_another_writer_is_busy(db_url, monkeypatch):
    monkeypatch.setenv("AIEXPORT_BUSY_TIMEOUT", "0.2")
    led = Ledger(db_url)
    led.open_account("A", 10, kind="allocation")
    other = create_engine(db_url)
    try:
        if db_url.startswith("sqlite"):
            raw = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
            raw.execute("BEGIN IMMEDIATE")
            release = lambda: (raw.execute("ROLLBACK"), raw.close())  # noqa: E731
        else:  # the account row locked, as a concurrent draw holds it
            conn = other.connect()
            tx = conn.begin()
            conn.execute(text("SELECT id FROM ledger_accounts WHERE name = 'A' FOR UPDATE"))
            release = lambda: (tx.rollback(), conn.close())  # noqa: E731
        try:
            with pytest.raises(LedgerBusy):
                led.draw("A", 1, "r1", actor="t")
        finally:
            release()
        assert led.draw("A", 1, "r1", actor="t").status == "drawn"
        assert led.verify().ok
    finally:
        other.dispose()
        led.close()


def test_canonical_strings_are_what_json_dumps_wrote():
    """The hashed form of every audit payload: strings and keys encoded as ``json.dumps(s,
    ensure_ascii=False)`` encoded them when the chains on record were written."""
    import json

    from aiexport.ledger import canonical

    tricky = ['', 'plain', 'quote " and \\ backslash', 'tab\tnewline\ncr\r', '\x00\x1f\x7f', 'é 中文 😀',
              '\u2028\u2029', '\ud800', '</script>']
    for s in tricky:
        assert canonical.dumps(s) == json.dumps(s, ensure_ascii=False)
        assert canonical.dumps({s: [s, 1]}) == "{" + json.dumps(s, ensure_ascii=False) + ":[" + json.dumps(
            s, ensure_ascii=False) + ",1]}"


def test_a_ledger_opened_per_call_adds_no_compiled_statement(db_url):
    """Some lookups open a ledger (an engine, a dialect) per call: the statements are compiled
    once per kind of database, not once per engine, or a server would grow for ever."""
    from aiexport.ledger.db import _BEGIN_IMMEDIATE
    from aiexport.ledger.service import _LOCK_ACCOUNT_ROW

    first = Ledger(db_url)
    first.open_account("A", 100, kind="allocation")
    first.draw("A", 1, "r0", actor="t")
    first.close()
    sizes = (len(_ADD_ENTRY._by), len(_LOCK_ACCOUNT_ROW._by), len(_BEGIN_IMMEDIATE._by))
    for i in range(1, 6):
        led = Ledger(db_url, migrate=False)
        assert led.draw("A", 1, f"r{i}", actor="t").status == "drawn"
        led.close()
    assert (len(_ADD_ENTRY._by), len(_LOCK_ACCOUNT_ROW._by), len(_BEGIN_IMMEDIATE._by)) == sizes
