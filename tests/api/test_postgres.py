"""The API on PostgreSQL (when AIEXPORT_TEST_POSTGRES_URL is set, as `make test` and .ci/run do):
record as an analyst, a viewer refused, an officer releases, the audit chain verifies."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from .conftest import ORDER_CN, h

PG_URL = os.environ.get("AIEXPORT_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="no AIEXPORT_TEST_POSTGRES_URL (scripts/ci-postgres.sh starts one)")


@pytest.fixture()
def pg_server(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from aiexport.api import create_app
    from aiexport.auth import service as auth
    from aiexport.ledger import Ledger
    from aiexport.ledger.db import resolve_url

    base = resolve_url(PG_URL)
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    monkeypatch.setenv("AIEXPORT_DATABASE_URL", url)
    try:
        with Ledger(url) as led:
            tokens = {"admin": auth.init_admin(led, "ada")}
            for name, role in (("vera", "viewer"), ("anna", "analyst"), ("otto", "officer")):
                tokens[role] = auth.add_user(led, auth.Actor("ada", "admin"), name, role)[1]
        app = create_app(url, jobs_dir=tmp_path / "jobs", secret="pg")
        with TestClient(app) as client:
            yield client, tokens
        app.state.ledger.close()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_record_and_release_on_postgresql(pg_server):
    client, tok = pg_server
    r = client.post("/v1/record", json={"transactions": [ORDER_CN], "posture": "codified"}, headers=h(tok["analyst"]))
    assert r.status_code == 200, r.text
    hold = client.get("/v1/holds", headers=h(tok["viewer"])).json()["items"][0]
    body = {"reason_code": "LICENSE_GRANTED", "reason": "licence D1"}
    assert client.post(f"/v1/holds/{hold['id']}/release", json=body, headers=h(tok["viewer"])).status_code == 403
    r = client.post(f"/v1/holds/{hold['id']}/release", json=body, headers=h(tok["officer"]))
    assert r.status_code == 200 and r.json()["resolved_by"] == "otto"
    assert client.get("/v1/audit/verify", headers=h(tok["viewer"])).json()["ok"] is True
