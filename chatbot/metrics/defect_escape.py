"""Defect escape rate over a 14-day window: the reported week and the week before it.

Bugs (issue type Bug) the team's sync found, created in the window (14 local calendar days
ending at the week's end; a bug created exactly at the window's start counts), and found
after release by the team's rule as it stands now (`chatbot.teams.escape`). A bug is one
work item however often it was reopened, so it counts once. Deleted items are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from chatbot.db.engine import Database
from chatbot.jira.models import WorkItem
from chatbot.metrics.base import ExplainItem, Reading, TeamScope, WeekFigure
from chatbot.metrics.common import in_ranges, iso, merged_ranges, rounded
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.stats import rate
from chatbot.metrics.week import Week
from chatbot.teams.escape import is_escaped

WI = WorkItem.__table__.c  # type: ignore[attr-defined]
BUG = "Bug"
WINDOW_WEEKS = 2


class DefectEscapeRate:
    name = MetricKey.DEFECT_ESCAPE_RATE
    headline = "value"
    lower_is_better = True

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        ranges = merged_ranges(weeks, before=WINDOW_WEEKS - 1)
        query = select(WI.key, WI.created_at, WI.labels, WI.fields, WI.escaped).where(
            WI.team_id == team.team_id,
            WI.issue_type == BUG,
            in_ranges(WI.created_at, ranges),
            WI.deleted.is_(False),
        )
        with db.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {w.label: _figure(team, w, rows, explain) for w in weeks}


def _figure(team: TeamScope, week: Week, rows: Sequence[Any], explain: bool) -> WeekFigure:
    start, end = week.shift(-(WINDOW_WEEKS - 1)).start, week.end
    mine = sorted((r for r in rows if start <= r.created_at < end), key=lambda r: r.key)
    flags = [
        is_escaped(team.escape_rule, list(r.labels or []), dict(r.fields or {}), bool(r.escaped))
        for r in mine
    ]
    escaped = sum(flags)
    value = rounded(rate(escaped, len(mine)))
    items = []
    if explain:
        items = [
            ExplainItem(
                ref=r.key,
                counted=True,
                value=1.0 if flag else 0.0,
                times={"created": iso(r.created_at)},
                detail="escaped" if flag else "not escaped",
            )
            for r, flag in zip(mine, flags, strict=True)
        ]
    return WeekFigure(
        headline=value,
        fields={
            "value": value,
            "escaped": escaped,
            "total": len(mine),
            "n": len(mine),
            "window_days": WINDOW_WEEKS * 7,
            "excluded": {},
        },
        items=items,
    )


METRIC = DefectEscapeRate()
