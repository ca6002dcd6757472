"""Tables that belong to no single domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime


class ProcessedEvent(SQLModel, table=True):
    """One row per external delivery already handled (Slack event id, webhook id, ...)."""

    __tablename__ = "processed_event"

    key: str = Field(sa_column=Column(String(255), primary_key=True))
    seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
