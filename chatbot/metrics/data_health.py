"""What the digest will lack for a team, and how to fix it (`chatbot team doctor NAME`, and
the digest JSON's `warnings`).

Each check is a small query over the stored sources; each message names the problem, its
size and the command or setting that fixes it. The checks look back a fixed window from
`now` (deployments, PRs, status changes and bugs: 28 days; "no deployment": 14 days;
webhooks: 7 days), so an old gap stops nagging once it is behind the team, and each check
reads its window through an index: its cost follows the window, not the team's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, false, func, or_, select, text
from sqlmodel import Session, col

from chatbot.db.core_models import SyncRun
from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange, DeploymentStatus
from chatbot.deploys.shipping import shipped_prs_query
from chatbot.github.catch_up_runs import CATCH_UP_EVERY_SECONDS, CATCH_UP_JOB, last_catch_up
from chatbot.github.models import BranchCommit, GitCommit, PullRequest, RepoDelivery
from chatbot.jira.models import JiraStatus, WorkItem, WorkItemChange
from chatbot.prompts import Prompts, default_prompts
from chatbot.teams import defaults
from chatbot.teams.escape import describe_escape_rule, is_escaped
from chatbot.teams.models import Team

NO_DEPLOYMENT_DAYS = 14
RECENT_DAYS = 28
NO_DELIVERY_DAYS = 7
_FINAL = (DeploymentStatus.SUCCESS, DeploymentStatus.FAILURE)


@dataclass(frozen=True)
class _Team:
    id: int
    name: str
    repos: tuple[str, ...]
    services: tuple[str, ...]
    production_envs: tuple[str, ...]
    escape_rule: dict[str, Any]
    status_overrides: dict[str, str]

    @classmethod
    def of(cls, team: Any) -> _Team:
        """From a `Team` row or a metrics `TeamScope` (which calls its id `team_id`)."""
        team_id = getattr(team, "team_id", None) or getattr(team, "id", None)
        return cls(
            id=int(team_id or 0),
            name=team.name,
            repos=tuple(r.lower() for r in team.repos),
            services=tuple(team.services),
            production_envs=tuple(team.production_envs or defaults.PRODUCTION_ENVS),
            escape_rule=dict(team.escape_rule or {}),
            status_overrides=dict(team.status_overrides or {}),
        )


def data_health(
    db: Database, team: Team | Any, now: datetime, prompts: Prompts | None = None
) -> list[str]:
    """Warnings about the data the team's digest reads, each with how to fix it; `[]` when
    all is well. `team` is a `Team` row or a `chatbot.metrics.base.TeamScope`; `now` is an
    aware datetime (the digest's computation time).

    Checks: no production deployment seen in 14 days (or none of the team's at all, or no
    services/repos set); merged PRs without commit data; production deployments shipping no
    known PR; team repos with no GitHub webhook delivery in 7 days; the hourly GitHub catch-up
    failed; Jira statuses with no category; bugs of which none match the escaped-defect
    rule; deployments of no team.
    The messages are plain text (no Slack markup) for the terminal, the JSON and Slack,
    worded by prompts/doctor.toml (`prompts`, or the project's own prompts when not given).
    """
    say = prompts or default_prompts()
    scope = _Team.of(team)
    with db.session() as session:
        checks = (
            _deployments_seen(session, scope, now, say),
            _prs_without_commits(session, scope, now, say),
            _no_commit_messages(session, scope, now, say),
            _deployments_shipping_nothing(session, scope, now, say),
            _repos_without_delivery(session, scope, now, say),
            _catch_up_failed(session, scope, say),
            _statuses_without_category(session, scope, now, say),
            _escape_rule_matches_nothing(session, scope, now, say),
            _deployments_of_no_team(session, now, say),
        )
        return [message for check in checks for message in check]


def _team_deployments(scope: _Team) -> Any:
    """A deployment is the team's when it lists a team service, or (GitHub) a team repo."""
    return or_(_in(Deployment.service, scope.services), _in(Deployment.repo, scope.repos))


def _counted(say: Prompts, key: str, count: int, **values: object) -> str:
    """The `one` or `other` wording of a warning, by its count."""
    return say.text(f"{key}.{'one' if count == 1 else 'other'}", count=count, **values)


def _deployments_seen(session: Session, scope: _Team, now: datetime, say: Prompts) -> list[str]:
    if not scope.services and not scope.repos:
        return [say.text("doctor.warnings.no_services_or_repos", team=scope.name)]
    since = now - timedelta(days=NO_DEPLOYMENT_DAYS)
    envs = session.execute(
        select(Deployment.environment)
        .where(_team_deployments(scope), col(Deployment.status).in_(_FINAL))
        .where(col(Deployment.deployed_at) >= since)
        .distinct()
    ).scalars()
    seen = sorted(set(envs))
    wanted = {e.casefold() for e in scope.production_envs}
    if any(env.casefold() in wanted for env in seen):
        return []
    if not seen:
        services = ", ".join(scope.services) or say.text("doctor.warnings.no_services_yet")
        return [
            say.text("doctor.warnings.no_deployment", days=NO_DEPLOYMENT_DAYS, services=services)
        ]
    return [
        say.text(
            "doctor.warnings.no_production_deployment",
            days=NO_DEPLOYMENT_DAYS,
            seen=", ".join(seen),
            production=", ".join(scope.production_envs),
            team=scope.name,
            suggested=",".join([*scope.production_envs, seen[0]]),
        )
    ]


def _prs_without_commits(session: Session, scope: _Team, now: datetime, say: Prompts) -> list[str]:
    if not scope.repos:
        return [say.text("doctor.warnings.no_repos", team=scope.name)]
    on_branch = exists().where(
        BranchCommit.repo == PullRequest.repo,
        BranchCommit.branch == PullRequest.head_branch,
        GitCommit.repo == BranchCommit.repo,
        GitCommit.sha == BranchCommit.sha,
        col(GitCommit.authored_at).is_not(None),
    )
    head_known = exists().where(
        GitCommit.repo == PullRequest.repo,
        GitCommit.sha == PullRequest.head_sha,
        col(GitCommit.authored_at).is_not(None),
    )
    count = session.execute(
        select(func.count())
        .select_from(PullRequest)
        .where(col(PullRequest.repo).in_(scope.repos))
        .where(col(PullRequest.merged_at) >= now - timedelta(days=RECENT_DAYS))
        .where(~on_branch, ~head_known)
    ).scalar_one()
    if not count:
        return []
    return [
        _counted(
            say,
            "doctor.warnings.prs_without_commits",
            count,
            days=RECENT_DAYS,
            team=scope.name,
        )
    ]


def _no_commit_messages(session: Session, scope: _Team, now: datetime, say: Prompts) -> list[str]:
    """Without commit messages, co-author trailers and markers are invisible (docs/ai-signals.md).
    Said only when PRs merged in the window, none of them with a message on record."""
    if not scope.repos:
        return []
    merged = (
        select(PullRequest.repo, PullRequest.head_branch)
        .where(col(PullRequest.repo).in_(scope.repos))
        .where(col(PullRequest.merged_at) >= now - timedelta(days=RECENT_DAYS))
    )
    if session.execute(merged.limit(1)).first() is None:
        return []
    with_message = exists().where(
        BranchCommit.repo == PullRequest.repo,
        BranchCommit.branch == PullRequest.head_branch,
        GitCommit.repo == BranchCommit.repo,
        GitCommit.sha == BranchCommit.sha,
        col(GitCommit.message).is_not(None),
    )
    if session.execute(merged.where(with_message).limit(1)).first() is not None:
        return []
    return [say.text("doctor.warnings.no_commit_messages", days=RECENT_DAYS)]


def _deployments_shipping_nothing(
    session: Session, scope: _Team, now: datetime, say: Prompts
) -> list[str]:
    if not scope.repos:
        return []
    since = now - timedelta(days=RECENT_DAYS)
    # The window's production deployments first (a range of the service/repo indexes), then
    # what those few ship, joined outward from them: the cost follows the window, not the
    # team's whole history of PRs.
    recent = session.execute(
        select(Deployment.id, Deployment.external_id)
        .where(
            _team_deployments(scope),
            col(Deployment.status) == DeploymentStatus.SUCCESS,
            col(Deployment.deployed_at) >= since,
            func.lower(Deployment.environment).in_([e.casefold() for e in scope.production_envs]),
        )
        .order_by(col(Deployment.deployed_at).desc(), col(Deployment.id).desc())
    ).all()
    if not recent:
        return []
    # The deployments' listings through their (deployment_id, kind, value) key: a filter on
    # the deployment alone leaves PostgreSQL scanning every listing.
    window = [r.id for r in recent]
    listed = and_(col(Deployment.id).in_(window), col(DeploymentChange.deployment_id).in_(window))
    shipped = shipped_prs_query(scope.repos, listed)
    shipping = {row.deployment_id for row in session.execute(shipped).all()}
    ids = [r.external_id for r in recent if r.id not in shipping]
    if not ids:
        return []
    return [
        _counted(
            say,
            "doctor.warnings.deployments_shipping_nothing",
            len(ids),
            days=RECENT_DAYS,
            example=ids[0],
        )
    ]


def _repos_without_delivery(
    session: Session, scope: _Team, now: datetime, say: Prompts
) -> list[str]:
    if not scope.repos:
        return []
    last = dict(
        session.execute(
            select(RepoDelivery.repo, RepoDelivery.last_delivery_at).where(
                col(RepoDelivery.repo).in_(scope.repos)
            )
        ).all()
    )
    since = now - timedelta(days=NO_DELIVERY_DAYS)
    quiet = [r for r in scope.repos if r not in last or last[r] < since]
    if not quiet:
        return []
    described = ", ".join(
        say.text("doctor.warnings.repo_last_delivery", repo=r, date=f"{last[r]:%Y-%m-%d}")
        if r in last
        else say.text("doctor.warnings.repo_never_delivered", repo=r)
        for r in quiet
    )
    return [
        say.text("doctor.warnings.repos_without_delivery", days=NO_DELIVERY_DAYS, repos=described)
    ]


def _catch_up_failed(session: Session, scope: _Team, say: Prompts) -> list[str]:
    """The last catch-up failed: PRs whose webhook failed stay missing until one succeeds."""
    last = session.get(SyncRun, CATCH_UP_JOB)
    if not scope.repos or last is None or last.ok:
        return []
    return [
        say.text(
            "doctor.warnings.catch_up_failed",
            at=f"{last.started_at:%Y-%m-%d %H:%M}",
            error=last.error or "",
        )
    ]


def catch_up_line(db: Database, now: datetime, enabled: bool, prompts: Prompts) -> str:
    """`chatbot team doctor`'s line on the hourly GitHub catch-up: off (no GITHUB_TOKEN),
    not run yet, when it last ran and what it read, or that it failed and why."""
    if not enabled:
        return prompts.text("doctor.catch_up.off")
    last = last_catch_up(db)
    if last is None:
        return prompts.text("doctor.catch_up.not_yet")
    at = f"{last.started_at:%Y-%m-%d %H:%M}"
    if not last.ok:
        return prompts.text("doctor.catch_up.failed", at=at, error=last.error or "")
    if now - last.started_at > timedelta(seconds=2 * CATCH_UP_EVERY_SECONDS):
        return prompts.text("doctor.catch_up.stale", at=at)
    count = "one" if last.pull_requests == 1 else "other"
    return prompts.text(
        f"doctor.catch_up.ran.{count}", at=at, count=last.pull_requests, repos=last.repos
    )


def _statuses_without_category(
    session: Session, scope: _Team, now: datetime, say: Prompts
) -> list[str]:
    """The statuses the team's live items are in (each distinct one found by one index
    probe, however many items), and those its changes of the last 28 days went through."""
    names: set[str] = set(
        session.execute(
            text(
                "WITH RECURSIVE seen(status) AS ("
                " SELECT MIN(status) FROM work_item"
                "  WHERE team_id = :team AND status IS NOT NULL AND deleted = :no"
                " UNION ALL"
                " SELECT (SELECT MIN(w.status) FROM work_item w"
                "  WHERE w.team_id = :team AND w.status > seen.status AND w.deleted = :no)"
                " FROM seen WHERE seen.status IS NOT NULL)"
                " SELECT status FROM seen WHERE status IS NOT NULL"
            ),
            {"team": scope.id, "no": False},
        ).scalars()
    )
    for from_value, to_value in session.execute(
        select(WorkItemChange.from_value, WorkItemChange.to_value)
        .where(WorkItemChange.team_id == scope.id, WorkItemChange.field == "status")
        .where(col(WorkItemChange.at) >= now - timedelta(days=RECENT_DAYS))
        .distinct()
    ).all():
        names.update(v for v in (from_value, to_value) if v)
    known = {n.casefold() for n in session.execute(select(JiraStatus.name)).scalars()}
    known |= {n.casefold() for n in scope.status_overrides}
    missing = sorted(n for n in names if n and n.casefold() not in known)
    if not missing:
        return []
    return [
        say.text(
            "doctor.warnings.statuses_without_category",
            statuses=", ".join(missing),
            team=scope.name,
            example=missing[0],
        )
    ]


def _escape_rule_matches_nothing(
    session: Session, scope: _Team, now: datetime, say: Prompts
) -> list[str]:
    """The bugs created in the last 28 days (a range of the team's creation-time index)."""
    bugs = session.execute(
        select(WorkItem.labels, WorkItem.fields, WorkItem.escaped).where(
            WorkItem.team_id == scope.id,
            col(WorkItem.created_at) >= now - timedelta(days=RECENT_DAYS),
            ~col(WorkItem.deleted),
            func.lower(WorkItem.issue_type) == "bug",
        )
    ).all()
    if not bugs:
        return []
    rule = scope.escape_rule
    if any(is_escaped(rule, labels, fields, flagged) for labels, fields, flagged in bugs):
        return []
    return [
        _counted(
            say,
            "doctor.warnings.escape_rule_matches_nothing",
            len(bugs),
            days=RECENT_DAYS,
            rule=describe_escape_rule(rule),
            team=scope.name,
        )
    ]


def _deployments_of_no_team(session: Session, now: datetime, say: Prompts) -> list[str]:
    services: set[str] = set()
    repos: set[str] = set()
    for team_services, team_repos in session.execute(select(Team.services, Team.repos)).all():
        services.update(team_services or [])
        repos.update(r.lower() for r in team_repos or [])
    orphans = session.execute(
        select(Deployment.service, Deployment.repo)
        .where(col(Deployment.first_seen_at) >= now - timedelta(days=RECENT_DAYS))
        .where(or_(col(Deployment.service).is_(None), ~_in(Deployment.service, services)))
        .where(or_(col(Deployment.repo).is_(None), ~_in(Deployment.repo, repos)))
    ).all()
    if not orphans:
        return []
    names = sorted({service or repo or "?" for service, repo in orphans})
    shown = ", ".join(names[:5])
    if len(names) > 5:
        shown = say.text("doctor.warnings.and_more", shown=shown, more=len(names) - 5)
    return [
        _counted(
            say,
            "doctor.warnings.deployments_of_no_team",
            len(orphans),
            days=RECENT_DAYS,
            shown=shown,
            example=names[0],
        )
    ]


def _in(column: Any, values: Sequence[str] | set[str]) -> Any:
    """`column IN values`, and plain false for no values (an empty IN is not portable)."""
    return col(column).in_(sorted(values)) if values else false()
