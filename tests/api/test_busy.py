"""A ledger locked by another writer is "retry later" in every write use case — 503 over HTTP,
exit 75 on the CLI — never a conflict (409 / exit 3) nor a 500."""

from __future__ import annotations

import pytest

from aiexport.app import usecases as uc
from aiexport.app.errors import Busy
from aiexport.app.models import HoldAction
from aiexport.auth.service import Actor
from aiexport.ledger import LedgerBusy

OFFICER = Actor("olivia", "officer")


class LockedLedger:
    """A ledger whose every write finds the database locked past the busy timeout."""

    def _locked(self, *a, **k):
        raise LedgerBusy("sqlite:///ledger.db")

    adjust = release = resolve_hold = _locked


@pytest.mark.parametrize("call", [
    lambda led: uc.adjust(led, OFFICER, "q", "1", "counted"),
    lambda led: uc.release_draw(led, OFFICER, "q", "r1", "cancelled"),
    lambda led: uc.resolve_hold(led, OFFICER, 1, "release", HoldAction(reason_code="OTHER", reason="ok")),
])
def test_a_locked_ledger_is_busy_not_a_conflict(call):
    with pytest.raises(Busy) as got:
        call(LockedLedger())
    assert got.value.status == 503 and got.value.exit_code == 75
