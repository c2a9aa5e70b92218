"""Ledger refusals. The CLI maps them to exit codes: 2 bad input, 3 refused, 4 not permitted,
75 busy (another writer holds the database lock; retry)."""

from __future__ import annotations

from decimal import Decimal

from aiexport.ledger.amounts import fmt


class LedgerError(Exception):
    exit_code = 3


class UnknownAccount(LedgerError):
    exit_code = 2

    def __init__(self, account: str):
        self.account = account
        super().__init__(f"account {account!r} is not open (open it with `aiexport ledger open`)")


class UnknownReference(LedgerError):
    exit_code = 2

    def __init__(self, account: str, ref: str):
        self.account, self.ref = account, ref
        super().__init__(f"account {account!r} has no draw with reference {ref!r}")


class UnknownHold(LedgerError):
    exit_code = 2

    def __init__(self, hold_id: int):
        self.hold_id = hold_id
        super().__init__(f"there is no hold {hold_id}")


class DrawRefused(LedgerError):
    """Nothing was drawn: the amount exceeds the remaining balance, or the account is not valid."""

    def __init__(self, account: str, amount: Decimal, remaining: Decimal, unit: str, reason: str):
        self.account, self.amount, self.remaining, self.unit, self.reason = (
            account,
            amount,
            remaining,
            unit,
            reason,
        )
        super().__init__(
            f"draw of {fmt(amount)} {unit} from {account!r} refused: {reason}; "
            f"remaining {fmt(remaining)} {unit}"
        )


class Conflict(LedgerError):
    """The request contradicts what is already recorded (a reference reused for another amount,
    an account re-opened with other terms, a decision id recorded with other content, a hold
    already resolved)."""


class NotPermitted(LedgerError):
    exit_code = 4


class LedgerBusy(LedgerError):
    """The database stayed locked by another writer longer than the busy timeout."""

    exit_code = 75

    def __init__(self, url: str, exc: Exception | None = None):
        self.url = url
        super().__init__(
            "the ledger database is locked by another writer and stayed locked past the busy timeout "
            f"(AIEXPORT_BUSY_TIMEOUT, default {_busy_default()} s); nothing more was written by this command. Retry later"
        )


def _busy_default() -> int:
    from aiexport.ledger.db import SQLITE_BUSY_TIMEOUT_S

    return SQLITE_BUSY_TIMEOUT_S
