"""`aiexport serve` warms up before it serves (``app.decisions.warm``): afterwards a decision of a
catalog chip, on any date and under either posture, builds no rule plan and classifies nothing."""

from __future__ import annotations

import datetime as dt
import random

import pytest


def test_after_the_warm_up_a_decision_builds_no_plan_and_classifies_nothing(monkeypatch):
    from aiexport.app.decisions import warm
    from aiexport.catalog import accelerators
    from aiexport.engine import cache, plan
    from aiexport.io.transactions import Transaction
    from aiexport.law import items
    from aiexport.law.decide import decide

    plan.clear()
    cache.clear()
    warm()
    built = {k: len(e) for k, (_, e) in plan._plans.items()}
    assert any(k[0][0] == "license" for k in built) and any(k[0][0] == "reach" for k in built)
    classified = []
    real = items.classify_item_frames
    monkeypatch.setattr(items, "classify_item_frames", lambda *a, **k: classified.append(1) or real(*a, **k))
    rnd = random.Random(3)
    chips = accelerators()["name"].to_list()
    for n in range(40):
        day = dt.date(2022, 6, 1) + dt.timedelta(days=rnd.randrange(1700))
        to = rnd.choice(["CN", "SG", "AE", "DE", "IN", "MO", "VN"])
        tx = Transaction.model_validate({
            "id": f"t{n}", "date": day, "from": "US", "to": to, "item": {"chip": rnd.choice(chips)},
            "quantity": rnd.randrange(1, 5000), "consignee": {"name": "Acme", "country": to},
            "facts": rnd.choice([{}, {"purpose": "development"}, {"approved_or_authorized_designer": "yes"}])})
        decide([tx], posture=rnd.choice(["enforced", "codified"]))
    assert {k: len(e) for k, (_, e) in plan._plans.items()} == built
    assert classified == []


def test_serve_warms_up_and_tests_apps_do_not(monkeypatch, tmp_path):
    from aiexport.api import create_app
    from aiexport.app import decisions

    calls = []
    monkeypatch.setattr(decisions, "warm", lambda *a, **k: calls.append(1))
    create_app(f"sqlite:///{tmp_path / 'a.db'}", web=False)
    assert calls == []
    create_app(f"sqlite:///{tmp_path / 'b.db'}", web=False, warm=True)
    assert calls == [1]


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    from aiexport.engine import cache, plan

    plan.clear()
    cache.clear()
