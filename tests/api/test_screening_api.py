"""Screening over HTTP on a small list (the screening tests' own CSL fixture, read in place):
every match explained; only officers dispose; the disposition is in the audit chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiexport.ledger import Ledger

from .conftest import h

CSL = Path(__file__).resolve().parents[1] / "screening" / "fixtures" / "csl_v1.csv"


@pytest.fixture()
def listed(server):
    if not CSL.exists():
        pytest.skip("the screening fixture tests/screening/fixtures/csl_v1.csv is absent")
    from aiexport.screening.lists import load_list
    from aiexport.screening.store import load_version

    client, tok, url = server
    with Ledger(url) as led:
        load_version(led, load_list(CSL), actor="ada")
    return server


def test_screen_explains_and_only_an_officer_disposes(listed):
    client, tok, _ = listed
    assert client.get("/v1/lists", headers=h(tok["viewer"])).json()[0]["source"] == "csl"
    r = client.post("/v1/screen", json={"parties": [{"name": "Huawei Technologies Dusseldorf", "country": "DE"}]},
                    headers=h(tok["viewer"]))
    assert r.status_code == 200, r.text
    matches = r.json()[0]["matches"]
    assert matches and matches[0]["entry_id"] == "t-hw-dus"
    body = {"party": "Huawei Technologies Dusseldorf", "country": "DE", "entry": "t-hw-dus", "status": "confirmed",
            "reason": "same entity (address matches)"}
    assert client.post("/v1/dispositions", json=body, headers=h(tok["analyst"])).status_code == 403
    r = client.post("/v1/dispositions", json=body, headers=h(tok["officer"]))
    assert r.status_code == 201 and r.json()["actor"] == "otto"
    d = client.get("/v1/dispositions", headers=h(tok["viewer"])).json()
    assert d["total"] == 1 and d["items"][0]["status"] == "confirmed"
    r = client.post("/v1/dispositions", json={**body, "entry": "no-such-entry"}, headers=h(tok["officer"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "entry"
    r = client.post("/v1/screen", json={"parties": [{"name": "  "}]}, headers=h(tok["viewer"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"
    assert client.get("/v1/audit/verify", headers=h(tok["viewer"])).json()["ok"] is True
