"""Orchestration vs interrupt time: the Friday check-ins of the team's senior engineers.

A response is a check-in with at least one share answered; each mean runs over the answers
given for that share. Answers from people no longer among the team's senior engineers are
left out (`not_senior`) when the team names its seniors.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from chatbot.db.engine import Database
from chatbot.metrics.base import ExplainItem, Reading, TeamScope, WeekFigure
from chatbot.metrics.checkins import CheckIn
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.stats import mean
from chatbot.metrics.week import Week


class Orchestration:
    name = MetricKey.ORCHESTRATION
    headline = "orchestration_share"
    lower_is_better = False

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        labels = [w.label for w in weeks]
        with db.session() as s:
            rows = s.exec(
                select(CheckIn)
                .where(CheckIn.team_id == team.team_id, col(CheckIn.week).in_(labels))
                .order_by(col(CheckIn.user_id))
            ).all()
        by_week: dict[str, list[CheckIn]] = {label: [] for label in labels}
        for row in rows:
            by_week[row.week].append(row)
        return {label: _figure(team, by_week[label], explain) for label in labels}


def _figure(team: TeamScope, rows: list[CheckIn], explain: bool) -> WeekFigure:
    seniors = set(team.senior_engineers)
    orchestration: list[float] = []
    interrupts: list[float] = []
    excluded: dict[str, int] = {}
    items: list[ExplainItem] = []
    for row in rows:
        reason = None
        if seniors and row.user_id not in seniors:
            reason = "not_senior"
        elif row.orchestration_share is None and row.interrupt_share is None:
            reason = "no_answer"
        if reason:
            excluded[reason] = excluded.get(reason, 0) + 1
        else:
            if row.orchestration_share is not None:
                orchestration.append(row.orchestration_share)
            if row.interrupt_share is not None:
                interrupts.append(row.interrupt_share)
        if explain:
            items.append(
                ExplainItem(
                    ref=row.user_id,
                    counted=reason is None,
                    value=row.orchestration_share,
                    reason=reason,
                    times={"answered_at": row.updated_at.isoformat()},
                    detail=f"orchestration {_pct(row.orchestration_share)}, "
                    f"interrupts {_pct(row.interrupt_share)}",
                )
            )
    responses = len(rows) - sum(excluded.values())
    share = mean(orchestration)
    return WeekFigure(
        headline=share,
        fields={
            "orchestration_share": share,
            "interrupt_share": mean(interrupts),
            "responses": responses,
            "n": responses,
            "excluded": excluded,
        },
        items=items,
    )


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100)}%"


METRIC = Orchestration()
