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

from sqlalchemy import and_, func, literal, or_, select

from chatbot.db.engine import Database
from chatbot.github.models import (
    BranchCommit,
    GitCommit,
    PullRequest,
    PullRequestEvent,
    PullRequestReview,
)
from chatbot.metrics.base import ExplainItem, Reading, TeamScope, WeekFigure
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
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.stats import median
from chatbot.metrics.week import Week

PR = PullRequest.__table__.c  # type: ignore[attr-defined]
EV = PullRequestEvent.__table__.c  # type: ignore[attr-defined]
RV = PullRequestReview.__table__.c  # type: ignore[attr-defined]
BC = BranchCommit.__table__.c  # type: ignore[attr-defined]
GC = GitCommit.__table__.c  # type: ignore[attr-defined]


def merged_in_weeks(team: TeamScope, weeks: Sequence[Week]) -> Any:
    """The team's PRs merged in the asked weeks (the repo + merged_at index)."""
    return PR.repo.in_(list(team.repos)), in_ranges(PR.merged_at, merged_ranges(weeks))


def not_co_author(team: TeamScope) -> Any:
    """For a PR a coding agent opened, the reviewer co-wrote none of its commits (authored
    one, or named in a `Co-authored-by:` trailer): their approval is not a second pair of
    eyes (docs/ai-signals.md). Always true for other PRs."""
    reviewer = func.lower(RV.reviewer_login)
    co_wrote = (
        select(BC.sha)
        .select_from(BranchCommit.__table__)  # type: ignore[attr-defined]
        .join(GitCommit.__table__, and_(GC.repo == BC.repo, GC.sha == BC.sha))  # type: ignore[attr-defined]
        .where(
            BC.repo == PR.repo,
            BC.branch == PR.head_branch,
            or_(
                func.lower(GC.author_login) == reviewer,
                # GitHub logins hold no `%` or `_`: a LIKE on them is exact.
                GC.coauthors.contains(literal(" ") + reviewer + literal(" ")),
            ),
        )
        # PR and review come from the enclosing queries, two levels up.
        .correlate_except(BranchCommit.__table__, GitCommit.__table__)  # type: ignore[attr-defined]
        .exists()
    )
    return or_(func.lower(PR.author_login).not_in(team.agents or [""]), ~co_wrote)


def counted_review(team: TeamScope) -> Any:
    """A review of this PR by a human other than its author, submitted by the merge."""
    return and_(
        RV.repo == PR.repo,
        RV.number == PR.number,
        human_reviewer(team, RV.reviewer_login, RV.reviewer_is_bot),
        func.lower(RV.reviewer_login) != func.lower(PR.author_login),
        RV.submitted_at <= PR.merged_at,
    )


def approval(team: TeamScope) -> Any:
    """A review that counts as the PR's human approval: approved by a human other than the
    author (and, for an agent's PR, other than its commits' co-authors) by the merge, and
    not dismissed before it."""
    return and_(
        counted_review(team),
        RV.state == "approved",
        or_(RV.dismissed_at.is_(None), RV.dismissed_at >= PR.merged_at),
        not_co_author(team),
    )


class ReviewTime:
    name = MetricKey.REVIEW_TIME
    headline = "median_hours"
    lower_is_better = True
    # "Diffs are too large" is the first thing to check when review time worsens: the median
    # size (additions + deletions) of the week's merged PRs, with its own trend.
    trended = ("pr_size_median_lines",)

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        merged = merged_by_week(db, team, weeks, reading, explain)
        return {w.label: _figure(team, w, merged[w], explain) for w in weeks}


def merged_by_week(
    db: Database,
    team: TeamScope,
    weeks: Sequence[Week],
    reading: Reading | None,
    explain: bool = False,
) -> dict[Week, list[Any]]:
    """The team's PRs merged in each asked week, in (repo, number) order, with everything
    the review and AI metrics read of them: its start (`ready_at`), its first approval that
    counted (`approved_at`; who gave it, `approver`, for an explanation), its human reviews
    and change requests before the merge, its labels, body, head branch and size. One
    statement, read once per digest and shared by review time, rounds and the AI metrics."""

    def read() -> dict[Week, list[Any]]:
        with db.engine.connect() as conn:
            rows = conn.execute(_merged_query(team, weeks, explain)).all()
        return merged_in(rows, weeks)

    if reading is None:
        return read()
    key = ("merged_prs", tuple(w.label for w in weeks), explain)
    return reading.remember(key, read)  # type: ignore[no-any-return]


def _merged_query(team: TeamScope, weeks: Sequence[Week], explain: bool) -> Any:
    approving = approval(team)
    first_approval = select(func.min(RV.submitted_at)).where(approving).scalar_subquery()
    ready = (
        select(func.min(EV.at))
        .where(EV.repo == PR.repo, EV.number == PR.number, EV.kind == "ready_for_review")
        .scalar_subquery()
    )
    reviews = select(func.count()).where(counted_review(team)).scalar_subquery()
    change_requests = (
        select(func.count())
        .where(and_(counted_review(team), RV.state == "changes_requested"))
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
        PR.additions,
        PR.deletions,
        PR.labels,
        PR.body,
        PR.head_branch,
        ready.label("ready_at"),
        first_approval.label("approved_at"),
        reviews.label("reviews"),
        change_requests.label("change_requests"),
    ]
    if explain:  # who approved: only the explanation names them
        approver = (
            select(RV.reviewer_login)
            .where(approving)
            .order_by(RV.submitted_at, RV.review_id)
            .limit(1)
            .scalar_subquery()
        )
        columns.append(approver.label("approver"))
    return select(*columns).where(*merged_in_weeks(team, weeks))


def _figure(team: TeamScope, week: Week, mine: Sequence[Any], explain: bool) -> WeekFigure:
    values: list[float] = []
    samples: list[tuple[str, float]] = []
    sizes: list[float] = []
    excluded: dict[str, int] = {}
    items: list[ExplainItem] = []
    for row in mine:
        size = _size(row)
        if size is not None and not bot_authored(team, row):
            sizes.append(size)
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
            samples.append((f"{row.repo}#{row.number}", value))  # type: ignore[arg-type]
        if explain:
            items.append(
                ExplainItem(
                    ref=f"{row.repo}#{row.number}",
                    counted=reason is None,
                    value=rounded(value),
                    exact=value,
                    reason=reason,
                    times={
                        "created": iso(row.created_at),
                        "ready_for_review": iso(row.ready_at),
                        "approved": iso(row.approved_at),
                        "merged": iso(row.merged_at),
                    },
                    detail="; ".join(
                        part
                        for part in (
                            f"approved by {row.approver}" if row.approver else "",
                            f"{size:.0f} lines changed" if size is not None else "",
                        )
                        if part
                    ),
                )
            )
    middle = rounded(median(values))
    return WeekFigure(
        headline=middle,
        fields={
            "median_hours": middle,
            "n": len(values),
            "excluded": excluded,
            "pr_size_median_lines": rounded(median(sizes)),
            "pr_size_n": len(sizes),
        },
        items=items,
        samples=samples,
    )


def _size(row: Any) -> float | None:
    """Additions + deletions; None when GitHub's counts were never received."""
    if row.additions is None or row.deletions is None:
        return None
    return float(row.additions + row.deletions)


METRIC = ReviewTime()
