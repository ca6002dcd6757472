"""The Friday check-in answers the orchestration metric reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime


class CheckIn(SQLModel, table=True):
    """One senior engineer's answer for one week: shares 0–1 of orchestration (intent,
    review, integration, risk) and of interrupts. Editable until the week's digest is
    posted."""

    __tablename__ = "check_in"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "week"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    user_id: str = Field(max_length=32)
    week: str = Field(max_length=8)
    orchestration_share: float | None = None
    interrupt_share: float | None = None
    answered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
