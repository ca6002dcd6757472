"""Which deployment ships which pull request (docs/deployments.md), as one SQL query.

A deployment ships a PR of the team's repos when it lists
1. the PR itself (`owner/repo#12`), or
2. a commit that is exactly the PR's merge commit or head commit, or
3. a Jira key the PR names (title, branch or body: `pull_request_key`), and the PR was
   merged at or before the deployment's `deployed_at`.

`shipped_prs_query` builds that as one SELECT of (deployment_id, repo, number), which the AI
change failure and `team doctor` join; `prs_shipped_by` runs it for one deployment. Cycle
time evaluates the same three cases in indexed steps of its own (`chatbot.metrics.cycle_time`),
so that its cost follows the weeks asked for: a change to the rule here must be made there too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, String, and_, case, cast, func, literal, select, true, union
from sqlalchemy.sql import ColumnElement, CompoundSelect

from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange
from chatbot.github.models import PullRequest, PullRequestKey


def shipped_prs_query(
    team_repos: Sequence[str],
    deployment_filter: ColumnElement[bool] | None = None,
) -> CompoundSelect:
    """SELECT deployment_id, repo, number: every (deployment, PR) pair where the
    deployment ships the PR, restricted to `team_repos` (lower-case `owner/name`).

    `deployment_filter` is an optional condition on `Deployment` columns (for example
    `Deployment.id == 7`, or production environments and `status == 'success'`); it is
    applied inside every branch, so the database never expands the whole table.
    Each pair appears once. Use it as `shipped_prs_query(...).subquery("shipped")`.
    """
    repos = [r.lower() for r in team_repos]
    condition = deployment_filter if deployment_filter is not None else true()

    def base(*join_on: ColumnElement[bool]):  # type: ignore[no-untyped-def]
        return (
            select(
                DeploymentChange.deployment_id.label("deployment_id"),  # type: ignore[attr-defined]
                PullRequest.repo.label("repo"),  # type: ignore[attr-defined]
                PullRequest.number.label("number"),  # type: ignore[attr-defined]
            )
            .select_from(DeploymentChange)
            .join(Deployment, Deployment.id == DeploymentChange.deployment_id)  # type: ignore[arg-type]
            .where(condition)
        )

    def by_listed_pr(repo: str) -> Any:
        # `owner/repo#12` is split by the known repo's length, so the PR is found through
        # its (repo, number) key; the whole reference is still compared, exactly. The CASE
        # keeps the number's cast away from values of other repos and kinds.
        prefix = repo + "#"
        names_repo = func.substr(DeploymentChange.value, 1, len(prefix)) == prefix
        number = case(
            (names_repo, cast(func.substr(DeploymentChange.value, len(prefix) + 1), Integer))
        )
        pr_ref = PullRequest.repo + literal("#") + cast(PullRequest.number, String)  # type: ignore[operator]
        return (
            base()
            .join(
                PullRequest,
                and_(PullRequest.repo == repo, PullRequest.number == number),  # type: ignore[arg-type]
            )
            .where(DeploymentChange.kind == "pr", names_repo, pr_ref == DeploymentChange.value)
        )

    def by_commit(sha_column: Any) -> Any:
        # One branch per column (not an OR) so each uses its own index.
        return (
            base()
            .join(PullRequest, sha_column == DeploymentChange.value)
            .where(DeploymentChange.kind == "commit", PullRequest.repo.in_(repos))  # type: ignore[attr-defined]
        )

    by_jira_key = (
        base()
        .join(PullRequestKey, PullRequestKey.jira_key == DeploymentChange.value)
        .join(
            PullRequest,
            and_(
                PullRequest.repo == PullRequestKey.repo,
                PullRequest.number == PullRequestKey.number,
            ),
        )
        .where(
            DeploymentChange.kind == "issue",
            PullRequest.repo.in_(repos),  # type: ignore[attr-defined]
            PullRequestKey.repo.in_(repos),  # type: ignore[attr-defined]
            # NULL on either side (not merged, not deployed yet) compares to NULL: no match.
            PullRequest.merged_at <= Deployment.deployed_at,  # type: ignore[operator]
        )
    )
    # UNION (not UNION ALL): a PR both listed and matched by its commit counts once.
    return union(
        *(by_listed_pr(repo) for repo in sorted(set(repos))),
        by_commit(PullRequest.merge_commit_sha),
        by_commit(PullRequest.head_sha),
        by_jira_key,
    )


def prs_shipped_by(
    db: Database, deployment_id: int, team_repos: Sequence[str] | None = None
) -> list[tuple[str, int]]:
    """The (repo, number) pairs a deployment ships, sorted; restricted to `team_repos`
    when given, else to every repository a pull request is stored for."""
    with db.session() as session:
        repos = (
            list(team_repos)
            if team_repos is not None
            else list(session.exec(select(PullRequest.repo).distinct()).scalars())  # type: ignore[call-overload]
        )
        shipped = shipped_prs_query(repos, Deployment.id == deployment_id).subquery("shipped")  # type: ignore[arg-type]
        rows = session.execute(
            select(shipped.c.repo, shipped.c.number).order_by(shipped.c.repo, shipped.c.number)
        ).all()
    return [(str(repo), int(number)) for repo, number in rows]
