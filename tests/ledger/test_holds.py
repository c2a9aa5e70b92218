from __future__ import annotations

import pytest

from aiexport.ledger import Conflict, NotPermitted, UnknownHold, record_decisions
from tests.ledger.helpers import decision


@pytest.fixture
def held(ledger):
    record_decisions(
        ledger, [decision(1, "LICENSE_REQUIRED"), decision(2, "NEEDS_FACTS")], actor="clerk"
    )
    return ledger


def test_only_an_officer_releases_with_a_reason(held):
    [h1, h2] = held.holds()
    with pytest.raises(NotPermitted):
        held.release_hold(h1["id"], "LICENSE_GRANTED", "D123456", actor="clerk")
    held.grant("olivia", actor="clerk")  # the first officer bootstraps the role
    with pytest.raises(NotPermitted):
        held.grant("mallory", actor="clerk")
    with pytest.raises(ValueError, match="reason code"):
        held.release_hold(h1["id"], "BECAUSE", "x", actor="olivia")
    out = held.release_hold(h1["id"], "LICENSE_GRANTED", "license D123456", actor="olivia")
    assert (out["status"], out["resolved_by"], out["reason_code"]) == (
        "released",
        "olivia",
        "LICENSE_GRANTED",
    )
    rej = held.reject_hold(h2["id"], "FACTS_UNCONFIRMED", "no datacenter statement", actor="olivia")
    assert rej["status"] == "rejected"
    assert held.holds() == []
    assert {h["status"] for h in held.holds(None)} == {"released", "rejected"}
    with pytest.raises(Conflict):
        held.reject_hold(h1["id"], "OTHER", "again", actor="olivia")
    with pytest.raises(UnknownHold):
        held.release_hold(999, "OTHER", "x", actor="olivia")
    assert held.verify().ok


def test_officers_grant_and_revoke_but_never_the_last(held):
    held.grant("olivia", actor="anyone")
    held.grant("oscar", actor="olivia")
    assert [o["name"] for o in held.officers()] == ["olivia", "oscar"]
    assert held.revoke("oscar", actor="olivia")
    with pytest.raises(Conflict):
        held.revoke("olivia", actor="olivia")
    with pytest.raises(NotPermitted):
        held.release_hold(1, "OTHER", "x", actor="oscar")
    assert held.verify().ok
