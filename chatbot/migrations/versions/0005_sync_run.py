"""The last run of a periodic sync (the hourly GitHub catch-up), for `chatbot team doctor`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import chatbot.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_run",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("started_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("repos", sa.Integer(), nullable=False),
        sa.Column("pull_requests", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("last_success_started_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("sync_run")
