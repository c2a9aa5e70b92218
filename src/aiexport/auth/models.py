"""The users table (migration 0005), on the ledger's ``Base`` so one Alembic history covers it."""

from __future__ import annotations

import hashlib

from sqlalchemy import Boolean, String, event, select
from sqlalchemy.orm import Mapped, mapped_column

from aiexport.ledger.models import AuditHead, Base


class AuthUser(Base):
    """A user with a role. Only hashes are stored: sha256 of the API token, scrypt of the password.
    ``changed_by`` / ``changed_at`` / ``last_action`` name the authenticated actor of the last
    change, so the audited payload is a function of the row and `audit verify` checks it."""

    __tablename__ = "auth_users"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(300), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(32))
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[str] = mapped_column(String(32))
    last_action: Mapped[str] = mapped_column(String(20))


def payload(u: AuthUser) -> dict:
    """What the audit chain records: no hash itself, but a digest of the credentials, so a token
    or password hash written into the table outside aiexport breaks `audit verify`."""
    cred = hashlib.sha256(f"{u.token_hash or ''}|{u.password_hash or ''}".encode()).hexdigest()
    return {"type": "auth-user", "name": u.name, "role": u.role, "active": bool(u.active), "credentials": cred,
            "created_by": u.created_by, "created_at": u.created_at, "by": u.changed_by, "at": u.changed_at,
            "action": u.last_action}


def _audited(s):
    for u in s.execute(select(AuthUser)).scalars():
        yield f"auth-user:{u.name}", payload(u), f"user account {u.name}"


@event.listens_for(AuditHead, "load")
def _register(target, context) -> None:
    # The ledger's verify_chain checks the rows of the modules registered in AUDITED_RECORDS.
    # Registering at import would be circular (ledger.service imports ledger.models, which
    # imports this); the audit head is loaded before any verification, so register then.
    from aiexport.ledger import service

    if _audited not in service.AUDITED_RECORDS:
        service.AUDITED_RECORDS.append(_audited)
