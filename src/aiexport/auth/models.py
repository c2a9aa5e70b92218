"""The users table (migration 0005), on the ledger's ``Base`` so one Alembic history covers it."""

from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from aiexport.ledger.models import Base


class AuthUser(Base):
    """A user with a role. Only hashes are stored: sha256 of the API token, scrypt of the password."""

    __tablename__ = "auth_users"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(300), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(32))
