"""The API's answer equals the CLI's for the same input (the same use case behind both)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from aiexport.commands.check import example_orders

from .conftest import h


def _cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aiexport", *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_check_over_http_equals_check_on_the_command_line(server, posture):
    client, tok, _ = server
    path = example_orders()
    cli = _cli("check", str(path), "--format", "json", "--posture", posture)
    assert cli.returncode == 0, cli.stderr
    orders = yaml.safe_load(path.read_text())
    api = client.post("/v1/check", json={"transactions": json.loads(json.dumps(orders, default=str)), "posture": posture},
                      headers=h(tok["viewer"]))
    assert api.status_code == 200, api.text
    cli_recs, api_recs = json.loads(cli.stdout), api.json()
    assert len(api_recs) == len(orders) >= 10
    strip = ("source",)  # the file name on the CLI, "request" over HTTP
    assert [{k: v for k, v in r.items() if k not in strip} for r in api_recs] == \
           [{k: v for k, v in r.items() if k not in strip} for r in cli_recs]
    assert {r["outcome"] for r in api_recs} >= {"NLR", "LICENSE_REQUIRED"}


def test_classify_over_http_equals_the_command_line(server):
    client, tok, _ = server
    cli = _cli("classify", "H100 SXM", "A800 SXM", "--on", "2024-06-01", "--format", "json")
    assert cli.returncode == 0, cli.stderr
    api = client.post("/v1/classify", json={"chips": ["H100 SXM", "A800 SXM"], "on": "2024-06-01"}, headers=h(tok["viewer"]))
    assert api.json() == json.loads(cli.stdout)


def test_users_cli_roles_and_the_local_identity(tmp_path):
    import os

    env = {**os.environ, "AIEXPORT_DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}",
           "AIEXPORT_TOKEN_FILE": str(tmp_path / "token")}
    env.pop("AIEXPORT_TOKEN", None)
    import getpass

    first = _cli("users", "whoami", env=env)  # no user yet: the OS user is the local admin
    assert first.returncode == 0 and first.stdout.strip() == f"local:{getpass.getuser()} (admin)"
    r = _cli("users", "init", "root", env=env)
    assert r.returncode == 0 and r.stdout.startswith("aix_")
    assert "root (admin)" in _cli("users", "whoami", env=env).stdout
    assert _cli("users", "init", "mallory", env=env).returncode == 3  # only while there is no user
    viewer = _cli("users", "add", "vic", "--role", "viewer", env=env).stdout.strip()
    bad = _cli("users", "add", "x", "--role", "emperor", env=env)
    assert bad.returncode == 3 and "role" in bad.stderr
    # the viewer cannot make themself anything: a token proves who acts, a name proves nothing
    r = _cli("users", "add", "vic", "--role", "admin", env={**env, "AIEXPORT_TOKEN": viewer})
    assert r.returncode == 77 and "admin" in r.stderr
    assert _cli("users", "whoami", env={**env, "AIEXPORT_TOKEN": "aix_forged"}).returncode == 77
    # once a user exists the local admin is gone: without a token the CLI is nobody
    assert _cli("users", "whoami", env={**env, "AIEXPORT_TOKEN_FILE": str(tmp_path / "none")}).returncode == 77
    listing = json.loads(_cli("users", "list", env=env).stdout)
    assert {(u["name"], u["role"]) for u in listing} == {("root", "admin"), ("vic", "viewer")}
    verify = _cli("audit", "verify", "--db", env["AIEXPORT_DATABASE_URL"], env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
