"""Outbox rows remember that a claim ran out without settling them (its process died, maybe
after Slack accepted the message), so the next sender looks for the message before posting.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        # A row held when this runs belongs to a process that may have died mid-send; the
        # claim that finds its lease run out marks it, so no row needs marking here.
        batch_op.add_column(
            sa.Column("claim_lapsed", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("claim_lapsed")
