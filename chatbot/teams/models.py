"""A team: the unit the digest, Jira project and settings belong to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime
from chatbot.teams import defaults


class Team(SQLModel, table=True):
    __tablename__ = "team"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True, index=True)
    channel_id: str = Field(max_length=32, index=True)
    jira_project: str | None = Field(default=None, max_length=32)
    jira_jql: str | None = Field(default=None, max_length=2000)
    jira_issue_type: str = Field(default=defaults.JIRA_ISSUE_TYPE, max_length=64)
    tz: str = Field(default=defaults.TIME_ZONE, max_length=64)
    digest_weekday: int = Field(default=defaults.DIGEST_WEEKDAY)  # Monday = 0
    digest_time: str = Field(default=defaults.DIGEST_TIME, max_length=5)
    wip_limit: int = Field(default=defaults.WIP_LIMIT)
    orchestrators: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    senior_engineers: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    leaders: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    admins: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    baseline_week: str | None = Field(default=None, max_length=8)
    repos: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decision_reaction: str = Field(default=defaults.DECISION_REACTION, max_length=64)
    escape_rule: dict[str, Any] = Field(
        default_factory=lambda: dict(defaults.ESCAPE_RULE),
        sa_column=Column(JSON, nullable=False),
    )
    status_overrides: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    # Which deployment environments count as production; decided when metrics are computed.
    production_envs: list[str] = Field(
        default_factory=lambda: list(defaults.PRODUCTION_ENVS),
        sa_column=Column(JSON, nullable=False),
    )
    # Jira display names or account ids; empty means "whoever holds items" for WIP.
    members: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Extra GitHub logins that are bots (besides type Bot and logins ending in [bot]).
    bots: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    checkin_weekday: int = Field(default=defaults.CHECKIN_WEEKDAY)  # Friday
    checkin_time: str = Field(default=defaults.CHECKIN_TIME, max_length=5)
    # AI-assisted work (docs/ai-signals.md): the team's own coding-agent logins, commit/body marker
    # patterns (regular expressions) and labels, added to the built-in lists.
    ai_agents: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ai_markers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ai_labels: list[str] = Field(
        default_factory=lambda: list(defaults.AI_LABELS),
        sa_column=Column(JSON, nullable=False),
    )
    # Goals (docs/metrics.md): metric → {"relative": -0.4} or {"absolute": 8.0} (the metric's JSON
    # unit: hours, a fraction, a count).
    goals: dict[str, dict[str, float]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    # The first complete week with data, chosen once when baseline_week is unset.
    baseline_week_chosen: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
