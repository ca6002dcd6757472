"""Agent tokens (personal, hashed, expiring), agents' idempotent writes, and which agent
proposed a decision.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import chatbot.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("via_agent", sa.String(length=80), nullable=True))

    op.create_table(
        "agent_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    with op.batch_alter_table("agent_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "agent_write",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("tool", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "request_id", name="uq_agent_write_request"),
    )


def downgrade() -> None:
    op.drop_table("agent_write")
    with op.batch_alter_table("agent_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_token_user_id"))
    op.drop_table("agent_token")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("via_agent")
