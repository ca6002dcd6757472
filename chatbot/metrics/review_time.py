"""PR review time: ready for review → the first approval that counted.

Per PR of a team repo merged in the week. Start: its creation when it was opened ready for
review, else its first `ready_for_review` event (GitHub's time for it; draft periods later
on are not subtracted). End: its first approval by a human other than the author, submitted
at or before the merge and not dismissed before the merge. Left out: PRs with no such
approval (`no_approval`), bot-authored PRs (`bot_author`: bots never count as authors),
drafts with no `ready_for_review` event on record (`no_ready_for_review`), and a negative
span (`negative_span`, an approval given while the PR was still a draft).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select

from chatbot.db.engine import Database
from chatbot.github.models import PullRequest, PullRequestEvent, PullRequestReview
from chatbot.metrics.base import ExplainItem, TeamScope, WeekFigure
from chatbot.metrics.common import (
    bot_authored,
    count,
    hours,
    human_reviewer,
    in_ranges,
    iso,
    merged_in,
    merged_ranges,
    rounded,
)
from chatbot.metrics.stats import median
from chatbot.metrics.week import Week

PR = PullRequest.__table__.c  # type: ignore[attr-defined]
EV = PullRequestEvent.__table__.c  # type: ignore[attr-defined]
RV = PullRequestReview.__table__.c  # type: ignore[attr-defined]


def merged_in_weeks(team: TeamScope, weeks: Sequence[Week]) -> Any:
    """The team's PRs merged in the asked weeks (the repo + merged_at index)."""
    return PR.repo.in_(list(team.repos)), in_ranges(PR.merged_at, merged_ranges(weeks))


def counted_review(team: TeamScope) -> Any:
    """A review of this PR by a human other than its author, submitted by the merge."""
    return and_(
        RV.repo == PR.repo,
        RV.number == PR.number,
        human_reviewer(team, RV.reviewer_login, RV.reviewer_is_bot),
        func.lower(RV.reviewer_login) != func.lower(PR.author_login),
        RV.submitted_at <= PR.merged_at,
    )


class ReviewTime:
    name = "review_time"
    headline = "median_hours"
    lower_is_better = True

    def compute(
        self, db: Database, team: TeamScope, weeks: Sequence[Week], explain: bool = False
    ) -> dict[str, WeekFigure]:
        approving = and_(
            counted_review(team),
            RV.state == "approved",
            or_(RV.dismissed_at.is_(None), RV.dismissed_at >= PR.merged_at),
        )
        first_approval = select(func.min(RV.submitted_at)).where(approving).scalar_subquery()
        approver = (
            select(RV.reviewer_login)
            .where(approving)
            .order_by(RV.submitted_at, RV.review_id)
            .limit(1)
            .scalar_subquery()
        )
        ready = (
            select(func.min(EV.at))
            .where(EV.repo == PR.repo, EV.number == PR.number, EV.kind == "ready_for_review")
            .scalar_subquery()
        )
        columns = [
            PR.repo,
            PR.number,
            PR.author_login,
            PR.author_is_bot,
            PR.opened_as_draft,
            PR.created_at,
            PR.merged_at,
            ready.label("ready_at"),
            first_approval.label("approved_at"),
        ]
        if explain:  # who approved: only the explanation names them
            columns.append(approver.label("approver"))
        query = select(*columns).where(*merged_in_weeks(team, weeks))
        with db.engine.connect() as conn:
            rows = conn.execute(query).all()
        merged = merged_in(rows, weeks)
        return {w.label: _figure(team, w, merged[w], explain) for w in weeks}


def _figure(team: TeamScope, week: Week, mine: Sequence[Any], explain: bool) -> WeekFigure:
    values: list[float] = []
    excluded: dict[str, int] = {}
    items: list[ExplainItem] = []
    for row in mine:
        start = row.ready_at if row.opened_as_draft else row.created_at
        value = None
        if bot_authored(team, row):
            reason: str | None = "bot_author"
        elif start is None:
            reason = "no_ready_for_review"
        elif row.approved_at is None:
            reason = "no_approval"
        else:
            value = hours(start, row.approved_at)
            reason = "negative_span" if value < 0 else None
        if reason:
            count(excluded, reason)
        else:
            values.append(value)  # type: ignore[arg-type]
        if explain:
            items.append(
                ExplainItem(
                    ref=f"{row.repo}#{row.number}",
                    counted=reason is None,
                    value=rounded(value),
                    reason=reason,
                    times={
                        "created": iso(row.created_at),
                        "ready_for_review": iso(row.ready_at),
                        "approved": iso(row.approved_at),
                        "merged": iso(row.merged_at),
                    },
                    detail=f"approved by {row.approver}" if row.approver else "",
                )
            )
    middle = rounded(median(values))
    return WeekFigure(
        headline=middle,
        fields={"median_hours": middle, "n": len(values), "excluded": excluded},
        items=items,
    )


METRIC = ReviewTime()
