"""Tables that belong to no single domain."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, Text
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime


class ProcessedEvent(SQLModel, table=True):
    """One row per external delivery already handled (Slack event id, webhook id, ...)."""

    __tablename__ = "processed_event"

    key: str = Field(sa_column=Column(String(255), primary_key=True))
    seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    RETRY = "retry"  # failed; a later attempt may run once its `not_before` has passed
    FAILED = "failed"


class JobRun(SQLModel, table=True):
    """A claimed run of a scheduled job: `key` names the job and its due slot (for example
    `digest:3:2026-W47` or `outbox:2026-11-18T10:00:10`). Inserting the row is the claim,
    so however many clocks run, each slot runs once. `status`: a `RunStatus`."""

    __tablename__ = "job_run"

    key: str = Field(sa_column=Column(String(255), primary_key=True))
    job: str = Field(max_length=64, index=True)
    claimed_by: str = Field(max_length=128)
    claimed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default=RunStatus.RUNNING, max_length=16)
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    detail: str | None = Field(default=None, sa_column=Column(Text))


class JobLease(SQLModel, table=True):
    """A lease on an interval job: one clock runs it at a time; `last_run_at` tells the
    others (and /healthz) when it last ran."""

    __tablename__ = "job_lease"

    job: str = Field(sa_column=Column(String(64), primary_key=True))
    holder: str | None = Field(default=None, max_length=128)
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_run_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class SyncState(SQLModel, table=True):
    """Where an ingest stopped (`jira:3`, `github:acme/payments`): its watermark and any
    cursor, so an interrupted sync resumes without gaps or duplicates."""

    __tablename__ = "sync_state"

    name: str = Field(sa_column=Column(String(255), primary_key=True))
    watermark: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SyncRun(SQLModel, table=True):
    """The last run of a periodic sync (`github-catch-up`): when it ran, how it ended and
    what it read, for `chatbot team doctor`; and when the last successful run started,
    which the next run reads from."""

    __tablename__ = "sync_run"

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ok: bool
    repos: int = 0
    pull_requests: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    last_success_started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
