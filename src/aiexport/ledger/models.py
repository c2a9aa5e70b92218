"""Ledger tables. The schema is owned by the Alembic migrations in ./migrations; these
mappings must match them (tests/ledger/test_migrations.py compares the two)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aiexport.ledger.amounts import Amount

GENESIS_HASH = "0" * 64


class Base(DeclarativeBase):
    pass


class Account(Base):
    """A license, allocation or quota: a limit that draws consume."""

    __tablename__ = "ledger_accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(10))
    limit_amount: Mapped[Decimal] = mapped_column(Amount())
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    attributes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(200))
    # Added by migration 0003: the running total of the entries (kept by every movement on the
    # locked row; `audit verify` checks it against the entries). Not part of the audit payload.
    drawn: Mapped[Decimal] = mapped_column(Amount(), server_default="0", default=Decimal(0))


class Entry(Base):
    """An append-only movement: draw (+), release (-), adjust (+/-) of the drawn amount."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("account_id", "kind", "ref", name="uq_ledger_entries_account_kind_ref"),
        Index("ix_ledger_entries_account_id", "account_id"),
        Index("ix_ledger_entries_decision_id", "decision_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Amount())
    ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    on_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[str] = mapped_column(String(32))
    # Added by migration 0002.
    decision_id: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AuditRecord(Base):
    """One link of the hash chain: hash = SHA-256(prev_hash + "\\n" + payload)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(220))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last link (a single row, id 1); locked to append, so appends are serialised."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


class Decision(Base):
    """A recorded decision (OPA decision-log shape); payload is its canonical JSON."""

    __tablename__ = "ledger_decisions"
    __table_args__ = (Index("ix_ledger_decisions_order_key", "order_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(200), unique=True)
    outcome: Mapped[str] = mapped_column(String(30))
    posture: Mapped[str] = mapped_column(String(20))
    rule_set: Mapped[str] = mapped_column(String(100))
    date: Mapped[dt.date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    # Added by migration 0003 (NULL for decisions recorded before it): the order this decides
    # (transaction id @ date / posture), the hash of what was decided on, its version, and the
    # record id of the version it supersedes.
    order_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    supersedes: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Hold(Base):
    """A block on a LICENSE_REQUIRED / NEEDS_FACTS decision until an officer resolves it."""

    __tablename__ = "ledger_holds"
    __table_args__ = (Index("ix_ledger_holds_status", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_record_id: Mapped[int] = mapped_column(ForeignKey("ledger_decisions.id"), unique=True)
    decision_id: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(200))
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolved_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason_text: Mapped[str | None] = mapped_column(Text, nullable=True)


class User(Base):
    """A user holding a role (officer) that may release and reject holds."""

    __tablename__ = "ledger_users"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[str] = mapped_column(String(32))


# The screening tables (migration 0004) share this Base; importing them here keeps one metadata
# for the "models match migrations" check.
import aiexport.app.veu  # noqa: E402,F401  (VEU authorizations on record, migration 0006, issue 10)
import aiexport.auth.models  # noqa: E402,F401  (users and roles, migration 0005, issue 12)
import aiexport.screening.models  # noqa: E402,F401
