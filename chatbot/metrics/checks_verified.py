"""Checks verified at done: of the team's intents whose ticket moved to done in the week, the
share whose acceptance checks are all verified now (when the digest is computed).

An intent's done instant is its ticket's last move into a done category (synced Jira
history); an intent with no such history uses the time its own status was set to done.
An intent with no acceptance check at all is left out (`no_checks`): "all verified" would
be true of it without anyone checking anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from chatbot.db.engine import Database
from chatbot.db.types import UTCDateTime
from chatbot.intent.models import AcceptanceCheck, Intent
from chatbot.jira.models import WorkItem, WorkItemChange
from chatbot.metrics.base import ExplainItem, Reading, TeamScope, WeekFigure
from chatbot.metrics.categories import DONE, status_categories, statuses_in
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.stats import rate
from chatbot.metrics.week import Week


class ChecksVerifiedAtDone:
    name = MetricKey.CHECKS_VERIFIED_AT_DONE
    headline = "value"
    lower_is_better = False

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        done_names = statuses_in(status_categories(db, team), DONE)
        ticket_done = (
            select(func.max(WorkItemChange.at))
            .join(WorkItem, col(WorkItem.id) == col(WorkItemChange.work_item_id))
            .where(
                WorkItem.team_id == team.team_id,
                col(WorkItem.key) == col(Intent.jira_key),
                WorkItemChange.field == "status",
                func.lower(WorkItemChange.to_value).in_(done_names or [""]),
            )
            .scalar_subquery()
        )
        done_at = func.coalesce(ticket_done, Intent.done_at, type_=UTCDateTime())
        checks = (
            select(func.count())
            .where(col(AcceptanceCheck.intent_id) == col(Intent.id))
            .scalar_subquery()
        )
        unverified = (
            select(func.count())
            .where(
                col(AcceptanceCheck.intent_id) == col(Intent.id),
                col(AcceptanceCheck.verified_at).is_(None),
            )
            .scalar_subquery()
        )
        start, end = min(w.start for w in weeks), max(w.end for w in weeks)
        with db.session() as s:
            rows = s.exec(
                select(Intent.id, Intent.jira_key, done_at, checks, unverified)
                .where(Intent.team_id == team.team_id, done_at >= start, done_at < end)
                .order_by(col(Intent.id))
            ).all()
        return {w.label: _figure(w, rows, explain) for w in weeks}


def _figure(week: Week, rows: Sequence[tuple], explain: bool) -> WeekFigure:
    done = verified = 0
    excluded: dict[str, int] = {}
    items: list[ExplainItem] = []
    for intent_id, jira_key, done_at, checks, unverified in rows:
        at: datetime = done_at
        if not week.contains(at):
            continue
        reason = "no_checks" if checks == 0 else None
        if reason:
            excluded[reason] = excluded.get(reason, 0) + 1
        else:
            done += 1
            verified += unverified == 0
        if explain:
            items.append(
                ExplainItem(
                    ref=f"I-{intent_id}" + (f" ({jira_key})" if jira_key else ""),
                    counted=reason is None,
                    value=None if reason else float(unverified == 0),
                    reason=reason,
                    times={"done_at": at.isoformat()},
                    detail=f"{checks - unverified} of {checks} checks verified",
                )
            )
    value = rate(verified, done)
    return WeekFigure(
        headline=value,
        fields={
            "value": value,
            "verified": verified,
            "done": done,
            "n": done,
            "excluded": excluded,
        },
        items=items,
    )


METRIC = ChecksVerifiedAtDone()
