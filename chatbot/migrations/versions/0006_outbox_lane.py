"""Outbox lanes: messages owed to one Slack conversation are sent in the order they were owed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.String(length=255), nullable=True))
        batch_op.create_index(
            "ix_outbox_message_lane_status", ["lane", "status", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_lane_status")
        batch_op.drop_column("lane")
