"""Deployments and what each one shipped.

Every deployment is stored with its environment, whatever it is: which environments are
production is decided when metrics are computed (the team's `production_envs`), so changing
that setting re-reads history. Teams are found the same way, by `service` (or `repo` for
GitHub `deployment_status`), at query time.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime


class DeploymentStatus(StrEnum):
    PENDING = "pending"  # pending · queued · in_progress: not a deployment yet
    SUCCESS = "success"
    FAILURE = "failure"


class Deployment(SQLModel, table=True):
    """One deployment, unique per (`source`, `external_id`). The first `success` or
    `failure` is final and sets `deployed_at`; later events add changes only.
    `rollback_of` / `hotfix_of` hold the external id of a deployment of the same source,
    which may arrive later."""

    __tablename__ = "deployment"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_deployment_service_at", "service", "deployed_at"),
        Index("ix_deployment_repo_at", "repo", "deployed_at"),
        Index("ix_deployment_rollback_of", "source", "rollback_of"),
        Index("ix_deployment_hotfix_of", "source", "hotfix_of"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)  # webhook · cli · github
    external_id: str = Field(max_length=200)
    service: str | None = Field(default=None, max_length=200)
    repo: str | None = Field(default=None, max_length=200)
    environment: str = Field(max_length=100)
    status: str = Field(default=DeploymentStatus.PENDING, max_length=16)
    deployed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    rollback_of: str | None = Field(default=None, max_length=200)
    hotfix_of: str | None = Field(default=None, max_length=200)
    first_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DeploymentChange(SQLModel, table=True):
    """Something a deployment lists: `kind` pr (value `owner/repo#12`), commit (a sha) or
    issue (a Jira key)."""

    __tablename__ = "deployment_change"
    __table_args__ = (
        UniqueConstraint("deployment_id", "kind", "value"),
        Index("ix_deployment_change_value", "kind", "value"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="deployment.id", index=True)
    kind: str = Field(max_length=16)
    value: str = Field(max_length=255)
