"""VEU limits drawn from ledger accounts under `codified` (15 CFR 748.15(a)(2)(ii)-(iii); Supp. No. 10
to Part 748 para 6): shipments decided with the balances the ledger holds and recorded in sequence,
each recorded VEU-authorized decision drawing its TPP from the authorization's accounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aiexport.app import veu as uc
from aiexport.io.transactions import Transaction
from aiexport.law.decide import decide, records
from aiexport.law.metrics import MICRO
from aiexport.law.reach import VeuAuthorization
from aiexport.ledger import Ledger

SERVER = {"server": [{"chip": "H100 SXM", "count": 8}]}  # 126,656 TPP
NVEU = VeuAuthorization.model_validate(
    {"id": "NVEU-VN-1", "kind": "nveu", "holder": "Saigon Compute JSC", "headquarters": "VN", "sites": [{"country": "VN"}],
     "eccns": ["4A090", "3A090"], "valid_from": "2025-01-13", "allocation_tpp": 200000})
UVEU = VeuAuthorization.model_validate(
    {"id": "UVEU-ATLAS", "kind": "uveu", "holder": "Atlas Cloud Inc", "headquarters": "US",
     "sites": [{"country": "US"}, {"country": "VN"}, {"country": "IN"}], "eccns": ["4A090", "3A090"],
     "valid_from": "2025-01-13"})
AUTHS = {a.id: a for a in (NVEU, UVEU)}


@pytest.fixture
def led(tmp_path):
    with Ledger(f"sqlite:///{tmp_path / 'l.db'}") as led:
        yield led


def _tx(n: int, to: str, holder: str, veu_id: str, day: dt.date, count: int = 1) -> Transaction:
    return Transaction.model_validate({
        "id": f"S{n}", "date": day, "kind": "export", "from": "US", "to": to, "quantity": count, "item": SERVER,
        "consignee": {"name": holder, "country": to}, "facts": {"veu_authorization": veu_id},
    })


def _decide_and_record(led, t: Transaction, posture: str) -> dict:
    frame = decide([t], posture=posture, authorizations=AUTHS, veu_lookup=uc.ledger_veu_lookup(led, AUTHS))
    rec = records(frame)[0]
    row = frame.row(0, named=True)
    total = Decimal(row["system_tpp"] * row["quantity"]) / MICRO
    d = {k: rec[k] for k in ("outcome", "eccn", "license_exception", "review_policy", "obligations", "rules",
                             "posture", "rule_set")}
    d.update(id=f"{t.id}@{t.date}/{posture}", date=t.date, needs_facts=[f["fact"] for f in rec["needs_facts"]],
             inputs=t.model_dump(mode="json", by_alias=True),
             draws=uc.decision_draws(rec, t, total, t.id, t.date, AUTHS))
    led.record_decisions([d], actor="test", hold_refused=True)
    return {**rec, "draws": d["draws"], "reach": rec.get("reach")}


DAY = dt.date(2025, 6, 2)


def test_nveu_within_its_installed_base_then_beyond_codified(led):
    first = _decide_and_record(led, _tx(1, "VN", "Saigon Compute JSC", "NVEU-VN-1", DAY), "codified")
    assert first["outcome"] == "LICENSE_EXCEPTION" and first["license_exception"] == "VEU"
    assert "748.15(a)(2)(iii).NVEU" in first["rules"]
    assert [dr["account"] for dr in first["draws"]] == ["veu:NVEU-VN-1:installed-base:VN"]
    assert led.balance("veu:NVEU-VN-1:installed-base:VN").drawn == Decimal("126656")
    # the second shipment reads 126,656 TPP installed: 253,312 > 200,000
    second = _decide_and_record(led, _tx(2, "VN", "Saigon Compute JSC", "NVEU-VN-1", DAY), "codified")
    assert second["outcome"] == "LICENSE_REQUIRED" and second["license_exception"] is None
    assert "748.15(a)(2)(iii)(B).allocation" in second["rules"]
    assert second["draws"] == []
    assert led.balance("veu:NVEU-VN-1:installed-base:VN").drawn == Decimal("126656")
    assert led.verify().ok


def test_nveu_the_same_sequence_under_enforced_has_no_installed_base_limit(led):
    for n in (1, 2, 3):
        r = _decide_and_record(led, _tx(n, "VN", "Saigon Compute JSC", "NVEU-VN-1", DAY), "enforced")
        assert r["outcome"] == "LICENSE_EXCEPTION" and r["license_exception"] == "VEU", n
        assert "748.15(a)(2)(iii).NVEU" in r["rules"] and r["draws"] == []
    assert not [a for a in led.accounts() if a.account.startswith("veu:")]


def test_nveu_exactly_at_its_installed_base_is_within(led):
    exact = NVEU.model_copy(update={"allocation_tpp": Decimal("253312")})
    AUTHS_EXACT = {**AUTHS, exact.id: exact}
    for n, want in ((1, "LICENSE_EXCEPTION"), (2, "LICENSE_EXCEPTION"), (3, "LICENSE_REQUIRED")):
        t = _tx(n, "VN", "Saigon Compute JSC", "NVEU-VN-1", DAY)
        frame = decide([t], posture="codified", authorizations=AUTHS_EXACT,
                       veu_lookup=uc.ledger_veu_lookup(led, AUTHS_EXACT))
        rec = records(frame)[0]
        assert rec["outcome"] == want, (n, rec["rules"])
        total = Decimal(frame["system_tpp"][0] * frame["quantity"][0]) / MICRO
        d = {k: rec[k] for k in ("outcome", "eccn", "license_exception", "review_policy", "obligations", "rules",
                                 "posture", "rule_set")}
        d.update(id=f"S{n}", date=DAY, inputs=t.model_dump(mode="json", by_alias=True),
                 draws=uc.decision_draws(rec, t, total, t.id, DAY, AUTHS_EXACT))
        led.record_decisions([d], actor="test")


def test_uveu_counters_and_the_seven_percent_per_tier2_country(led):
    # 10 servers in the US (1,266,560 TPP), then Vietnam: one server is 126,656 / 1,393,216 = 9.1 % > 7 %
    us = _decide_and_record(led, _tx(1, "US", "Atlas Cloud Inc", "UVEU-ATLAS", DAY, count=10), "codified")
    assert us["outcome"] == "NLR"  # a US destination needs no VEU: nothing drawn
    assert us["draws"] == []
    # a larger US base recorded through VEU draws (exports to its own US sites are not VEU-authorized):
    # model it as the counters' opening balances
    for name, amount in (("veu:UVEU-ATLAS:total", "2000000"), ("veu:UVEU-ATLAS:us", "2000000")):
        led.open_account(name, uc.COUNTER_LIMIT, unit="tpp", kind="quota", actor="test")
        led.draw(name, Decimal(amount), ref="opening", on=DAY, actor="test")
    vn1 = _decide_and_record(led, _tx(2, "VN", "Atlas Cloud Inc", "UVEU-ATLAS", DAY), "codified")
    # 126,656 / 2,126,656 = 5.96 % <= 7 %; outside Tier 1 5.96 % <= 25 %; US 94 % >= 50 %
    assert vn1["outcome"] == "LICENSE_EXCEPTION" and "748.15(a)(2)(ii).UVEU" in vn1["rules"]
    assert sorted(dr["account"] for dr in vn1["draws"]) == [
        "veu:UVEU-ATLAS:country:VN", "veu:UVEU-ATLAS:outside-tier1", "veu:UVEU-ATLAS:total"]
    vn2 = _decide_and_record(led, _tx(3, "VN", "Atlas Cloud Inc", "UVEU-ATLAS", DAY), "codified")
    # 253,312 / 2,253,312 = 11.2 % > 7 %
    assert vn2["outcome"] == "LICENSE_REQUIRED" and "748.15(a)(2)(ii)(B).allocation" in vn2["rules"]
    assert led.balance("veu:UVEU-ATLAS:country:VN").drawn == Decimal("126656")
    assert led.verify().ok


def test_the_lookup_reads_nothing_for_an_authorization_not_on_record_or_without_drawn_limits(led):
    lookup = uc.ledger_veu_lookup(led, AUTHS)
    assert lookup(_tx(1, "VN", "X", "NOPE", DAY), "NOPE") == {}
    assert lookup(_tx(1, "VN", "X", "NVEU-VN-1", DAY), "NVEU-VN-1") == {"veu_country_tpp": Decimal(0)}
    dcv = VeuAuthorization.model_validate({"id": "DCV", "kind": "data_center", "holder": "X", "sites": [{"country": "VN"}],
                                           "eccns": ["4A090"], "valid_from": "2024-11-01"})
    assert uc.ledger_veu_lookup(led, {"DCV": dcv})(_tx(1, "VN", "X", "DCV", DAY), "DCV") == {}
    assert uc.decision_draws({"posture": "codified", "license_exception": "VEU"}, _tx(1, "VN", "X", "DCV", DAY),
                             Decimal(5), "r", DAY, {"DCV": dcv}) == []
