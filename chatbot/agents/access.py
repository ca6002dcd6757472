"""What a token's person may see: the rule, with Slack's membership answers passed in.

A person sees the public channels' intents and decisions of their teams, and a private
channel's only while Slack says they are a member of it. Slack's answers are cached for at most
five minutes (a person removed from a channel loses it within that time); when Slack cannot
answer for a channel, that channel is treated as not theirs, so private items are withheld and
everything else is still served.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import text

from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.teams.models import Team

MEMBERSHIP_TTL = timedelta(minutes=5)
FAILURE_TTL = timedelta(seconds=30)


class Membership(Protocol):
    """Slack's answer to "who is in this channel?"; None when Slack cannot say."""

    def members(self, channel_id: str) -> frozenset[str] | None: ...


class CachedMembership:
    """Keeps each channel's answer for `ttl` (never longer than five minutes). When Slack
    could not answer, that is remembered for `failure_ttl` (shorter): during an outage a
    request must not wait on Slack once per channel, and the channel stays withheld."""

    def __init__(
        self,
        source: Membership,
        clock: Clock,
        ttl: timedelta = MEMBERSHIP_TTL,
        failure_ttl: timedelta = FAILURE_TTL,
    ) -> None:
        self._source = source
        self._clock = clock
        self._ttl = min(ttl, MEMBERSHIP_TTL)
        self._failure_ttl = min(failure_ttl, self._ttl)
        self._known: dict[str, tuple[datetime, frozenset[str] | None]] = {}
        self._lock = threading.Lock()

    def members(self, channel_id: str) -> frozenset[str] | None:
        now = self._clock.now()
        with self._lock:
            cached = self._known.get(channel_id)
        if cached is not None:
            at, answer = cached
            if now - at < (self._ttl if answer is not None else self._failure_ttl):
                return answer
        answer = self._source.members(channel_id)
        with self._lock:
            self._known[channel_id] = (now, answer)
        return answer


@dataclass(frozen=True)
class Viewer:
    """The person a request acts as, with what they may see."""

    user_id: str
    teams: tuple[Team, ...]
    # Private channels (and DMs) holding items that Slack says this person is in.
    private_channels: frozenset[str]

    @property
    def team_channels(self) -> frozenset[str]:
        return frozenset(t.channel_id for t in self.teams)

    def sees(self, channel_id: str, is_private: bool) -> bool:
        if is_private:
            return channel_id in self.private_channels
        return channel_id in self.team_channels

    def team(self, name: str | None) -> Team | None:
        """The team named `name`; without a name, the person's only team (None if several)."""
        if name:
            wanted = name.strip().lower()
            return next((t for t in self.teams if t.name.lower() == wanted), None)
        return self.teams[0] if len(self.teams) == 1 else None

    def leads(self, team: Team) -> bool:
        return self.user_id in team.leaders


def _in_team(user_id: str, team: Team, membership: Membership) -> bool:
    named = (team.leaders, team.admins, team.orchestrators, team.senior_engineers)
    if any(user_id in people for people in named):
        return True
    members = membership.members(team.channel_id)
    return members is not None and user_id in members


def private_channels_with_items(db: Database) -> list[str]:
    """Private channels (and DMs) that hold at least one decision or intent."""
    sql = text(
        "SELECT channel_id FROM decision WHERE is_private = :yes "
        "UNION SELECT channel_id FROM intent WHERE channel_is_private = :yes"
    )
    with db.engine.connect() as conn:
        return sorted(str(row[0]) for row in conn.execute(sql, {"yes": True}))


def viewer_for(db: Database, user_id: str, teams: Iterable[Team], membership: Membership) -> Viewer:
    mine = tuple(t for t in teams if _in_team(user_id, t, membership))
    private = frozenset(
        channel
        for channel in private_channels_with_items(db)
        if user_id in (membership.members(channel) or frozenset())
    )
    return Viewer(user_id, mine, private)
