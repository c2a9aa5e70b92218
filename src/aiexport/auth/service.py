"""Users and roles on the ledger database: hashed tokens (sha256 of 32 random bytes) and
passwords (scrypt, salted). Every change is a link in the audit chain, naming the actor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from aiexport.app.errors import Conflict, Forbidden, NotFound, Unauthenticated
from aiexport.auth.models import AuthUser

ROLES = ("viewer", "analyst", "officer", "admin")
RANK = {r: i for i, r in enumerate(ROLES)}
TOKEN_ENV = "AIEXPORT_TOKEN"
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True)
class Actor:
    """An authenticated user: the only thing a use case accepts as "who"."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]

    def require(self, role: str, what: str) -> None:
        if not self.can(role):
            raise Forbidden(f"{self.name!r} has the role {self.role}; {what} needs the role {role} or higher")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "aix_" + secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **SCRYPT)
    b = base64.b64encode
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${b(salt).decode()}${b(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, digest = stored.split("$")
    got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(got, base64.b64decode(digest))


def _audit(s, u: AuthUser, actor: str, action: str) -> None:
    """One audit link naming the authenticated actor (the payload is a function of the row)."""
    from aiexport.auth.models import payload
    from aiexport.ledger.service import append_audit, utcnow

    u.changed_by, u.changed_at, u.last_action = actor, utcnow(), action
    s.flush()
    append_audit(s, "auth-user", f"auth-user:{u.name}", payload(u))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Conflict(f"role: one of {', '.join(ROLES)}, got {role!r}", field="role")


def _check_name(name: str) -> None:
    if not name or not name.strip() or len(name) > 200:
        raise Conflict("name: a user name of 1 to 200 characters", field="name")
    if name.startswith(LOCAL_PREFIX):
        raise Conflict(f"name: a user name not starting with {LOCAL_PREFIX!r} (kept for the local admin)", field="name")


def _sync_officer(s, u: AuthUser, actor: str) -> None:
    """The ledger checks officers in its own table (ledger_users): an officer or admin here is
    an officer there, so the ledger's own check agrees with the authenticated role."""
    from aiexport.ledger.models import User
    from aiexport.ledger.service import append_audit, user_payload, utcnow

    row = s.get(User, u.name)
    want = u.active and RANK[u.role] >= RANK["officer"]
    if want and row is None:
        row = User(name=u.name, role="officer", granted_by=actor, granted_at=utcnow())
        s.add(row)
        s.flush()
        append_audit(s, "user", f"user:{u.name}", user_payload(row))
    elif not want and row is not None:
        s.delete(row)
        s.flush()
        append_audit(s, "user", f"user:{u.name}", {"type": "user", "name": u.name, "role": None,
                                                    "revoked_by": actor, "revoked_at": utcnow()})


def _write(led, fn):
    return led._run(fn, retry_integrity=True)  # the ledger's retry loop (busy / serialisation)


def count_users(led) -> int:
    with led.transaction() as s:
        return s.execute(select(func.count()).select_from(AuthUser)).scalar_one()


def init_admin(led, name: str, password: str | None = None) -> str:
    """The explicit set-up step: the first admin, only while there is no user at all. Returns
    the admin's API token (shown once; only its hash is stored)."""
    from aiexport.ledger.service import utcnow

    _check_name(name)
    token = new_token()

    def fn(s):
        from aiexport.ledger.models import AuditHead

        s.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
        if s.execute(select(func.count()).select_from(AuthUser)).scalar_one():
            raise Conflict("users already exist: `users init` creates only the first admin; an admin adds the others")
        u = AuthUser(name=name, role="admin", token_hash=hash_token(token),
                     password_hash=hash_password(password) if password else None,
                     active=True, created_by="(users init)", created_at=utcnow(), changed_by="(users init)",
                     changed_at=utcnow(), last_action="init")
        s.add(u)
        _audit(s, u, "(users init)", "init")
        _sync_officer(s, u, name)

    _write(led, fn)
    return token


def add_user(led, actor: Actor, name: str, role: str, password: str | None = None) -> tuple[dict, str]:
    """An admin adds a user (or changes a user's role); returns (user, new API token)."""
    from aiexport.ledger.service import utcnow

    actor.require("admin", "managing users")
    _check_name(name)
    _check_role(role)
    token = new_token()

    def fn(s):
        u = s.get(AuthUser, name)
        action = "add"
        if u is None:
            u = AuthUser(name=name, role=role, token_hash=hash_token(token), active=True,
                         created_by=actor.name, created_at=utcnow(), changed_by=actor.name, changed_at=utcnow(),
                         last_action=action)
            s.add(u)
        else:
            action = "change"
            u.role, u.active, u.token_hash = role, True, hash_token(token)
        if password:
            u.password_hash = hash_password(password)
        _audit(s, u, actor.name, action)
        _sync_officer(s, u, actor.name)
        return user_dict(u)

    return _write(led, fn), token


def issue_token(led, actor: Actor, name: str) -> str:
    """A new API token for NAME (the old one stops working). An admin may for anyone, a user for themself."""

    if name != actor.name:
        actor.require("admin", "issuing another user's token")
    token = new_token()

    def fn(s):
        u = s.get(AuthUser, name)
        if u is None:
            raise NotFound(f"no user {name!r}", field="name")
        u.token_hash = hash_token(token)
        _audit(s, u, actor.name, "token")

    _write(led, fn)
    return token


def set_password(led, actor: Actor, name: str, password: str) -> None:

    if name != actor.name:
        actor.require("admin", "setting another user's password")
    if len(password) < 8:
        raise Conflict("password: at least 8 characters", field="password")

    def fn(s):
        u = s.get(AuthUser, name)
        if u is None:
            raise NotFound(f"no user {name!r}", field="name")
        u.password_hash = hash_password(password)
        _audit(s, u, actor.name, "password")

    _write(led, fn)


def disable_user(led, actor: Actor, name: str) -> dict:

    actor.require("admin", "managing users")

    def fn(s):
        u = s.get(AuthUser, name)
        if u is None:
            raise NotFound(f"no user {name!r}", field="name")
        admins = s.execute(select(func.count()).select_from(AuthUser).where(
            AuthUser.role == "admin", AuthUser.active.is_(True))).scalar_one()
        if u.role == "admin" and admins == 1:
            raise Conflict(f"{name!r} is the last admin; add another admin first")
        u.active, u.token_hash = False, None
        _audit(s, u, actor.name, "disable")
        _sync_officer(s, u, actor.name)
        return user_dict(u)

    return _write(led, fn)


def user_dict(u: AuthUser) -> dict:
    return {"name": u.name, "role": u.role, "active": u.active, "has_password": u.password_hash is not None,
            "created_by": u.created_by, "created_at": u.created_at}


def list_users(led, actor: Actor) -> list[dict]:
    actor.require("admin", "listing users")
    with led.transaction() as s:
        return [user_dict(u) for u in s.execute(select(AuthUser).order_by(AuthUser.name)).scalars()]


def by_token(led, token: str | None) -> Actor:
    if not token:
        raise Unauthenticated("an API token: send `Authorization: Bearer <token>` (see `aiexport users token`)")
    with led.transaction() as s:
        u = s.execute(select(AuthUser).where(AuthUser.token_hash == hash_token(token))).scalar_one_or_none()
    if u is None or not u.active:
        raise Unauthenticated("a valid API token (this one is unknown, replaced or disabled)")
    return Actor(u.name, u.role)


def by_password(led, name: str, password: str) -> Actor:
    with led.transaction() as s:
        u = s.get(AuthUser, name)
    ok = verify_password(password, u.password_hash if u is not None else None)
    if u is None or not u.active or not ok:
        raise Unauthenticated("a known user name and its password")
    return Actor(u.name, u.role)


def by_name(led, name: str) -> Actor | None:
    with led.transaction() as s:
        u = s.get(AuthUser, name)
    return Actor(u.name, u.role) if u is not None and u.active else None


def token_file() -> Path:
    import platformdirs

    return Path(os.environ.get("AIEXPORT_TOKEN_FILE") or Path(platformdirs.user_config_dir("aiexport", appauthor=False)) / "token")


def save_token(token: str) -> Path:
    p = token_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(token + "\n", encoding="utf-8")
    p.chmod(0o600)
    return p


def local_actor(led) -> Actor:
    """The CLI's identity: the configured local user, proven by a token ($AIEXPORT_TOKEN, else
    the token file `users init` / `users token --save` wrote). A typed name proves nothing."""
    token = os.environ.get(TOKEN_ENV)
    if not token:
        p = token_file()
        token = p.read_text(encoding="utf-8").strip() if p.exists() else None
    if not token:
        raise Unauthenticated(f"a configured local user: set ${TOKEN_ENV} or run `aiexport users init` "
                              f"(first admin) / `aiexport users token NAME --save` (writes {token_file()})")
    return by_token(led, token)


LOCAL_PREFIX = "local:"


def local_admin() -> Actor:
    """Before any user exists (a fresh ledger, `users init` not yet run), the CLI acts as the OS
    user with the admin role, recorded in the audit chain as ``local:<osuser>``: not a typed name,
    and never once a user exists."""
    import getpass

    return Actor(f"{LOCAL_PREFIX}{getpass.getuser()}", "admin")


def cli_identity(led) -> Actor:
    """Who the CLI acts as: with no user defined at all, the local admin; once `users init` has
    run, the configured local user (token), whatever a command line or the environment says."""
    if count_users(led) == 0:
        return local_admin()
    return local_actor(led)


def ensure_ledger_officer(led, actor: Actor) -> None:
    """The ledger checks holds against its own officer table (synced for users with the role
    officer or admin). The local admin has no user row, so it is entered there (an audit link
    "user:local:<osuser>", granted by itself) before it resolves a hold."""
    if actor.name.startswith(LOCAL_PREFIX) and actor.can("officer"):
        if actor.name not in {u["name"] for u in led.officers()}:
            led.grant(actor.name, actor=actor.name)
