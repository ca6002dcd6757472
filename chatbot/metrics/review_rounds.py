"""Review rounds: 1 + the change requests before the merge.

Per PR of a team repo merged in the week with at least one review by a human other than the
author submitted at or before the merge: 1 + the number of `changes_requested` reviews by
such humans submitted at or before the merge, dismissed or not. Left out: PRs with no such
review (`no_review`) and bot-authored PRs (`bot_author`). The counts come with the weeks'
merged PRs that review time reads (`review_time.merged_by_week`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatbot.db.engine import Database
from chatbot.metrics.base import ExplainItem, Reading, TeamScope, WeekFigure
from chatbot.metrics.common import bot_authored, count, iso, rounded
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.review_time import merged_by_week
from chatbot.metrics.stats import mean, median
from chatbot.metrics.week import Week


class ReviewRounds:
    name = MetricKey.REVIEW_ROUNDS
    headline = "median"
    lower_is_better = True

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        merged = merged_by_week(db, team, weeks, reading)
        return {w.label: _figure(team, w, merged[w], explain) for w in weeks}


def _figure(team: TeamScope, week: Week, mine: Sequence[Any], explain: bool) -> WeekFigure:
    values: list[float] = []
    samples: list[tuple[str, float]] = []
    excluded: dict[str, int] = {}
    items: list[ExplainItem] = []
    for row in mine:
        value = None
        if bot_authored(team, row):
            reason: str | None = "bot_author"
        elif not row.reviews:
            reason = "no_review"
        else:
            reason = None
            value = 1 + int(row.change_requests)
            values.append(value)
            samples.append((f"{row.repo}#{row.number}", float(value)))
        if reason:
            count(excluded, reason)
        if explain:
            items.append(
                ExplainItem(
                    ref=f"{row.repo}#{row.number}",
                    counted=reason is None,
                    value=value,
                    reason=reason,
                    times={"merged": iso(row.merged_at)},
                    detail=f"{row.reviews} human reviews, {row.change_requests} change requests",
                )
            )
    middle = rounded(median(values))
    return WeekFigure(
        headline=middle,
        fields={
            "median": middle,
            "mean": rounded(mean(values)),
            "n": len(values),
            "excluded": excluded,
        },
        items=items,
        samples=samples,
    )


METRIC = ReviewRounds()
