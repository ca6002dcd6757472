"""The weekly digest as one JSON object (docs/metrics.md): every metric for the reported week, with
its previous week, baseline and 8-week trend, and the data-health warnings.

Each metric computes all the weeks it is asked for at once (the 8 trend weeks and the
baseline), so a digest costs one or two queries per metric whatever the history's length.
The metrics of one digest share a `Reading`: what one reads (the weeks' merged PRs, their AI
assistance, the review and cycle time samples) the others reuse, and the trend and baseline
weeks are computed for their headline and `n` only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment
from chatbot.github.models import PullRequest
from chatbot.jira.models import WorkItem
from chatbot.metrics import (
    ai,
    change_failure,
    checks_verified,
    churn,
    cycle_time,
    defect_escape,
    orchestration,
    review_rounds,
    review_time,
    wip,
)
from chatbot.metrics.base import ExplainItem, Metric, Reading, TeamScope
from chatbot.metrics.common import FINAL_STATUSES, iso, team_deployment
from chatbot.metrics.data_health import data_health
from chatbot.metrics.goals import goal_progress, paired_signal
from chatbot.metrics.keys import MetricKey, by_key
from chatbot.metrics.week import Week, WeekError
from chatbot.teams.models import Team

TREND_WEEKS = 8

# In the order the digest JSON lists them; one per `MetricKey` (checked as the engine loads).
METRICS: tuple[Metric, ...] = (
    cycle_time.METRIC,
    review_time.METRIC,
    review_rounds.METRIC,
    wip.METRIC,
    defect_escape.METRIC,
    change_failure.METRIC,
    orchestration.METRIC,
    churn.METRIC,
    checks_verified.METRIC,
    *ai.METRICS,
)
BY_NAME: dict[MetricKey, Metric] = by_key(METRICS, "the metrics engine")


class UnknownTeam(LookupError):
    pass


class UnknownMetric(LookupError):
    pass


class FutureWeek(WeekError):
    """A week that has not started: it has no figures to show."""

    def __init__(self, week: str, latest: str) -> None:
        super().__init__(f"{week} has not started yet; the latest complete week is {latest}")
        self.week, self.latest = week, latest


def refuse_future(week: Week, scope: TeamScope, now: datetime) -> None:
    if week.start > now:
        raise FutureWeek(week.label, Week.last_complete(now, scope.tz).label)


def weekly_digest_for(
    db: Database,
    team: Team | str,
    week: Week | str | None = None,
    now: datetime | None = None,
    *,
    with_warnings: bool = True,
) -> dict[str, Any]:
    """The digest of `week` (default: the last complete week in the team's zone).
    `with_warnings=False` leaves the data-health checks out (`warnings: []`), for timing
    the metrics alone."""
    now = now or datetime.now(UTC)
    row = team_row(db, team)
    scope = TeamScope.of(row)
    reported = resolve_week(week, scope, now)
    refuse_future(reported, scope, now)
    trend = reported.trend(TREND_WEEKS)
    baseline = baseline_week(db, row, scope, now)
    asked = [*trend, baseline] if baseline is not None and baseline not in trend else trend
    metrics: dict[str, Any] = {}
    reading = Reading(detailed=frozenset({reported.label}))
    for metric in METRICS:
        figures = reading.figures(metric, db, scope, asked)
        fields = dict(figures[reported.label].fields)
        if metric.headline is None:  # AI vs other: no headline, so no trend (docs/ai-signals.md)
            metrics[metric.name] = fields
            continue
        for extra in getattr(metric, "trended", ()):  # e.g. review time's PR size
            fields[f"{extra}_trend"] = [figures[w.label].fields.get(extra) for w in trend]
        values = [figures[w.label].headline for w in trend]
        fields["previous"] = values[-2]
        fields["baseline"] = figures[baseline.label].headline if baseline is not None else None
        fields["trend"] = values
        # Each trend week's sample size, so a chart can mark the weeks with few items.
        fields["trend_n"] = [figures[w.label].fields.get("n") for w in trend]
        metrics[metric.name] = fields
    return {
        "team": scope.name,
        "week": reported.label,
        "time_zone": str(scope.tz.key),
        "start": iso(reported.start),
        "end": iso(reported.end),
        # A week not over yet (the current one) is computed up to now: every output says so.
        "partial": reported.end > now,
        "metrics": metrics,
        "goals": goal_progress(metrics, {m.name: m.headline for m in METRICS}, scope.goals),
        "paired_signal": paired_signal(metrics),
        "warnings": _warnings(db, row, now) if with_warnings else [],
    }


def explain(
    db: Database,
    team: Team | str,
    week: Week | str | None,
    metric_name: str,
    now: datetime | None = None,
) -> list[ExplainItem]:
    """Every item the metric counted or left out in the week, with its times and reason."""
    metric = BY_NAME.get(metric_name)
    if metric is None:
        raise UnknownMetric(f"No metric {metric_name!r}; choose one of {', '.join(BY_NAME)}")
    row = team_row(db, team)
    scope = TeamScope.of(row)
    now = now or datetime.now(UTC)
    reported = resolve_week(week, scope, now)
    refuse_future(reported, scope, now)
    return metric.compute(db, scope, [reported], explain=True)[reported.label].items


def team_row(db: Database, team: Team | str) -> Team:
    if isinstance(team, Team):
        return team
    with db.session() as s:
        found = s.execute(select(Team).where(Team.name == team)).scalar_one_or_none()
    if found is None:
        raise UnknownTeam(f"No team {team!r}; `chatbot team list` shows the teams")
    return found


def resolve_week(week: Week | str | None, scope: TeamScope, now: datetime) -> Week:
    if week is None:
        return Week.last_complete(now, scope.tz)
    if isinstance(week, Week):
        return Week(week.year, week.number, scope.tz)
    return Week.parse(week, scope.tz)


def baseline_week(db: Database, row: Team, scope: TeamScope, now: datetime) -> Week | None:
    """The team's baseline week; when unset, the first complete week with any data (the week
    of the team's earliest work item, pull request or deployment, once it has ended),
    stored once chosen so it never moves."""
    for label in (row.baseline_week, row.baseline_week_chosen):
        if label:
            try:
                return Week.parse(label, scope.tz)
            except WeekError:
                continue
    first = _first_data(db, scope)
    if first is None:
        return None
    chosen = Week.containing(first, scope.tz)
    if chosen.end > now:
        return None
    with db.session() as s:
        stored = s.get(Team, row.id)
        if stored is not None and not stored.baseline_week_chosen:
            stored.baseline_week_chosen = chosen.label
            s.add(stored)
    row.baseline_week_chosen = chosen.label
    return chosen


def _first_data(db: Database, scope: TeamScope) -> datetime | None:
    wi = WorkItem.__table__.c  # type: ignore[attr-defined]
    pr = PullRequest.__table__.c  # type: ignore[attr-defined]
    d = Deployment.__table__.c  # type: ignore[attr-defined]
    queries = [
        select(func.min(wi.created_at)).where(wi.team_id == scope.team_id),
        select(func.min(pr.created_at)).where(pr.repo.in_(list(scope.repos))),
        select(func.min(d.deployed_at)).where(team_deployment(scope), d.status.in_(FINAL_STATUSES)),
    ]
    with db.engine.connect() as conn:
        found = [conn.execute(q).scalar() for q in queries]
    found = [f.replace(tzinfo=UTC) if f.tzinfo is None else f for f in found if f is not None]
    return min(found) if found else None


def _warnings(db: Database, row: Team, now: datetime) -> list[str]:
    return data_health(db, row, now)
