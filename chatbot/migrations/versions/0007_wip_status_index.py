"""WIP: an index on the work items' folded status, so the items in progress now are found
without reading every item of the team; on PostgreSQL it and the (team, field, at) index of
the changelog carry the columns WIP reads, so those come from the indexes alone.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


CHANGES_INDEX = "ix_work_item_change_team_field_at"
CHANGES_KEY = ["team_id", "field", "at"]


def upgrade() -> None:
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.create_index(
            "ix_work_item_team_status_folded",
            ["team_id", sa.text("lower(status)")],
            unique=False,
            postgresql_include=[
                "id",
                "key",
                "status",
                "created_at",
                "assignee_id",
                "assignee_name",
                "deleted",
            ],
        )
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(CHANGES_INDEX, table_name="work_item_change")
        op.create_index(
            CHANGES_INDEX,
            "work_item_change",
            CHANGES_KEY,
            postgresql_include=["work_item_id", "id", "from_id", "from_value"],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(CHANGES_INDEX, table_name="work_item_change")
        op.create_index(CHANGES_INDEX, "work_item_change", CHANGES_KEY)
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index("ix_work_item_team_status_folded")
