"""Late intent churn: revisions of an intent (its text or its acceptance checks) made in the
week after the intent's work started.

Work started at the earliest of: the intent's own start (status set to in progress, or the
Jira webhook saw its ticket enter progress) and its ticket's first move into an in-progress
category in the synced Jira history. A revision made at or after that instant is late, even
when the revision itself was recorded before the history arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import col, select

from chatbot.db.engine import Database
from chatbot.intent.models import Intent, IntentRevision
from chatbot.jira.models import WorkItem, WorkItemChange
from chatbot.metrics.base import ExplainItem, Reading, TeamScope, WeekFigure
from chatbot.metrics.categories import IN_PROGRESS, status_categories, statuses_in
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.week import Week


class LateIntentChurn:
    name = MetricKey.LATE_INTENT_CHURN
    headline = "revisions"
    lower_is_better = True

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        in_progress = statuses_in(status_categories(db, team), IN_PROGRESS)
        ticket_started = (
            select(func.min(WorkItemChange.at))
            .join(WorkItem, col(WorkItem.id) == col(WorkItemChange.work_item_id))
            .where(
                WorkItem.team_id == team.team_id,
                col(WorkItem.key) == col(Intent.jira_key),
                WorkItemChange.field == "status",
                func.lower(WorkItemChange.to_value).in_(in_progress or [""]),
            )
            .scalar_subquery()
        )
        start, end = min(w.start for w in weeks), max(w.end for w in weeks)
        with db.session() as s:
            rows = s.exec(
                select(
                    IntentRevision.intent_id,
                    IntentRevision.number,
                    IntentRevision.created_at,
                    IntentRevision.late,
                    Intent.started_at,
                    ticket_started,
                )
                .join(Intent, col(Intent.id) == col(IntentRevision.intent_id))
                .where(
                    Intent.team_id == team.team_id,
                    col(IntentRevision.created_at) >= start,
                    col(IntentRevision.created_at) < end,
                    or_(
                        col(IntentRevision.late).is_(True),
                        col(Intent.started_at).is_not(None),
                        ticket_started.is_not(None),
                    ),
                )
                .order_by(col(IntentRevision.created_at), col(IntentRevision.intent_id))
            ).all()
        return {w.label: _figure(w, rows, explain) for w in weeks}


def _figure(week: Week, rows: Sequence[tuple], explain: bool) -> WeekFigure:
    counted: list[tuple[int, int, datetime, datetime | None]] = []
    for intent_id, number, created_at, late, started_at, ticket_started in rows:
        if not week.contains(created_at):
            continue
        began = min((t for t in (started_at, ticket_started) if t is not None), default=None)
        if late or (began is not None and created_at >= began):
            counted.append((intent_id, number, created_at, began))
    items = [
        ExplainItem(
            ref=f"I-{intent_id}",
            counted=True,
            value=1.0,
            times={
                "revised_at": created_at.isoformat(),
                "work_started_at": began.isoformat() if began else None,
            },
            detail=f"revision {number}",
        )
        for intent_id, number, created_at, began in counted
        if explain
    ]
    return WeekFigure(
        headline=float(len(counted)),
        fields={
            "revisions": len(counted),
            "intents": len({intent_id for intent_id, *_ in counted}),
            "n": len(counted),
            "excluded": {},
        },
        items=items,
    )


METRIC = LateIntentChurn()
