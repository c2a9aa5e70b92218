from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aiexport.errors import InputErrors
from aiexport.ledger import Conflict, DrawRefused, UnknownAccount, consumed, record_decisions
from aiexport.ledger.models import AuditRecord, Decision, Entry, Hold
from tests.ledger.helpers import LPP_2025, decision


def _counts(ledger) -> tuple[int, int, int, int]:
    with ledger.transaction() as s:
        return tuple(
            s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Decision, Entry, Hold, AuditRecord)
        )


def test_records_decisions_with_draws_and_holds(ledger):
    acct = "lpp:ACME-IN:2025"
    batch = [
        decision(
            1, draws=[{"account": acct, "amount": 15832 * 8, "ref": "dec-1", "open": LPP_2025}]
        ),
        decision(2, "LICENSE_REQUIRED"),
        decision(3, "NEEDS_FACTS"),
        decision(4, "NLR", rules=["3A090.a.1(not-met)"]),
    ]
    ids = record_decisions(ledger, batch, actor="erp-bot")
    assert len(ids) == 4 and len(set(ids)) == 4
    assert consumed(ledger, "lpp:ACME-IN", 2025) == Decimal(126656)
    assert ledger.consumed("lpp:ACME-IN:2025") == Decimal(126656)
    assert ledger.consumed("lpp:OTHER", 2025) == Decimal(0)
    b = ledger.balance(acct)
    assert (b.limit, b.kind) == (Decimal(26_900_000), "quota")
    holds = ledger.holds()
    assert [(h["decision_id"], h["outcome"]) for h in holds] == [
        ("dec-2", "LICENSE_REQUIRED"),
        ("dec-3", "NEEDS_FACTS"),
    ]
    stored = ledger.decision("dec-1")
    assert stored["actor"] == "erp-bot"
    assert stored["decision"]["rules"] == ["3A090.a.1", "740.29(a)"]
    assert stored["decision"]["inputs"]["tpp"] == 15832
    assert ledger.history(acct)[0]["decision_id"] == "dec-1"
    assert ledger.verify().ok


def test_batch_is_all_or_nothing(ledger):
    ledger.open_account("lpp:X:2025", 100, kind="quota")
    before = _counts(ledger)
    batch = [
        decision(1, draws=[{"account": "lpp:X:2025", "amount": 60, "ref": "a"}]),
        decision(2, "LICENSE_REQUIRED"),
        decision(3, draws=[{"account": "lpp:X:2025", "amount": 60, "ref": "b"}]),
    ]
    with pytest.raises(DrawRefused) as exc:
        record_decisions(ledger, batch, actor="bot")
    assert exc.value.remaining == Decimal(40)
    assert _counts(ledger) == before
    assert ledger.consumed("lpp:X:2025") == Decimal(0)
    with pytest.raises(UnknownAccount):
        record_decisions(
            ledger, [decision(9, draws=[{"account": "nope", "amount": 1, "ref": "x"}])], "bot"
        )
    assert _counts(ledger) == before
    assert ledger.verify().ok


def test_recording_is_idempotent_on_decision_id(ledger):
    ledger.open_account("q", 100, kind="quota")
    d = decision(1, "LICENSE_REQUIRED", draws=[{"account": "q", "amount": 10, "ref": "dec-1"}])
    first = record_decisions(ledger, [d], actor="a")
    before = _counts(ledger)
    assert record_decisions(ledger, [d], actor="a") == first
    assert _counts(ledger) == before
    assert ledger.consumed("q") == Decimal(10)
    changed = dict(d, outcome="NLR")
    with pytest.raises(Conflict):
        record_decisions(ledger, [changed], actor="a")


def test_draws_check_validity_on_the_decision_date(ledger):
    ledger.open_account("lpp:Y:2025", 100, kind="quota", valid_from=None, valid_to=None)
    d = decision(
        1,
        date="2026-02-01",
        draws=[{"account": "lpp:Z:2025", "amount": 1, "ref": "r", "open": LPP_2025}],
    )
    with pytest.raises(DrawRefused, match="expired"):
        record_decisions(ledger, [d], actor="a")
    # the account opened for the refused batch was rolled back with it
    assert ledger.consumed("lpp:Z", 2025) == Decimal(0)
    assert [b.account for b in ledger.accounts()] == ["lpp:Y:2025"]


def test_bad_decisions_are_reported_by_row_and_field(ledger):
    bad = [
        decision(1, outcome="MAYBE"),
        decision(2, date="March"),
        decision(3, draws=[{"account": "q", "amount": 1.5, "ref": ""}]),
        {**decision(4), "inputs": "chip=H100"},
    ]
    with pytest.raises(InputErrors) as exc:
        record_decisions(ledger, bad, actor="a")
    got = {(e.row, e.column) for e in exc.value.errors}
    assert got == {
        (0, "outcome"),
        (1, "date"),
        (2, "draws[0].amount"),
        (2, "draws[0].ref"),
        (3, "inputs"),
    }
    assert _counts(ledger)[0] == 0


def test_session_mode_joins_the_callers_transaction(ledger):
    ledger.open_account("q", 100, kind="quota")
    with Session(ledger.engine) as s:
        with s.begin():
            record_decisions(
                s, [decision(1, draws=[{"account": "q", "amount": 5, "ref": "r"}])], actor="a"
            )
            assert consumed(s, "q") == Decimal(5)
            s.rollback()
    assert ledger.consumed("q") == Decimal(0)
    with Session(ledger.engine) as s, s.begin():
        record_decisions(
            s, [decision(1, draws=[{"account": "q", "amount": 5, "ref": "r"}])], actor="a"
        )
    assert ledger.consumed("q") == Decimal(5)
    assert ledger.verify().ok


def test_draws_of_one_batch_see_each_other_and_the_stored_total_is_theirs(ledger):
    """The running total is written at each draw (a Core UPDATE) and the locked account object is
    given it: a later draw of the same batch, and the refusal check of ``hold_refused``, read it.
    The stored total is the sum of the entries, on both databases, and the chain verifies."""
    from aiexport.ledger.models import Account

    ledger.open_account("lpp:Y:2025", "100.000001", kind="quota")
    refused: list[str] = []
    batch = [
        decision(1, draws=[{"account": "lpp:Y:2025", "amount": "60.5", "ref": "a"}]),
        decision(2, draws=[{"account": "lpp:Y:2025", "amount": "39.500001", "ref": "b"}]),
        decision(3, draws=[{"account": "lpp:Y:2025", "amount": "0.000001", "ref": "c"}]),
    ]
    ledger.record_decisions(batch, actor="bot", hold_refused=True, refused_out=refused)
    assert refused == ["dec-3"]
    b = ledger.balance("lpp:Y:2025")
    assert (b.drawn, b.remaining) == (Decimal("100.000001"), Decimal(0))
    with ledger.transaction() as s:
        stored = s.execute(select(Account.drawn).where(Account.name == "lpp:Y:2025")).scalar_one()
        entries = s.execute(select(func.sum(Entry.amount))).scalar_one()
    assert stored == Decimal(entries) == Decimal("100.000001")
    ledger.release("lpp:Y:2025", "a", "order cancelled", actor="bot")
    assert ledger.draw("lpp:Y:2025", "60.5", "d", actor="bot").status == "drawn"
    assert ledger.balance("lpp:Y:2025").remaining == Decimal(0)
    assert ledger.verify().ok
