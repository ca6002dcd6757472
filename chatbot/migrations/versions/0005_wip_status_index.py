"""WIP: an index on the work items' folded status, so the items in progress now are found
without reading every item of the team.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.create_index(
            "ix_work_item_team_status_folded", ["team_id", sa.text("lower(status)")], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index("ix_work_item_team_status_folded")
