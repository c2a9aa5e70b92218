"""Screening tables (migration 0004), on the ledger's ``Base`` so one Alembic history and one
"models match migrations" check cover both."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aiexport.ledger.models import Base


class ListVersion(Base):
    """One loaded list file (or file set: sdn.csv + add.csv + alt.csv)."""

    __tablename__ = "screening_list_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))  # csl | ofac-sdn
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    published: Mapped[str | None] = mapped_column(String(10), nullable=True)
    counts: Mapped[str] = mapped_column(Text)  # canonical JSON {list code: n}
    loaded_at: Mapped[str] = mapped_column(String(32))
    loaded_by: Mapped[str] = mapped_column(String(200))


class ListEntryRow(Base):
    """One entry of one list version; ``data`` is the entry as canonical JSON."""

    __tablename__ = "screening_entries"
    __table_args__ = (
        UniqueConstraint("version_id", "uid", name="uq_screening_entries_version_uid"),
        Index("ix_screening_entries_uid", "uid"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("screening_list_versions.id"))
    uid: Mapped[str] = mapped_column(String(80))
    list_code: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)


class ScreenedParty(Base):
    """A party screened with ``--record`` (or by ``check``): its candidates at the last screening."""

    __tablename__ = "screening_parties"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_key: Mapped[str] = mapped_column(String(64), unique=True)
    party_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    versions: Mapped[str] = mapped_column(Text)  # canonical JSON [list version ids]
    candidates: Mapped[str] = mapped_column(Text)  # canonical JSON {entry uid: content hash}
    status: Mapped[str] = mapped_column(String(20))
    screened_at: Mapped[str] = mapped_column(String(32))


class Disposition(Base):
    """An officer's decision on one (party, entry version): false_positive or confirmed."""

    __tablename__ = "screening_dispositions"
    __table_args__ = (Index("ix_screening_dispositions_party", "party_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_key: Mapped[str] = mapped_column(String(64))
    party_name: Mapped[str] = mapped_column(Text)
    entry_uid: Mapped[str] = mapped_column(String(80))
    entry_hash: Mapped[str] = mapped_column(String(64))
    list_code: Mapped[str] = mapped_column(String(10))
    entry_name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(32))
    audit_seq: Mapped[int] = mapped_column(Integer)
