from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from aiexport.api import create_app  # noqa: E402
from aiexport.auth import service as auth  # noqa: E402
from aiexport.ledger import Ledger  # noqa: E402

ORDER_CN = {"id": "ORD-CN", "date": "2025-06-02", "from": "US", "to": "CN", "item": {"chip": "H100 SXM"}, "quantity": 8,
            "consignee": {"name": "Example Beijing Ltd", "country": "CN"}}
ORDER_IN = {"id": "ORD-IN", "date": "2025-06-02", "from": "US", "to": "IN", "item": {"chip": "H100 SXM"}, "quantity": 8,
            "consignee": {"name": "Example Ltd", "country": "IN"}}


@pytest.fixture()
def server(tmp_path, monkeypatch):
    """A server on a fresh ledger with one user per role; returns (client, tokens, url)."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("AIEXPORT_DATABASE_URL", url)
    monkeypatch.setenv("AIEXPORT_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.delenv("AIEXPORT_TOKEN", raising=False)
    with Ledger(url) as led:
        tokens = {"admin": auth.init_admin(led, "ada", "adminpass1")}
        admin = auth.Actor("ada", "admin")
        for name, role in (("vera", "viewer"), ("anna", "analyst"), ("otto", "officer")):
            tokens[role] = auth.add_user(led, admin, name, role, f"{name}-password")[1]
    app = create_app(url, jobs_dir=tmp_path / "jobs", secret="test")
    with TestClient(app) as client:
        yield client, tokens, url
    app.state.ledger.close()


def h(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
