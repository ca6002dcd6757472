"""Jira history for the metrics: work items, their status and assignee changes, and the
status catalogue with its categories.

A work item belongs to the team whose sync found it (one Jira issue matched by two teams'
JQL is stored once per team, so each team's history stays its own). Every time is UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime

# What WIP reads of the items in progress now (see the folded-status index below).
WIP_ITEM_COLUMNS = [
    "id",
    "key",
    "status",
    "created_at",
    "assignee_id",
    "assignee_name",
    "deleted",
]


class WorkItem(SQLModel, table=True):
    """A Jira issue as of its last sync. `escaped` is the team's JQL escape rule evaluated
    at sync time; label and field rules are evaluated from `labels` / `fields` when the
    digest is computed. `deleted` marks an issue gone from Jira (or moved out of the JQL)."""

    __tablename__ = "work_item"
    __table_args__ = (
        UniqueConstraint("team_id", "key"),
        Index("ix_work_item_team_type_created", "team_id", "issue_type", "created_at"),
        Index("ix_work_item_team_jira_id", "team_id", "jira_id"),
        # WIP: the items in progress now, and the items created by an old week's end.
        Index("ix_work_item_team_status", "team_id", "status"),
        # WIP finds the items in progress now by `lower(status) IN (...)`, as both
        # databases fold it (statuses are matched case-insensitively); on PostgreSQL the
        # index carries what WIP reads of them.
        Index(
            "ix_work_item_team_status_folded",
            "team_id",
            text("lower(status)"),
            postgresql_include=WIP_ITEM_COLUMNS,
        ),
        Index("ix_work_item_team_created", "team_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    jira_id: str = Field(max_length=32)
    key: str = Field(max_length=64)
    project_key: str = Field(default="", max_length=32)
    issue_type: str = Field(default="", max_length=64)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default="", max_length=100)
    status_id: str | None = Field(default=None, max_length=32)
    assignee_id: str | None = Field(default=None, max_length=128)
    assignee_name: str | None = Field(default=None, max_length=255)
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    escaped: bool = Field(default=False)
    deleted: bool = Field(default=False)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    synced_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class WorkItemChange(SQLModel, table=True):
    """One status or assignee change from the changelog (`field` status · assignee).
    `team_id` is repeated from the work item so the week queries need no join to find
    their rows. Status changes carry names (`from_value`/`to_value`) and ids; assignee
    changes carry account ids and display names."""

    __tablename__ = "work_item_change"
    __table_args__ = (
        UniqueConstraint("work_item_id", "history_id", "field"),
        # The team's changes of a field since an instant, in time order; on PostgreSQL it
        # carries what WIP reads of them, so that range is read from the index alone.
        Index(
            "ix_work_item_change_team_field_at",
            "team_id",
            "field",
            "at",
            postgresql_include=["work_item_id", "id", "from_id", "from_value"],
        ),
        Index("ix_work_item_change_item_field_at", "work_item_id", "field", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    work_item_id: int = Field(foreign_key="work_item.id")
    history_id: str = Field(max_length=32)
    field: str = Field(max_length=16)
    from_id: str | None = Field(default=None, max_length=128)
    from_value: str | None = Field(default=None, max_length=255)
    to_id: str | None = Field(default=None, max_length=128)
    to_value: str | None = Field(default=None, max_length=255)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class JiraStatus(SQLModel, table=True):
    """Jira's status catalogue: `category` is Jira's status category key (new ·
    indeterminate · done); a team's `status_overrides` (status name → category) win."""

    __tablename__ = "jira_status"

    status_id: str = Field(sa_column=Column(String(32), primary_key=True))
    name: str = Field(max_length=100, index=True)
    category: str = Field(max_length=32)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
