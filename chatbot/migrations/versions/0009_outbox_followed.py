"""Outbox rows know when a later row of their lane waits behind them, so the settle of a row
nobody waits for does not look for one (a statement, and on PostgreSQL a transaction, less
for most messages).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("followed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Rows unsent when this runs may have rows waiting behind them that were stored before
    # anything marked them: their settles look, as before.
    op.execute(
        "UPDATE outbox_message SET followed = true WHERE lane IS NOT NULL AND status = 'pending'"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("followed")
