from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aiexport.ledger import Conflict, DrawRefused, UnknownAccount, UnknownReference
from aiexport.ledger.amounts import AmountError


def test_balance_is_limit_minus_entries(ledger):
    ledger.open_account("license:D1", 1000, unit="tpp")  # exact decimals (a units account takes whole units)
    ledger.draw("license:D1", 300, "order-1")
    ledger.draw("license:D1", "250.25", "order-2")
    ledger.release("license:D1", "order-1", "order cancelled")
    ledger.adjust("license:D1", "-0.25", "count corrected", actor="auditor")
    b = ledger.balance("license:D1")
    assert (b.limit, b.drawn, b.remaining, b.unit) == (
        Decimal(1000),
        Decimal(250),
        Decimal(750),
        "tpp",
    )
    kinds = [(h["kind"], h["amount"], h["remaining_after"]) for h in ledger.history("license:D1")]
    assert kinds == [
        ("draw", Decimal(300), Decimal(700)),
        ("draw", Decimal("250.25"), Decimal("449.75")),
        ("release", Decimal(-300), Decimal("749.75")),
        ("adjust", Decimal("-0.25"), Decimal(750)),
    ]
    assert ledger.history("license:D1")[3]["actor"] == "auditor"


def test_draw_that_does_not_fit_is_refused_with_the_remaining_balance(ledger):
    ledger.open_account("q", 100)
    ledger.draw("q", 60, "a")
    with pytest.raises(DrawRefused) as exc:
        ledger.draw("q", 41, "b")
    assert exc.value.remaining == Decimal(40)
    assert ledger.balance("q").drawn == Decimal(60)
    # exactly the remainder fits
    assert ledger.draw("q", 40, "c").remaining == Decimal(0)


def test_retried_reference_is_recorded_once(ledger):
    ledger.open_account("q", 100)
    first = ledger.draw("q", 30, "ship-7")
    again = ledger.draw("q", 30, "ship-7")
    assert (first.status, again.status) == ("drawn", "already_drawn")
    assert again.entry_id == first.entry_id
    assert ledger.balance("q").drawn == Decimal(30)
    with pytest.raises(Conflict):
        ledger.draw("q", 31, "ship-7")
    assert len(ledger.history("q")) == 1


def test_validity_is_checked_at_draw_time(ledger):
    ledger.open_account(
        "license:D2", 10, valid_from=dt.date(2025, 1, 15), valid_to=dt.date(2025, 12, 31)
    )
    with pytest.raises(DrawRefused, match="expired on 2025-12-31"):
        ledger.draw("license:D2", 1, "late", on=dt.date(2026, 1, 1))
    with pytest.raises(DrawRefused, match="valid from 2025-01-15"):
        ledger.draw("license:D2", 1, "early", on=dt.date(2025, 1, 14))
    assert ledger.draw("license:D2", 1, "first-day", on=dt.date(2025, 1, 15)).status == "drawn"
    assert ledger.draw("license:D2", 1, "last-day", on=dt.date(2025, 12, 31)).status == "drawn"
    assert ledger.balance("license:D2").drawn == Decimal(2)


def test_release_is_idempotent_and_needs_a_known_reference(ledger):
    ledger.open_account("q", 10)
    ledger.draw("q", 4, "r")
    assert ledger.release("q", "r", "returned")["status"] == "released"
    assert ledger.release("q", "r", "returned")["status"] == "already_released"
    assert ledger.balance("q").drawn == Decimal(0)
    with pytest.raises(UnknownReference):
        ledger.release("q", "nope", "x")
    # a retried draw of a released reference does not draw again
    r = ledger.draw("q", 4, "r")
    assert (r.status, r.released) == ("already_drawn", True)
    assert ledger.balance("q").drawn == Decimal(0)


def test_adjust_needs_a_reason_and_cannot_make_drawn_negative(ledger):
    ledger.open_account("q", 10)
    with pytest.raises(ValueError, match="reason"):
        ledger.adjust("q", 1, " ")
    with pytest.raises(Conflict):
        ledger.adjust("q", -1, "undo nothing")
    ledger.adjust("q", 3, "shipped outside the system")
    assert ledger.balance("q").remaining == Decimal(7)


def test_amounts_are_exact_and_floats_refused(ledger):
    ledger.open_account("usd", "0.3", unit="usd")
    for i in range(3):
        ledger.draw("usd", "0.1", f"r{i}")
    b = ledger.balance("usd")
    assert b.remaining == Decimal(0) and b.drawn == Decimal("0.3")
    with pytest.raises(AmountError):
        ledger.draw("usd", 0.1, "float")
    with pytest.raises(AmountError):
        ledger.draw("usd", "0.0000001", "too-fine")
    # Beyond the decimal context's precision: a clear refusal, not decimal.InvalidOperation
    # (CI found this through the API's fuzzing of /ledger/accounts/{name}/adjust).
    for huge in ("10000000000000000000000", "1e40", "-1e30"):
        with pytest.raises(AmountError, match="below"):
            ledger.draw("usd", huge, "huge")
    big = Decimal("790000000")
    ledger.open_account("allocation:IN:2025-2027", big, kind="allocation")
    ledger.draw("allocation:IN:2025-2027", "789999999.999999", "nearly")
    assert ledger.balance("allocation:IN:2025-2027").remaining == Decimal("0.000001")


def test_unknown_account_and_reopening(ledger):
    with pytest.raises(UnknownAccount):
        ledger.draw("missing", 1, "r")
    _, created = ledger.open_account("q", 5, kind="quota")
    _, again = ledger.open_account("q", 5, kind="quota")
    assert (created, again) == (True, False)
    with pytest.raises(Conflict):
        ledger.open_account("q", 6, kind="quota")
