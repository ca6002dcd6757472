"""AI-assisted work and goals: commit messages and co-authors, PR labels and size, the team's
AI settings and goals.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("git_commit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("coauthors", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True)
        )
    with op.batch_alter_table("pull_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("labels", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("additions", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("deletions", sa.Integer(), nullable=True))
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ai_agents", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("ai_markers", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column(
                "ai_labels",
                sa.JSON(),
                nullable=False,
                server_default='["ai-assisted", "ai-generated"]',
            )
        )
        batch_op.add_column(sa.Column("goals", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("goals")
        batch_op.drop_column("ai_labels")
        batch_op.drop_column("ai_markers")
        batch_op.drop_column("ai_agents")
    with op.batch_alter_table("pull_request", schema=None) as batch_op:
        batch_op.drop_column("deletions")
        batch_op.drop_column("additions")
        batch_op.drop_column("labels")
    with op.batch_alter_table("git_commit", schema=None) as batch_op:
        batch_op.drop_column("coauthors")
        batch_op.drop_column("message")
