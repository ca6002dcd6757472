"""When each team's digest and check-in are due, in the team's own time zone.

A slot is the local day and time of the team's setting in a given ISO week; across a
daylight-saving change the same wall-clock time is a different UTC instant, which
`zoneinfo` resolves. The clock job runs every minute and handles any slot due within the
last 24 hours: one missed while the bot was down is posted on the next start, and one older
than that is not (a stale digest helps nobody).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chatbot.metrics.week import Week
from chatbot.teams import defaults
from chatbot.teams.models import Team

log = logging.getLogger(__name__)

CATCH_UP = timedelta(hours=24)


@dataclass(frozen=True)
class Slot:
    at: datetime  # UTC
    week: str  # the week the slot is about


def _wall_time(text: str) -> time:
    hours, minutes = (int(x) for x in (text or defaults.DIGEST_TIME).split(":"))
    return time(hours, minutes)


def slot_in_week(week: Week, weekday: int, at: str) -> datetime:
    """The UTC instant of `weekday` (Monday 0) at local `at` during `week`."""
    day = week.monday + timedelta(days=weekday)
    local = datetime.combine(day, _wall_time(at), tzinfo=week.tz)
    # A wall time skipped by a spring-forward change resolves to the hour after it (fold 0).
    return local.astimezone(UTC)


def latest_slot(now: datetime, tz: ZoneInfo, weekday: int, at: str) -> datetime:
    """The most recent slot at or before `now`."""
    week = Week.containing(now, tz)
    instant = slot_in_week(week, weekday, at)
    if instant > now:
        instant = slot_in_week(week.shift(-1), weekday, at)
    return instant


def digest_slot(team: Team, now: datetime) -> Slot | None:
    """The team's digest slot due now (within the catch-up window), about the last complete
    week at that moment; None when none is due."""
    tz = ZoneInfo(team.tz)
    at = latest_slot(now, tz, team.digest_weekday, team.digest_time)
    if now - at > CATCH_UP:
        return None
    return Slot(at, Week.last_complete(at, tz).label)
