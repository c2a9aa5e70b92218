"""Licenses, allocations and quotas as accounts; holds; decision records in a hash-chained log.

from aiexport.ledger import Ledger, record_decisions, consumed
ledger = Ledger()                      # AIEXPORT_DATABASE_URL or the default SQLite file
ids = record_decisions(ledger, decisions, actor="alice")
consumed(ledger, "lpp:ACME", 2025)     # Decimal drawn from lpp:ACME:2025
"""

from aiexport.ledger.errors import (
    Conflict,
    DrawRefused,
    LedgerBusy,
    LedgerError,
    NotPermitted,
    UnknownAccount,
    UnknownHold,
    UnknownReference,
)
from aiexport.ledger.service import (
    Balance,
    DrawResult,
    Ledger,
    VerifyResult,
    consumed,
    record_decisions,
    resolve_actor,
)

__all__ = [
    "Balance",
    "Conflict",
    "DrawRefused",
    "DrawResult",
    "LedgerBusy",
    "Ledger",
    "LedgerError",
    "NotPermitted",
    "UnknownAccount",
    "UnknownHold",
    "UnknownReference",
    "VerifyResult",
    "consumed",
    "record_decisions",
    "resolve_actor",
]
