"""Initial schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

While the first wave of issues is in flight this revision builds the schema from the
models; it is frozen into explicit operations before the first release.
"""

from __future__ import annotations

from alembic import op

from chatbot.db import search_index
from chatbot.db.models import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    metadata.create_all(bind)
    search_index.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    search_index.drop(bind)
    metadata.drop_all(bind)
