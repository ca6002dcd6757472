"""One row per external write that must happen exactly once (or be upserted in place)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime


class OutboxStatus:
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(SQLModel, table=True):
    """A write waiting for (or done by) an external system.

    `dedupe_key` is unique: enqueueing the same key again re-arms the row instead of adding
    a second one, so an edited comment is one row that is sent again. `state` is what the
    handler learned while sending (ticket key, comment id) and survives re-arming; it is how
    a retry after an ambiguous failure avoids a duplicate. `locked_until` is a lease: a row
    is sent by one process at a time. `claim_lapsed`: a claim ran out without settling the
    row (its process died, maybe after the other system accepted the write), so the next
    sender looks for that write before making it again.
    """

    __tablename__ = "outbox_message"
    # "The oldest unsent row of this lane" is asked on every send: by lane and status, so a
    # lane's thousands of sent rows are never read for it.
    __table_args__ = (Index("ix_outbox_message_lane_status", "lane", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64, index=True)
    # Rows of one lane (a Slack thread, a channel) are sent in id order: a later one waits
    # while an earlier one is unsent. None: no order to keep.
    lane: str | None = Field(default=None, sa_column=Column(String(255)))
    dedupe_key: str = Field(sa_column=Column(String(255), nullable=False, unique=True))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING, max_length=16, index=True)
    version: int = Field(default=1)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    locked_by: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    # Whom to tell when the write lands (or fails for good); cleared by the one who tells.
    notify: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    notify_token: str | None = Field(default=None, max_length=64)
    delay_told: bool = Field(default=False)
    claim_lapsed: bool = Field(default=False)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
