"""Tampering with one stored entry makes verify fail and name it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from aiexport.ledger import record_decisions
from tests.ledger.helpers import decision


@pytest.fixture
def filled(ledger):
    ledger.open_account("q", 1000, kind="quota")  # audit #1
    ledger.draw("q", 10, "a")  # entry 1, audit #2
    ledger.draw("q", 20, "b")  # entry 2, audit #3
    ledger.draw("q", 30, "c")  # entry 3, audit #4
    record_decisions(
        ledger, [decision(1, "LICENSE_REQUIRED")], actor="x"
    )  # audit #5 decision, #6 hold
    ledger.draw("q", 40, "d")  # entry 4, audit #7
    r = ledger.verify()
    assert r.ok and r.checked == 7 and r.head_seq == 7
    return ledger


def _sql(ledger, *statements: str) -> None:
    with ledger.engine.begin() as conn:
        for st in statements:
            conn.exec_driver_sql(st)


def test_changed_ledger_entry_is_named(filled):
    _sql(filled, "UPDATE ledger_entries SET amount = amount * 2 WHERE id = 2")
    r = filled.verify()
    assert not r.ok
    assert r.first == "ledger entry 2 differs from audit entry #3: changed"


def test_deleted_ledger_entry_is_named(filled):
    _sql(filled, "DELETE FROM ledger_entries WHERE id = 3")
    r = filled.verify()
    assert r.first == "ledger entry 3 (audit entry #4) is missing from the database: deleted"


def test_reordered_ledger_entries_are_named(filled):
    _sql(
        filled,
        "UPDATE ledger_entries SET id = 100 WHERE id = 1",
        "UPDATE ledger_entries SET id = 1 WHERE id = 2",
        "UPDATE ledger_entries SET id = 2 WHERE id = 100",
    )
    r = filled.verify()
    assert r.first == "ledger entry 1 differs from audit entry #2: changed"
    assert "ledger entry 2 differs from audit entry #3: changed" in r.problems


def test_changed_decision_record_is_named(filled):
    _sql(
        filled, "UPDATE ledger_decisions SET payload = replace(payload, 'LICENSE_REQUIRED', 'NLR')"
    )
    assert filled.verify().first == "decision record 1 (dec-1) differs from audit entry #5: changed"


def test_changed_audit_payload_is_named(filled):
    _sql(
        filled,
        "UPDATE audit_log SET payload = replace(payload, '\"amount\":20', '\"amount\":2') WHERE seq = 3",
    )
    assert (
        filled.verify().first
        == "audit entry #3 (entry:2): its content does not match its hash: changed"
    )


def test_rehashed_audit_entry_breaks_the_next_link(filled):
    from aiexport.ledger.service import chain_hash

    with filled.engine.begin() as conn:
        prev, payload = conn.execute(
            text("SELECT prev_hash, payload FROM audit_log WHERE seq = 3")
        ).one()
        forged = payload.replace('"amount":20', '"amount":2')
        conn.execute(
            text("UPDATE audit_log SET payload = :p, hash = :h WHERE seq = 3"),
            {"p": forged, "h": chain_hash(prev, forged)},
        )
    assert filled.verify().first.startswith(
        "audit entry #4 (entry:3): its prev_hash does not match"
    )


def test_deleted_audit_entry_is_named(filled):
    _sql(filled, "DELETE FROM audit_log WHERE seq = 4")
    assert (
        filled.verify().first
        == "audit entry #4 is missing (the log jumps to #5): deleted or reordered"
    )


def test_deleted_last_audit_entry_is_named(filled):
    _sql(filled, "DELETE FROM audit_log WHERE seq = 7")
    assert filled.verify().first.startswith(
        "audit entry #7: the log ends at #6 but its head says #7"
    )


def test_reordered_audit_entries_are_named(filled):
    _sql(
        filled,
        "UPDATE audit_log SET seq = 100 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = 100",
    )
    assert filled.verify().first.startswith(
        "audit entry #3 (entry:3): its prev_hash does not match"
    )


def test_entry_inserted_outside_the_ledger_is_named(filled):
    _sql(
        filled,
        "INSERT INTO ledger_entries (id, account_id, kind, amount, ref, actor, created_at) "
        "VALUES (50, 1, 'adjust', -40, NULL, 'mallory', '2026-01-01T00:00:00.000000Z')",
    )
    assert (
        filled.verify().first
        == "ledger entry 50 is not in the audit log: inserted outside the ledger"
    )
