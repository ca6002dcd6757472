"""ISO weeks in a team's time zone, as UTC instants.

A week runs from Monday 00:00 to the next Monday 00:00 local time; across a daylight-saving
change it lasts 167 or 169 hours. Items belong to the week in which their end event fell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_LABEL = re.compile(r"(\d{4})-W(\d{2})")


class WeekError(ValueError):
    pass


@dataclass(frozen=True)
class Week:
    year: int
    number: int
    tz: ZoneInfo

    @classmethod
    def parse(cls, label: str, tz: ZoneInfo | str) -> Week:
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        match = _LABEL.fullmatch(label.strip())
        if not match:
            raise WeekError(f"{label!r} is not an ISO week; write it like 2026-W47")
        year, number = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise WeekError(f"{year} has no week {number}") from None
        return cls(year, number, zone)

    @classmethod
    def containing(cls, instant: datetime, tz: ZoneInfo | str) -> Week:
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        local = instant.astimezone(zone).date()
        iso = local.isocalendar()
        return cls(iso.year, iso.week, zone)

    @classmethod
    def last_complete(cls, now: datetime, tz: ZoneInfo | str) -> Week:
        """The default week of the CLI, `/digest` and the scheduled post."""
        return cls.containing(now, tz).shift(-1)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    def _local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC)

    @property
    def start(self) -> datetime:
        return self._local_midnight(self.monday)

    @property
    def end(self) -> datetime:
        return self._local_midnight(self.monday + timedelta(days=7))

    def day_ends(self) -> list[datetime]:
        """The end instant (next local midnight) of each of the week's 7 local days."""
        return [self._local_midnight(self.monday + timedelta(days=d + 1)) for d in range(7)]

    def shift(self, weeks: int) -> Week:
        iso = (self.monday + timedelta(weeks=weeks)).isocalendar()
        return Week(iso.year, iso.week, self.tz)

    def trend(self, length: int = 8) -> list[Week]:
        """`length` weeks, oldest first, ending with this one."""
        return [self.shift(-k) for k in range(length - 1, -1, -1)]

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    def __str__(self) -> str:
        return self.label
