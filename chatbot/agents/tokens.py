"""Personal agent tokens: made in Slack, shown once, stored as a sha256 hash, expiring.

The secret is 32 random bytes (256 bits) from `secrets`, so a plain sha256 is enough to store
it: nobody can brute-force a hash of a random 256-bit value, and unlike a password hash it can
be looked up by equality in one indexed query on every request.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from chatbot.agents.models import AgentToken
from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.errors import UserError

PREFIX = "thr_"
NAME_MAX = 80
RATE_WINDOW = timedelta(minutes=1)
LAST_USE_EVERY = timedelta(minutes=1)


class TokenError(UserError):
    """A token cannot be made or used; the text (prompts/agents.toml [errors]) says why."""


class Refusal(StrEnum):
    """Why a bearer token was not accepted (the same answer whatever the client sent)."""

    MISSING = "missing"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class NewToken:
    token: AgentToken
    secret: str  # shown once to its person, never stored


@dataclass(frozen=True)
class Checked:
    """The outcome of a bearer check: the token, or why it was refused."""

    token: AgentToken | None
    refusal: Refusal | None = None
    rate_limited: bool = False
    retry_after_seconds: int = 0


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def token_ref(token_id: int | None) -> str:
    return f"T-{token_id}"


class TokenService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._windows: dict[int, tuple[datetime, int]] = {}
        self._lock = threading.Lock()

    def create(self, user_id: str, name: str, days: int = 90) -> NewToken:
        clean = " ".join((name or "").split())
        if not clean:
            raise TokenError("agents.errors.no_name")
        if len(clean) > NAME_MAX:
            raise TokenError("agents.errors.name_too_long", limit=NAME_MAX)
        secret = PREFIX + secrets.token_urlsafe(32)
        now = self.clock.now()
        with self.db.session() as s:
            token = AgentToken(
                user_id=user_id,
                name=clean,
                secret_hash=hash_secret(secret),
                created_at=now,
                expires_at=now + timedelta(days=days),
            )
            s.add(token)
            s.flush()
            return NewToken(token, secret)

    def check(self, secret: str, calls_per_minute: int) -> Checked:
        """The token for `secret` if it is live, counting this call against its rate limit.

        The count lives in this object (one per web process, kept by the MCP endpoint), not
        in the database: a write per call cost more than the search it guards. With N web
        processes a token can make up to N times `calls_per_minute`. Last use is written at
        most once a minute for the same reason."""
        if not secret:
            return Checked(None, Refusal.MISSING)
        now = self.clock.now()
        with self.db.session() as s:
            token = s.exec(
                select(AgentToken).where(AgentToken.secret_hash == hash_secret(secret))
            ).first()
            if token is None:
                return Checked(None, Refusal.UNKNOWN)
            if token.revoked_at is not None:
                return Checked(None, Refusal.REVOKED)
            if token.expires_at <= now:
                return Checked(None, Refusal.EXPIRED)
            if token.last_used_at is None or now - token.last_used_at >= LAST_USE_EVERY:
                s.execute(
                    update(AgentToken)
                    .where(col(AgentToken.id) == token.id)
                    .values(last_used_at=now)
                )
        wait = self._count(token.id or 0, now, calls_per_minute)
        if wait is not None:
            return Checked(token, rate_limited=True, retry_after_seconds=wait)
        return Checked(token)

    def _count(self, token_id: int, now: datetime, calls_per_minute: int) -> int | None:
        """None when this call is within the limit, else the seconds until the next window."""
        with self._lock:
            start, calls = self._windows.get(token_id, (now, 0))
            if now - start >= RATE_WINDOW:
                start, calls = now, 0
            if calls >= calls_per_minute:
                return _ceil(RATE_WINDOW - (now - start))
            self._windows[token_id] = (start, calls + 1)
            return None

    def of_user(self, user_id: str) -> list[AgentToken]:
        """A person's live tokens (not revoked, not expired), newest first."""
        now = self.clock.now()
        return [t for t in self.all(user_id) if t.revoked_at is None and t.expires_at > now]

    def all(self, user_id: str | None = None) -> list[AgentToken]:
        query = select(AgentToken).order_by(
            col(AgentToken.created_at).desc(), col(AgentToken.id).desc()
        )
        if user_id is not None:
            query = query.where(AgentToken.user_id == user_id)
        with self.db.session() as s:
            return list(s.exec(query).all())

    def revoke(self, token_id: int, by_user: str | None = None) -> AgentToken:
        """Revoke one token; with `by_user`, only that person's own."""
        with self.db.session() as s:
            token = s.get(AgentToken, token_id)
            if token is None or (by_user is not None and token.user_id != by_user):
                raise TokenError("agents.errors.no_such_token", ref=token_ref(token_id))
            if token.revoked_at is None:
                token.revoked_at = self.clock.now()
            s.flush()
            return token

    def revoke_user(self, user_id: str) -> int:
        """Revoke every live token of a person (deactivated in Slack, or by an admin)."""
        return self._revoke_where(col(AgentToken.user_id) == user_id)

    def revoke_all(self) -> int:
        return self._revoke_where(None)

    def _revoke_where(self, condition: ColumnElement[bool] | None) -> int:
        statement = (
            update(AgentToken)
            .where(col(AgentToken.revoked_at).is_(None))
            .values(revoked_at=self.clock.now())
        )
        if condition is not None:
            statement = statement.where(condition)
        with self.db.session() as s:
            return int(s.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def _ceil(delta: timedelta) -> int:
    seconds = delta.total_seconds()
    return max(1, int(seconds) + (0 if seconds == int(seconds) else 1))


def expires_in_days(token: AgentToken, now: datetime) -> int:
    return max(0, (token.expires_at - now).days)
