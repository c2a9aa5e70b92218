"""A live server (uvicorn on 127.0.0.1, a free port) on a fresh ledger with one user per role,
and Chromium driven by Playwright through Debian's `chromium` (scripts/install-browser.sh)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

PASSWORDS = {"ada": "admin-pass-1", "vera": "viewer-pass-1", "anna": "analyst-pass-1", "otto": "officer-pass-1"}
ORDER_CN = {"id": "WEB-CN", "date": "2025-06-02", "from": "US", "to": "CN", "item": {"chip": "H100 SXM"}, "quantity": 8,
            "consignee": {"name": "Example Beijing Ltd", "country": "CN"}}
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


@pytest.fixture(scope="session")
def browser():
    if os.environ.get("AIEXPORT_SKIP_BROWSER") == "1":
        pytest.skip("AIEXPORT_SKIP_BROWSER=1: browser tests skipped on request")
    exe = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need the Playwright package: run `bash scripts/install-browser.sh` "
                    "(or set AIEXPORT_SKIP_BROWSER=1 to skip them explicitly)")
    if exe is None:
        pytest.fail("the browser tests need Chromium: run `bash scripts/install-browser.sh` (apt-get install chromium) "
                    "or set AIEXPORT_SKIP_BROWSER=1 to skip them explicitly")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    import uvicorn

    from aiexport.api import create_app
    from aiexport.app import usecases as uc
    from aiexport.app.models import CheckRequest
    from aiexport.auth import service as auth
    from aiexport.ledger import Ledger

    tmp = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{tmp / 'ledger.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("AIEXPORT_DATABASE_URL", url)
    mp.setenv("AIEXPORT_TOKEN_FILE", str(tmp / "token"))
    with Ledger(url) as led:
        auth.init_admin(led, "ada", PASSWORDS["ada"])
        admin = auth.Actor("ada", "admin")
        for name, role in (("vera", "viewer"), ("anna", "analyst"), ("otto", "officer")):
            auth.add_user(led, admin, name, role, PASSWORDS[name])
        uc.record(CheckRequest(transactions=[ORDER_CN, {**ORDER_CN, "id": "WEB-CN-2"}], posture="codified"),
                  auth.Actor("anna", "analyst"))
        uc.record(CheckRequest(transactions=[{**ORDER_CN, "id": "WEB-IN", "to": "IN", "quantity": 1500,
                                              "consignee": {"name": "Example India", "country": "IN"}}],
                               posture="codified"), auth.Actor("anna", "analyst"))
    csl = Path(__file__).resolve().parents[1] / "screening" / "fixtures" / "csl_v1.csv"
    if csl.exists():  # the screening tests' small list, read in place
        from aiexport.screening.lists import load_list
        from aiexport.screening.store import load_version

        with Ledger(url) as led:
            load_version(led, load_list(csl), actor="ada")
    app = create_app(url, jobs_dir=tmp / "jobs", secret="web-test")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", tmp
    server.should_exit = True
    t.join(10)
    mp.undo()


@pytest.fixture()
def login(browser, live):
    base, _ = live
    contexts = []

    def _login(name: str):
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto(base + "/login")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(PASSWORDS[name])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base + "/")
        return page

    yield _login
    for c in contexts:
        c.close()


def shot(page, name: str) -> None:
    """Saved under docs/img/ when asked (`make screenshots` sets AIEXPORT_SCREENSHOTS=1)."""
    if os.environ.get("AIEXPORT_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
