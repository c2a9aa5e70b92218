"""Users and roles: only hashes stored, a change outside aiexport breaks `audit verify`."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from aiexport.app.errors import Conflict, Forbidden, Unauthenticated
from aiexport.auth import service as auth
from aiexport.ledger import Ledger


@pytest.fixture()
def led(tmp_path):
    with Ledger(f"sqlite:///{tmp_path / 'l.db'}") as led:
        yield led


def test_only_hashes_are_stored_and_passwords_use_scrypt(led):
    token = auth.init_admin(led, "ada", "correct horse")
    with led.transaction() as s:
        row = s.execute(text("select token_hash, password_hash from auth_users")).one()
    assert token not in row.token_hash and row.token_hash == auth.hash_token(token)
    assert row.password_hash.startswith("scrypt$") and "correct horse" not in row.password_hash
    assert auth.by_password(led, "ada", "correct horse") == auth.Actor("ada", "admin")
    with pytest.raises(Unauthenticated):
        auth.by_password(led, "ada", "correct horsE")
    with pytest.raises(Unauthenticated):
        auth.by_password(led, "nobody", "correct horse")


def test_roles_are_ordered_and_checked(led):
    auth.init_admin(led, "ada")
    admin = auth.Actor("ada", "admin")
    auth.add_user(led, admin, "olga", "officer")
    officer = auth.Actor("olga", "officer")
    assert officer.can("analyst") and officer.can("officer") and not officer.can("admin")
    with pytest.raises(Forbidden):
        auth.add_user(led, officer, "eve", "admin")
    with pytest.raises(Conflict):
        auth.disable_user(led, admin, "ada")  # the last admin
    # an officer here is an officer in the ledger's own table, and stops being one when disabled
    assert {u["name"] for u in led.officers()} == {"ada", "olga"}
    auth.disable_user(led, admin, "olga")
    assert {u["name"] for u in led.officers()} == {"ada"}
    assert led.verify().ok


@pytest.mark.parametrize("tamper", [
    "update auth_users set role = 'admin' where name = 'vic'",
    "update auth_users set token_hash = 'x' where name = 'vic'",
    "insert into auth_users values ('mallory', 'admin', null, null, 1, 'x', 'x', 'x', 'x', 'add')",
])
def test_a_user_row_changed_outside_aiexport_breaks_audit_verify(led, tamper):
    auth.init_admin(led, "ada")
    auth.add_user(led, auth.Actor("ada", "admin"), "vic", "viewer")
    assert led.verify().ok
    with led.transaction() as s:
        s.execute(text(tamper))
    result = led.verify()
    assert not result.ok and any("user account" in p for p in result.problems)


def test_cli_actor_needs_a_token_and_the_role(led, monkeypatch, tmp_path):
    import typer

    from aiexport.commands.common import cli_actor

    token = auth.init_admin(led, "ada")
    _, viewer = auth.add_user(led, auth.Actor("ada", "admin"), "vic", "viewer")
    monkeypatch.setenv("AIEXPORT_TOKEN_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AIEXPORT_TOKEN", raising=False)
    with pytest.raises(typer.Exit) as exc:
        cli_actor(led, "officer", "releasing a hold")
    assert exc.value.exit_code == 77
    monkeypatch.setenv("AIEXPORT_TOKEN", viewer)
    with pytest.raises(typer.Exit):
        cli_actor(led, "officer", "releasing a hold")
    monkeypatch.setenv("AIEXPORT_TOKEN", token)
    assert cli_actor(led, "officer", "releasing a hold") == auth.Actor("ada", "admin")
