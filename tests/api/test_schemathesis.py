"""Property-based requests from /openapi.json (schemathesis): no route answers 500, whatever
the input. Bounded: a few examples per operation, so it runs in about a minute."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from aiexport.api import create_app  # noqa: E402
from aiexport.auth import service as auth  # noqa: E402
from aiexport.ledger import Ledger  # noqa: E402

_DIR = Path(tempfile.mkdtemp(prefix="aiexport-schemathesis-"))
_URL = f"sqlite:///{_DIR / 'ledger.db'}"
with Ledger(_URL) as _led:
    TOKEN = auth.init_admin(_led, "fuzz-admin")
APP = create_app(_URL, jobs_dir=_DIR / "jobs", secret="fuzz", web=False)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(autouse=True)
def _ledger_env(monkeypatch):
    monkeypatch.setenv("AIEXPORT_DATABASE_URL", _URL)
    monkeypatch.setenv("AIEXPORT_TOKEN_FILE", os.devnull)


@schema.parametrize()
@settings(max_examples=int(os.environ.get("AIEXPORT_FUZZ_EXAMPLES", "4")), deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_route_answers_500(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=[not_a_server_error])
