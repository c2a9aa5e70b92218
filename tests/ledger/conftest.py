"""Every ledger test runs against SQLite, and also against PostgreSQL when
AIEXPORT_TEST_POSTGRES_URL is set (scripts/ci-postgres.sh starts one; .ci/run sets it).
Each PostgreSQL test gets its own schema, selected through the URL's search_path."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from aiexport.ledger import Ledger
from aiexport.ledger.db import resolve_url

PG_URL = os.environ.get("AIEXPORT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    base = resolve_url(PG_URL)
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def ledger(db_url):
    led = Ledger(db_url)
    yield led
    led.close()
