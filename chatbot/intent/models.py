"""Intent, its acceptance checks, its revisions and the guided-conversation draft."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime


class IntentStatus(StrEnum):
    DRAFT = "draft"
    READY = "ready"
    LINKED = "linked"
    IN_PROGRESS = "in_progress"
    VERIFIED = "verified"
    DONE = "done"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    IntentStatus.DRAFT: "Draft",
    IntentStatus.READY: "Ready",
    IntentStatus.LINKED: "Linked",
    IntentStatus.IN_PROGRESS: "In progress",
    IntentStatus.VERIFIED: "Verified",
    IntentStatus.DONE: "Done",
    IntentStatus.CANCELLED: "Cancelled",
}


class Intent(SQLModel, table=True):
    __tablename__ = "intent"

    id: int | None = Field(default=None, primary_key=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    outcome: str = Field(default="", sa_column=Column(Text, nullable=False))
    why: str = Field(default="", sa_column=Column(Text, nullable=False))
    constraints: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    out_of_scope: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=IntentStatus.DRAFT, max_length=16, index=True)
    jira_key: str | None = Field(default=None, max_length=64, index=True)
    channel_id: str = Field(max_length=32, index=True)
    channel_is_private: bool = Field(default=False)
    thread_ts: str | None = Field(default=None, max_length=32)
    card_ts: str | None = Field(default=None, max_length=32)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revision: int = Field(default=0)


class AcceptanceCheck(SQLModel, table=True):
    __tablename__ = "acceptance_check"

    id: int | None = Field(default=None, primary_key=True)
    intent_id: int = Field(foreign_key="intent.id", index=True)
    position: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    verified_by: str | None = Field(default=None, max_length=32)
    verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class IntentRevision(SQLModel, table=True):
    """A full snapshot after every edit; `late` marks edits made after work started."""

    __tablename__ = "intent_revision"
    __table_args__ = (UniqueConstraint("intent_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    intent_id: int = Field(foreign_key="intent.id", index=True)
    number: int
    author: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    late: bool = Field(default=False)
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class IntentConversation(SQLModel, table=True):
    """The guided conversation in a thread: which question is open and what was answered."""

    __tablename__ = "intent_conversation"
    __table_args__ = (UniqueConstraint("channel_id", "thread_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    intent_id: int = Field(foreign_key="intent.id", index=True)
    channel_id: str = Field(max_length=32)
    thread_ts: str = Field(max_length=32)
    step: int = Field(default=0)
    asked_ts: str | None = Field(default=None, max_length=32)
    state: str = Field(default="active", max_length=16)  # active · finished · cancelled
    answered_ts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
