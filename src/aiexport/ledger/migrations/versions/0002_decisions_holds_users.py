"""Decision records, holds, officers; entries name the decision that drew them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("decision_id", sa.String(200), nullable=False, unique=True),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("posture", sa.String(20), nullable=False),
        sa.Column("rule_set", sa.String(100), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
    )
    op.create_table(
        "ledger_holds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "decision_record_id",
            sa.Integer(),
            sa.ForeignKey("ledger_decisions.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("decision_id", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("resolved_at", sa.String(32), nullable=True),
        sa.Column("reason_code", sa.String(40), nullable=True),
        sa.Column("reason_text", sa.Text(), nullable=True),
    )
    op.create_index("ix_ledger_holds_status", "ledger_holds", ["status"])
    op.create_table(
        "ledger_users",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("granted_at", sa.String(32), nullable=False),
    )
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("decision_id", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("decision_id")
    op.drop_table("ledger_users")
    op.drop_index("ix_ledger_holds_status", table_name="ledger_holds")
    op.drop_table("ledger_holds")
    op.drop_table("ledger_decisions")
