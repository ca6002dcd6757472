"""A person's agent token (stored hashed) and the writes agents made (for request_id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime


class AgentToken(SQLModel, table=True):
    __tablename__ = "agent_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32, index=True)
    name: str = Field(max_length=80)
    # sha256 of the secret, hex: the secret itself is shown once and never stored.
    secret_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class AgentWrite(SQLModel, table=True):
    """One row per (person, request_id): a retried write returns what the first one did."""

    __tablename__ = "agent_write"
    __table_args__ = (UniqueConstraint("user_id", "request_id", name="uq_agent_write_request"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32)
    request_id: str = Field(max_length=100)
    tool: str = Field(max_length=40)
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
