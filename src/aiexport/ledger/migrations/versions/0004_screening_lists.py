"""Restricted-party lists, screened parties and dispositions (issue 8).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screening_list_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("published", sa.String(10), nullable=True),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.String(32), nullable=False),
        sa.Column("loaded_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "screening_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("screening_list_versions.id"), nullable=False),
        sa.Column("uid", sa.String(80), nullable=False),
        sa.Column("list_code", sa.String(10), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.UniqueConstraint("version_id", "uid", name="uq_screening_entries_version_uid"),
    )
    op.create_index("ix_screening_entries_uid", "screening_entries", ["uid"])
    op.create_table(
        "screening_parties",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("party_key", sa.String(64), nullable=False, unique=True),
        sa.Column("party_id", sa.String(200), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("screened_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "screening_dispositions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("party_key", sa.String(64), nullable=False),
        sa.Column("party_name", sa.Text(), nullable=False),
        sa.Column("entry_uid", sa.String(80), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("list_code", sa.String(10), nullable=False),
        sa.Column("entry_name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
    )
    op.create_index("ix_screening_dispositions_party", "screening_dispositions", ["party_key"])


def downgrade() -> None:
    op.drop_index("ix_screening_dispositions_party", table_name="screening_dispositions")
    op.drop_table("screening_dispositions")
    op.drop_table("screening_parties")
    op.drop_index("ix_screening_entries_uid", table_name="screening_entries")
    op.drop_table("screening_entries")
    op.drop_table("screening_list_versions")
