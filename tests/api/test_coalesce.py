"""Concurrent checks decided together (`app.coalesce`) answer each request exactly as
`usecases.check` answers it alone, keep each request's errors its own, and are used by
`POST /v1/check`."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from aiexport.app import usecases as uc
from aiexport.app.coalesce import Coalescer
from aiexport.app.errors import AppError
from aiexport.app.models import CheckRequest
from aiexport.errors import InputError, InputErrors


def _order(i, to, chip, day, qty=8, **facts):
    return {"id": f"C-{i}", "date": day, "from": "US", "to": to, "item": {"chip": chip}, "quantity": qty,
            "consignee": {"name": f"Consignee {i}", "country": to}, **({"facts": facts} if facts else {})}


REQUESTS = [
    CheckRequest(transactions=[_order(1, "IN", "H100 SXM", "2025-06-02", 2000)], posture="codified"),
    CheckRequest(transactions=[_order(2, "CN", "A800 SXM", "2024-03-01", 512)]),
    CheckRequest(transactions=[_order(3, "AE", "H100 SXM", "2025-02-01", 64), _order(4, "DE", "B200", "2025-06-02")]),
    CheckRequest(transactions=[_order(5, "CN", "H20", "2026-01-20", 100)], posture="codified"),
    CheckRequest(transactions=[_order(6, "SG", "H100 SXM", "2023-06-01", 16)], on="2025-09-01"),
    CheckRequest(transactions=[_order(1, "MO", "H100 SXM", "2025-06-02")]),  # the same id as another request
    CheckRequest(transactions=[_order(7, "VN", "H100 SXM", "2025-06-02", purpose="development")], posture="codified"),
    # before the legal-reach rules are encoded (2022-10-07): no reach record, alone or beside later orders
    CheckRequest(transactions=[_order(10, "MO", "H100 SXM", "2022-06-03")]),
]
# 10^7 servers of 100,000 chips: the total TPP leaves exact arithmetic (refused, 422)
OVERFLOW = CheckRequest(transactions=[{**_order(8, "DE", "H100 SXM", "2025-06-02", 10_000_000),
                                       "item": {"server": [{"chip": "H100 SXM", "count": 100000}]}}])


def _together(co: Coalescer, reqs: list) -> list:
    """Submit all at once from many threads while the worker is held, so they share calls."""
    gate = threading.Event()
    first = co.jobs.get

    def held(*a, **k):  # the worker holds the first request until every other one is queued
        job = first(*a, **k)
        gate.wait(10)
        return job

    co.jobs.get = held

    def one(r):
        try:
            return co.check(r)
        except (AppError, InputError, InputErrors) as exc:
            return exc

    with ThreadPoolExecutor(len(reqs)) as pool:
        futs = [pool.submit(one, r) for r in reqs]
        for _ in range(1000):
            if co.jobs.qsize() >= len(reqs) - 1:  # the first is in the worker's hands
                break
            threading.Event().wait(0.01)
        gate.set()
        return [f.result() for f in futs]


def test_coalesced_answers_are_the_answers_alone():
    co = Coalescer()
    got = _together(co, REQUESTS)
    want = [uc.check(r) for r in REQUESTS]
    assert got == want
    assert co.requests == len(REQUESTS) and co.calls < len(REQUESTS)  # they were decided together
    # the determining rules travel with their request
    assert got[1][0]["outcome"] == "LICENSE_REQUIRED" and got[0][0]["posture"] == "codified"
    assert got[4][0]["date"] == "2025-09-01"  # decided as of the request's own date
    assert [r["id"] for r in got[2]] == ["C-3", "C-4"]
    assert "reach" not in got[7][0] and "reach" in got[1][0]


def test_an_error_stays_with_its_request():
    co = Coalescer()
    got = _together(co, [REQUESTS[1], OVERFLOW, REQUESTS[3]])
    assert got[0] == uc.check(REQUESTS[1]) and got[2] == uc.check(REQUESTS[3])
    assert isinstance(got[1], InputErrors) and got[1].errors[0].column == "quantity"


def test_a_bad_request_fails_in_its_own_thread():
    co = Coalescer()
    with pytest.raises(InputErrors):
        co.check(CheckRequest(transactions=[{**_order(9, "DE", "H100 SXM", "2025-06-02"), "to": "ZZ"}]))


def test_the_route_answers_through_the_coalescer(server):
    client, tokens, _ = server
    r = client.post("/v1/check", json={"transactions": [_order(1, "IN", "H100 SXM", "2025-06-02", 2000)], "posture": "codified"},
                    headers={"Authorization": f"Bearer {tokens['viewer']}"})
    assert r.status_code == 200
    assert r.json() == uc.check(REQUESTS[0])
    assert client.app.state.checks.requests >= 1
