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
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chatbot.metrics.week import Week

if TYPE_CHECKING:
    from chatbot.digest.publish import DigestPublisher
from chatbot.services import Services
from chatbot.teams.models import Team

log = logging.getLogger(__name__)

CATCH_UP = timedelta(hours=24)


@dataclass(frozen=True)
class Slot:
    at: datetime  # UTC
    week: str  # the week the slot is about


def _wall_time(text: str) -> time:
    hours, minutes = (int(x) for x in (text or "09:00").split(":"))
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


def checkin_slot(team: Team, now: datetime) -> Slot | None:
    """The team's check-in slot due now, about the week it falls in."""
    tz = ZoneInfo(team.tz)
    weekday = getattr(team, "checkin_weekday", 4)
    at = latest_slot(now, tz, weekday, getattr(team, "checkin_time", "15:00"))
    if now - at > CATCH_UP:
        return None
    return Slot(at, Week.containing(at, tz).label)


def run_digest_schedule(services: Services, publisher: DigestPublisher | None = None) -> int:
    """The every-minute job: post due digests, send due check-ins and reminders. Returns how
    many digests it posted."""
    from chatbot.digest.checkin import CheckInService
    from chatbot.digest.publish import DigestPublisher
    from chatbot.teams.service import TeamService

    now = services.clock.now()
    publisher = publisher or DigestPublisher(services)
    checkins = CheckInService(services)
    posted = 0
    for team in TeamService(services.db, services.clock).all():
        try:
            slot = digest_slot(team, now)
            if slot is not None:
                posted += publisher.post_slot(team, slot.week).status == "posted"
            checkins.run_due(team, now)
        except Exception:  # one team's failure never stops the others
            log.exception("digest schedule failed for team %s", team.name)
    return posted
