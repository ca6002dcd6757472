"""Posted digests, stored as Slack accepted them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime


class DigestPost(SQLModel, table=True):
    """A digest as it was posted: its JSON and message are kept, so data that arrives later
    never rewrites what leaders saw. `reason`: scheduled · manual · again. The week's slot
    (one scheduled post per team and week) is a `job_run` claim, not this table."""

    __tablename__ = "digest_post"
    __table_args__ = (Index("ix_digest_post_team_week", "team_id", "week"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    week: str = Field(max_length=8)  # 2026-W47
    reason: str = Field(default="scheduled", max_length=16)
    posted_by: str | None = Field(default=None, max_length=32)
    channel_id: str = Field(max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    digest: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    message: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    posted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
