"""Ledger hardening (issue 14): decision versions, running totals, checkpoints.

* ledger_accounts.drawn: the running total of the account's entries, kept on the row the draw
  already locks (a draw no longer sums the history); backfilled from the entries here, and
  checked against them by `audit verify`.
* ledger_decisions.order_key / content_hash / version / supersedes: an order recorded again with
  other content is a new version that supersedes the old one (both stay in the audit chain).
  Rows recorded before this revision keep NULL here (their audit payloads did not have them).
* Checkpoints need no table: `audit checkpoint` prints (or signs) the head for keeping elsewhere.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aiexport.ledger.amounts import Amount

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_accounts") as batch:
        batch.add_column(sa.Column("drawn", Amount(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE ledger_accounts SET drawn = COALESCE("
        "(SELECT SUM(e.amount) FROM ledger_entries e WHERE e.account_id = ledger_accounts.id), 0)"
    )
    with op.batch_alter_table("ledger_decisions") as batch:
        batch.add_column(sa.Column("order_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("content_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("supersedes", sa.Integer(), nullable=True))
    op.create_index("ix_ledger_decisions_order_key", "ledger_decisions", ["order_key"])
    op.create_index("ix_ledger_entries_decision_id", "ledger_entries", ["decision_id"])


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_decision_id", table_name="ledger_entries")
    op.drop_index("ix_ledger_decisions_order_key", table_name="ledger_decisions")
    with op.batch_alter_table("ledger_decisions") as batch:
        batch.drop_column("supersedes")
        batch.drop_column("version")
        batch.drop_column("content_hash")
        batch.drop_column("order_key")
    with op.batch_alter_table("ledger_accounts") as batch:
        batch.drop_column("drawn")
