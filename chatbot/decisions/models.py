"""A decision (what, why, alternatives, who, where), its revisions and its Jira links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime


class DecisionStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"


class DecisionSource(StrEnum):
    COMMAND = "command"
    FORM = "form"
    SHORTCUT = "shortcut"
    REACTION = "reaction"
    AGENT = "agent"


class Decision(SQLModel, table=True):
    __tablename__ = "decision"
    __table_args__ = (
        # One decision per Slack message, however many people react or run the shortcut.
        UniqueConstraint("source_channel", "source_ts", name="uq_decision_source"),
        Index("ix_decision_visible_recent", "is_private", "created_at"),
        Index("ix_decision_channel_recent", "channel_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    decision: str = Field(default="", sa_column=Column(Text, nullable=False))
    why: str = Field(default="", sa_column=Column(Text, nullable=False))
    alternatives: str = Field(default="", sa_column=Column(Text, nullable=False))
    consequences: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=DecisionStatus.ACCEPTED, max_length=16, index=True)
    superseded_by_id: int | None = Field(default=None, foreign_key="decision.id")
    supersedes_id: int | None = Field(default=None, foreign_key="decision.id")
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    jira_keys: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Tags and Jira keys as words, so full-text search finds them too.
    keywords: str = Field(default="", sa_column=Column(Text, nullable=False))
    intent_id: int | None = Field(default=None, foreign_key="intent.id", index=True)
    author: str = Field(max_length=32)
    logged_by: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    is_private: bool = Field(default=False)
    permalink: str | None = Field(default=None, sa_column=Column(Text))
    source: str = Field(default=DecisionSource.COMMAND, max_length=16)
    source_channel: str | None = Field(default=None, sa_column=Column(String(32)))
    source_ts: str | None = Field(default=None, sa_column=Column(String(32)))
    card_channel: str | None = Field(default=None, max_length=32)
    card_ts: str | None = Field(default=None, max_length=32)
    # The agent token's name when an AI agent proposed it for `author` (section 8).
    via_agent: str | None = Field(default=None, sa_column=Column(String(80)))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revision: int = Field(default=0)


class DecisionJiraLink(SQLModel, table=True):
    """One row per (decision, Jira key): how packs and `/context KEY` find decisions by ticket."""

    __tablename__ = "decision_jira_link"
    __table_args__ = (UniqueConstraint("decision_id", "jira_key"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    jira_key: str = Field(max_length=64, index=True)
    project: str = Field(max_length=32, index=True)


class DecisionRevision(SQLModel, table=True):
    """A full snapshot after every change, so edits keep history."""

    __tablename__ = "decision_revision"
    __table_args__ = (UniqueConstraint("decision_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    number: int
    author: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
