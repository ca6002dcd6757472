"""Cycle time: first commit → the first successful production deployment that shipped the PR.

Per PR of a team repo whose first successful production deployment (of the team, production
as the team sets it now) falls in the week. The start is the earliest *author* time among
the commits seen on the PR's head branch (pushes, or the backfill); with none, the PR's
creation (counted in `fallback`). A negative span (clock skew) is left out.

Which deployment ships which PR is `chatbot.deploys.shipping`'s rule (listed PR, exact merge
or head commit, or a Jira key the PR names when it was merged by then), in its Python form,
applied to rows read in steps that each use an index with a short list of values: the asked
weeks' deployments and what they list → the PRs those values may name (candidates) → every
listing of a candidate, at any time, and its deployment → the first successful production
one per PR. So the cost follows the weeks asked for, not the length of the history.

Only when the team has no production deployment on record at all, cycle time comes from
Jira: per work item whose last move to done fell in the week, its first move into an
in-progress category → that last move to done (`source: jira`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, true, union_all
from sqlalchemy.engine import Connection

from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange, DeploymentStatus
from chatbot.deploys.shipping import (
    RULES,
    Listing,
    Match,
    listed_pr,
    shipments,
    ships,
    wanted_listings,
)
from chatbot.github.models import PullRequest, PullRequestKey
from chatbot.jira.models import WorkItem, WorkItemChange
from chatbot.metrics.base import ExplainItem, Reading, TeamScope, WeekFigure
from chatbot.metrics.categories import DONE, IN_PROGRESS, status_categories, statuses_in
from chatbot.metrics.commits import branch_commits
from chatbot.metrics.common import (
    FINAL_STATUSES,
    count,
    hours,
    in_ranges,
    iso,
    listed_values,
    merged_ranges,
    one_of,
    production,
    rounded,
    team_deployment,
    team_deployment_ids,
    week_of,
)
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.stats import median, p85
from chatbot.metrics.week import Week

D = Deployment.__table__.c  # type: ignore[attr-defined]
DC = DeploymentChange.__table__.c  # type: ignore[attr-defined]
PR = PullRequest.__table__.c  # type: ignore[attr-defined]
PRK = PullRequestKey.__table__.c  # type: ignore[attr-defined]
WI = WorkItem.__table__.c  # type: ignore[attr-defined]
WIC = WorkItemChange.__table__.c  # type: ignore[attr-defined]
TABLE = {
    "DC": DeploymentChange.__table__,  # type: ignore[attr-defined]
    "PR": PullRequest.__table__,  # type: ignore[attr-defined]
    "PRK": PullRequestKey.__table__,  # type: ignore[attr-defined]
}


@dataclass
class _Sample:
    ref: str
    week: Week
    value: float | None
    reason: str | None
    # Its instants by name; written out (ISO 8601) only for an explanation.
    times: dict[str, datetime | None]
    detail: str


class CycleTime:
    name = MetricKey.CYCLE_TIME
    headline = "median_hours"
    lower_is_better = True

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        categories = status_categories(db, team)
        with db.engine.connect() as conn:
            if _has_production_deployment(conn, team):
                samples, source = _from_deployments(conn, team, weeks, reading), "git+deploy"
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


def _from_deployments(
    conn: Connection, team: TeamScope, weeks: Sequence[Week], reading: Reading | None
) -> list[_Sample]:
    repos = list(team.repos)
    shipping = and_(
        team_deployment(team),
        production(team),
        D.status == DeploymentStatus.SUCCESS,
        D.deployed_at.is_not(None),
    )
    candidate_ids = _candidates(conn, team, shipping, weeks)
    if not candidate_ids:
        return []
    return _first_shipments(conn, repos, shipping, candidate_ids, weeks, reading)


def _candidates(
    conn: Connection, team: TeamScope, shipping: Any, weeks: Sequence[Week]
) -> set[int]:
    """The PRs the weeks' successful production deployments may ship, found per shipping
    rule through an index with a short list of values, so no planner is tempted to scan the
    pull requests. More is harmless (`_first_shipments` applies the whole rule to each and
    drops a PR first shipped outside the weeks); none may be missing."""
    dialect = conn.dialect.name
    in_weeks = team_deployment_ids(team, merged_ranges(weeks))
    listed = conn.execute(
        select(DC.kind, DC.value, D.deployed_at)
        .select_from(Deployment.__table__)
        .join(TABLE["DC"], DC.deployment_id == D.id)
        .where(D.id.in_(in_weeks), shipping)
    ).all()
    repos = list(team.repos)
    # Each listed value with its latest deployment: a time condition holds for some
    # listing of the value when it holds for the latest.
    latest: dict[str, dict[str, datetime]] = {}
    for kind, value, deployed_at in listed:
        of_kind = latest.setdefault(kind, {})
        of_kind[value] = max(of_kind.get(value, deployed_at), deployed_at)
    found: set[int] = set()
    for rule in RULES:
        wanted = latest.get(rule.kind)
        if not wanted:
            continue
        if rule.match is Match.REFERENCE:
            pairs = {pr for pr in map(listed_pr, wanted) if pr is not None and pr[0] in repos}
            if pairs:
                rows = conn.execute(
                    select(PR.id, PR.repo, PR.number).where(
                        PR.repo.in_({repo for repo, _ in pairs}),
                        one_of(dialect, PR.number, {number for _, number in pairs}),
                    )
                ).all()
                found |= {row.id for row in rows if (row.repo, row.number) in pairs}
        elif rule.match is Match.JIRA_KEY:
            rows = conn.execute(
                select(PR.id, PR.merged_at, PRK.jira_key)
                .select_from(TABLE["PRK"])
                .join(TABLE["PR"], and_(PR.repo == PRK.repo, PR.number == PRK.number))
                .where(one_of(dialect, PRK.jira_key, wanted), PR.repo.in_(repos))
            ).all()
            found |= {row.id for row in rows if ships(rule, row.merged_at, wanted[row.jira_key])}
        else:
            column = PR[rule.match.value]
            found |= set(
                conn.execute(
                    select(PR.id).where(one_of(dialect, column, wanted), PR.repo.in_(repos))
                ).scalars()
            )
    return found


def _first_shipments(
    conn: Connection,
    repos: list[str],
    shipping: Any,
    candidate_ids: set[int],
    weeks: Sequence[Week],
    reading: Reading | None,
) -> list[_Sample]:
    """Per candidate PR, the first successful production deployment of the team that
    shipped it, at any time (it decides the PR's week), and its first commit."""
    prs = conn.execute(
        select(
            PR.id,
            PR.repo,
            PR.number,
            PR.created_at,
            PR.merged_at,
            PR.head_branch,
            PR.head_sha,
            PR.merge_commit_sha,
        ).where(one_of(conn.dialect.name, PR.id, candidate_ids))
    ).all()
    keys: dict[tuple[str, int], set[str]] = {}
    for repo, number, key in conn.execute(_keys_of(conn, candidate_ids)).all():
        keys.setdefault((repo, number), set()).add(key)
    wanted = wanted_listings((p, keys.get((p.repo, p.number), ())) for p in prs)
    # What would ship each PR, by kind: the values to look up.
    values: dict[str, set[str]] = {}
    for kind, value in wanted:
        values.setdefault(kind, set()).add(value)
    # The listings through the (kind, value) index, then their deployments by id: two
    # index-driven steps rather than a join a planner might turn into table scans.
    listings = conn.execute(
        union_all(*(_listings_of(conn, kind, v) for kind, v in values.items() if v))
    ).all()
    shipped_by = {
        row.id: row
        for row in conn.execute(
            select(D.id, D.external_id, D.deployed_at).where(
                one_of(conn.dialect.name, D.id, {dep for dep, _, _ in listings}), shipping
            )
        ).all()
    }
    shipping_listings = [
        Listing(dep, kind, value, shipped_by[dep].deployed_at)
        for dep, kind, value in listings
        if dep in shipped_by
    ]
    first: dict[int, tuple[datetime, str]] = {}
    for listing, p in shipments(wanted, shipping_listings):
        deployed_at = listing.deployed_at
        external_id = shipped_by[listing.deployment_id].external_id
        best = first.get(p.id)
        if best is None or (deployed_at, external_id) < best:
            first[p.id] = (deployed_at, external_id)  # type: ignore[assignment]
    commits = branch_commits(conn, ((p.repo, p.head_branch) for p in prs), reading)
    samples = []
    for p in prs:
        if p.id not in first:
            continue
        deployed_at, external_id = first[p.id]
        week = week_of(deployed_at, weeks)
        if week is None:
            continue
        started = commits[(p.repo, p.head_branch)].first_authored if p.head_branch else None
        samples.append(_pr_sample(p, week, deployed_at, external_id, started))
    return samples


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates over a UTC column come back typed; a plain value is naive UTC."""
    from datetime import UTC

    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _listings_of(conn: Connection, kind: str, values: set[str]) -> Any:
    """SELECT deployment_id, kind, value of the listings of one kind with these values,
    each found through the (kind, value) index. On PostgreSQL one lookup per wanted value
    (LATERAL; OFFSET 0 keeps the planner from flattening it into a hash join that scans
    the whole table, which it prefers once half the listings share the kind)."""
    wanted = listed_values(conn.dialect.name, value=sorted(values))
    if wanted is None:
        return select(DC.deployment_id, DC.kind, DC.value).where(
            DC.kind == kind, one_of(conn.dialect.name, DC.value, values)
        )
    found = (
        select(DC.deployment_id, DC.kind, DC.value)
        .where(DC.kind == kind, DC.value == wanted.c.value)
        .offset(0)
        .lateral("listing")
    )
    return select(found.c.deployment_id, found.c.kind, found.c.value).select_from(
        wanted.join(found, true())
    )


def _keys_of(conn: Connection, candidate_ids: set[int]) -> Any:
    """SELECT repo, number, jira_key the candidate PRs name, each PR's through the
    (repo, number, jira_key) key (on PostgreSQL a LATERAL lookup per PR, as above)."""
    same_pr = and_(PRK.repo == PR.repo, PRK.number == PR.number)
    if conn.dialect.name != "postgresql":
        return (
            select(PRK.repo, PRK.number, PRK.jira_key)
            .select_from(TABLE["PR"])
            .join(TABLE["PRK"], same_pr)
            .where(one_of(conn.dialect.name, PR.id, candidate_ids))
        )
    found = select(PRK.repo, PRK.number, PRK.jira_key).where(same_pr).offset(0).lateral("named")
    return (
        select(found.c.repo, found.c.number, found.c.jira_key)
        .select_from(TABLE["PR"].join(found, true()))
        .where(one_of(conn.dialect.name, PR.id, candidate_ids))
    )


def _pr_sample(
    row: Any, week: Week, deployed_at: datetime, external_id: str, first_commit: datetime | None
) -> _Sample:
    created = _aware(row.created_at)
    start = first_commit or created
    times = {"first_commit": first_commit, "created": created, "deployed": deployed_at}
    ref = f"{row.repo}#{row.number}"
    detail = f"shipped by deployment {external_id}"
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
        times = {"started": start, "done": done_at}
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
                exact=s.value,
                reason=s.reason,
                times={name: iso(at) for name, at in s.times.items()},
                detail=s.detail,
            )
            for s in mine
        ]
    samples = [(s.ref, s.value) for s in counted if s.value is not None]
    return WeekFigure(headline=rounded(middle), fields=fields, items=items, samples=samples)


METRIC = CycleTime()
