"""Cycle time: first commit → the first successful production deployment that shipped the PR.

Per PR of a team repo whose first successful production deployment (of the team, production
as the team sets it now) falls in the week. The start is the earliest *author* time among
the commits seen on the PR's head branch (pushes, or the backfill); with none, the PR's
creation (counted in `fallback`). A negative span (clock skew) is left out.

Which deployment ships which PR follows `chatbot.deploys.shipping` (listed PR, exact merge or
head commit, or a Jira key the PR names when it was merged by then). The queries here are
driven from the asked weeks' deployments, then from those PRs to every deployment that
shipped them, so each step is an index lookup and the cost follows the weeks asked for.

Only when the team has no production deployment on record at all, cycle time comes from
Jira: per work item whose last move to done fell in the week, its first move into an
in-progress category → that last move to done (`source: jira`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, and_, cast, func, literal, select, union, union_all
from sqlalchemy.engine import Connection

from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange
from chatbot.github.models import BranchCommit, GitCommit, PullRequest, PullRequestKey
from chatbot.jira.models import WorkItem, WorkItemChange
from chatbot.metrics.base import ExplainItem, TeamScope, WeekFigure
from chatbot.metrics.categories import DONE, IN_PROGRESS, status_categories, statuses_in
from chatbot.metrics.common import (
    FINAL_STATUSES,
    count,
    hours,
    in_ranges,
    iso,
    merged_ranges,
    production,
    rounded,
    team_deployment,
    week_of,
)
from chatbot.metrics.stats import median, p85
from chatbot.metrics.week import Week

D = Deployment.__table__.c  # type: ignore[attr-defined]
DC = DeploymentChange.__table__.c  # type: ignore[attr-defined]
PR = PullRequest.__table__.c  # type: ignore[attr-defined]
PRK = PullRequestKey.__table__.c  # type: ignore[attr-defined]
BC = BranchCommit.__table__.c  # type: ignore[attr-defined]
GC = GitCommit.__table__.c  # type: ignore[attr-defined]
WI = WorkItem.__table__.c  # type: ignore[attr-defined]
WIC = WorkItemChange.__table__.c  # type: ignore[attr-defined]
TABLE = {
    "DC": DeploymentChange.__table__,  # type: ignore[attr-defined]
    "PR": PullRequest.__table__,  # type: ignore[attr-defined]
    "PRK": PullRequestKey.__table__,  # type: ignore[attr-defined]
    "BC": BranchCommit.__table__,  # type: ignore[attr-defined]
    "GC": GitCommit.__table__,  # type: ignore[attr-defined]
}


@dataclass
class _Sample:
    ref: str
    week: Week
    value: float | None
    reason: str | None
    times: dict[str, str | None]
    detail: str


class CycleTime:
    name = "cycle_time"
    headline = "median_hours"
    lower_is_better = True

    def compute(
        self, db: Database, team: TeamScope, weeks: Sequence[Week], explain: bool = False
    ) -> dict[str, WeekFigure]:
        categories = status_categories(db, team)
        with db.engine.connect() as conn:
            if _has_production_deployment(conn, team):
                samples, source = _from_deployments(conn, db.dialect, team, weeks), "git+deploy"
            else:
                samples, source = _from_jira(conn, categories, team, weeks), "jira"
        return {w.label: _figure(w, samples, source, explain) for w in weeks}


def _has_production_deployment(conn: Connection, team: TeamScope) -> bool:
    found = conn.execute(
        select(D.id)
        .where(team_deployment(team), production(team), D.status.in_(FINAL_STATUSES))
        .where(D.deployed_at.is_not(None))
        .limit(1)
    ).first()
    return found is not None


def _listed_pr_parts(dialect: str) -> tuple[Any, Any]:
    """`owner/repo#12` → (repo, number) as SQL, so the PR is found through its unique index."""
    if dialect == "postgresql":
        number_text = func.split_part(DC.value, "#", 2)
        number = func.nullif(func.regexp_replace(number_text, "[^0-9]", "", "g"), "")
        return func.split_part(DC.value, "#", 1), cast(number, Integer)
    hash_at = func.instr(DC.value, "#")
    return func.substr(DC.value, 1, hash_at - 1), cast(func.substr(DC.value, hash_at + 1), Integer)


def _from_deployments(
    conn: Connection, dialect: str, team: TeamScope, weeks: Sequence[Week]
) -> list[_Sample]:
    repos = list(team.repos)
    shipping = and_(
        team_deployment(team), production(team), D.status == "success", D.deployed_at.is_not(None)
    )
    # The weeks' deployments first, as a short list of ids: every lookup below then starts
    # from them (a planner left to choose may scan all of deployment_change instead).
    week_ids = list(
        conn.execute(
            select(D.id).where(shipping, in_ranges(D.deployed_at, merged_ranges(weeks)))
        ).scalars()
    )
    if not week_ids:
        return []
    repo_part, number_part = _listed_pr_parts(dialect)

    def from_week_deployments(*joins: Any, kind: str) -> Any:
        query = (
            select(PR.id.label("pr_id"))
            .select_from(TABLE["DC"])
            .where(DC.deployment_id.in_(week_ids), DC.kind == kind)
        )
        for target, on in joins:
            query = query.join(target, on)
        return query.where(PR.repo.in_(repos))

    candidates = union(
        from_week_deployments(
            (TABLE["PR"], and_(PR.repo == repo_part, PR.number == number_part)), kind="pr"
        ),
        from_week_deployments((TABLE["PR"], PR.merge_commit_sha == DC.value), kind="commit"),
        from_week_deployments((TABLE["PR"], PR.head_sha == DC.value), kind="commit"),
        from_week_deployments(
            (TABLE["PRK"], PRK.jira_key == DC.value),
            (TABLE["PR"], and_(PR.repo == PRK.repo, PR.number == PRK.number)),
            (Deployment.__table__, D.id == DC.deployment_id),
            kind="issue",
        ).where(PR.merged_at <= D.deployed_at),
    ).cte("candidates")

    # Every successful production deployment of the team that shipped a candidate, at any
    # time: the first one decides the PR's week.
    listed = PR.repo + literal("#") + cast(PR.number, String)

    def to_deployments(on_change: Any, *extra: Any) -> Any:
        query = (
            select(PR.id.label("pr_id"), D.id.label("dep_id"), D.external_id, D.deployed_at)
            .select_from(TABLE["PR"])
            .join(TABLE["DC"], on_change)
            .join(Deployment.__table__, D.id == DC.deployment_id)
            .where(PR.id.in_(select(candidates.c.pr_id)), shipping)
        )
        return query.where(*extra) if extra else query

    shipped = union_all(
        to_deployments(and_(DC.kind == "pr", DC.value == listed)),
        to_deployments(and_(DC.kind == "commit", DC.value == PR.merge_commit_sha)),
        to_deployments(and_(DC.kind == "commit", DC.value == PR.head_sha)),
        select(PR.id.label("pr_id"), D.id.label("dep_id"), D.external_id, D.deployed_at)
        .select_from(TABLE["PR"])
        .join(TABLE["PRK"], and_(PRK.repo == PR.repo, PRK.number == PR.number))
        .join(TABLE["DC"], and_(DC.kind == "issue", DC.value == PRK.jira_key))
        .join(Deployment.__table__, D.id == DC.deployment_id)
        .where(PR.id.in_(select(candidates.c.pr_id)), shipping, PR.merged_at <= D.deployed_at),
    ).subquery("shipped")

    first_commit = (
        select(func.min(GC.authored_at))
        .select_from(TABLE["BC"])
        .join(TABLE["GC"], and_(GC.repo == BC.repo, GC.sha == BC.sha))
        .where(BC.repo == PR.repo, BC.branch == PR.head_branch, PR.head_branch != "")
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            PR.id,
            PR.repo,
            PR.number,
            PR.created_at,
            first_commit.label("first_commit_at"),
            shipped.c.external_id,
            shipped.c.deployed_at,
        )
        .select_from(shipped)
        .join(PullRequest.__table__, PR.id == shipped.c.pr_id)
    ).all()

    first: dict[int, Any] = {}
    for row in rows:
        best = first.get(row.id)
        if best is None or (row.deployed_at, row.external_id) < (
            best.deployed_at,
            best.external_id,
        ):
            first[row.id] = row
    samples = []
    for row in first.values():
        week = week_of(_aware(row.deployed_at), weeks)
        if week is None:
            continue
        samples.append(_pr_sample(row, week))
    return samples


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates over a UTC column come back typed; a plain value is naive UTC."""
    from datetime import UTC

    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _pr_sample(row: Any, week: Week) -> _Sample:
    deployed_at = _aware(row.deployed_at)
    first_commit = _aware(row.first_commit_at)
    created = _aware(row.created_at)
    start = first_commit or created
    times = {
        "first_commit": iso(first_commit),
        "created": iso(created),
        "deployed": iso(deployed_at),
    }
    ref = f"{row.repo}#{row.number}"
    detail = f"shipped by deployment {row.external_id}"
    if start is None:
        return _Sample(ref, week, None, "no_start", times, detail)
    span = hours(start, deployed_at)  # type: ignore[arg-type]
    if span < 0:
        return _Sample(ref, week, span, "negative_span", times, detail)
    reason = None if first_commit is not None else "fallback"
    return _Sample(ref, week, span, reason, times, detail)


def _from_jira(
    conn: Connection, categories: dict[str, str], team: TeamScope, weeks: Sequence[Week]
) -> list[_Sample]:
    done = statuses_in(categories, DONE)
    moved_to_done = (
        select(WIC.work_item_id)
        .where(WIC.team_id == team.team_id, WIC.field == "status")
        .where(in_ranges(WIC.at, merged_ranges(weeks)), func.lower(WIC.to_value).in_(done))
        .distinct()
    )
    rows = conn.execute(
        select(WI.id, WI.key, WIC.at, WIC.to_value)
        .select_from(WorkItemChange.__table__)
        .join(WorkItem.__table__, WI.id == WIC.work_item_id)
        .where(WIC.work_item_id.in_(moved_to_done), WIC.field == "status", WI.deleted.is_(False))
        .order_by(WIC.at)
    ).all()
    started: dict[int, datetime] = {}
    finished: dict[int, datetime] = {}
    keys: dict[int, str] = {}
    for row in rows:
        keys[row.id] = row.key
        category = categories.get((row.to_value or "").lower())
        at = _aware(row.at)
        if category == IN_PROGRESS and row.id not in started:
            started[row.id] = at  # type: ignore[assignment]
        if category == DONE:
            finished[row.id] = at  # type: ignore[assignment]
    samples = []
    for item_id, done_at in finished.items():
        week = week_of(done_at, weeks)
        if week is None:
            continue
        start = started.get(item_id)
        times = {"started": iso(start), "done": iso(done_at)}
        if start is None:
            samples.append(_Sample(keys[item_id], week, None, "never_started", times, ""))
            continue
        span = hours(start, done_at)
        reason = "negative_span" if span < 0 else None
        samples.append(_Sample(keys[item_id], week, span, reason, times, ""))
    return samples


def _figure(week: Week, samples: list[_Sample], source: str, explain: bool) -> WeekFigure:
    mine = sorted((s for s in samples if s.week == week), key=lambda s: s.ref)
    counted = [s for s in mine if s.reason in (None, "fallback")]
    values = [s.value for s in counted if s.value is not None]
    excluded: dict[str, int] = {}
    for s in mine:
        if s.reason not in (None, "fallback"):
            count(excluded, s.reason)  # type: ignore[arg-type]
    fallback = sum(1 for s in counted if s.reason == "fallback")
    middle = median(values)
    fields = {
        "median_hours": rounded(middle),
        "p85_hours": rounded(p85(values)),
        "n": len(values),
        "source": source,
        "fallback": fallback,
        "excluded": excluded,
    }
    items = []
    if explain:
        items = [
            ExplainItem(
                ref=s.ref,
                counted=s.reason in (None, "fallback"),
                value=rounded(s.value),
                reason=s.reason,
                times=s.times,
                detail=s.detail,
            )
            for s in mine
        ]
    return WeekFigure(headline=rounded(middle), fields=fields, items=items)


METRIC = CycleTime()
