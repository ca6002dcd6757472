"""Which deployment ships which pull request (docs/deployments.md): the rule, once, in two forms.

A deployment ships a PR of the team's repos when it lists
1. the PR itself (`owner/repo#12`), or
2. a commit that is exactly the PR's merge commit or head commit, or
3. a Jira key the PR names (title, branch or body: `pull_request_key`), and the PR was
   merged at or before the deployment's `deployed_at`.

`RULES` says this as data: per rule, the kind of listing it reads, the fact of the PR the
listed value must equal, and whether the PR must be merged by the deployment's time. Both
forms are built from it:

- SQL: `shipped_prs_query` is one SELECT of (deployment_id, repo, number), which the AI change
  failure and `team doctor` join; `prs_shipped_by` runs it for one deployment.
- Python: `listings_naming` (what would ship a PR), `ships` (the time condition) and
  `shipments` (both over rows already read), which cycle time applies to the few PRs and
  listings it reads through indexes, so its cost follows the weeks asked for.

tests/test_deploy_shipping.py holds the two forms to the same answers on generated cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import Integer, String, and_, case, cast, func, literal, select, true, union
from sqlalchemy.sql import ColumnElement, CompoundSelect

from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange
from chatbot.github.models import PullRequest, PullRequestKey


class Match(StrEnum):
    """What of the PR a listed value must equal exactly."""

    REFERENCE = "reference"  # `owner/repo#12`
    MERGE_COMMIT = "merge_commit_sha"
    HEAD_COMMIT = "head_sha"
    JIRA_KEY = "jira_key"  # one of the keys the PR names


@dataclass(frozen=True)
class ShippingRule:
    kind: str  # the `DeploymentChange.kind` it reads
    match: Match
    # Only once the PR was merged at or before the deployment (NULL on either side: never).
    merged_by_deployment: bool = False


RULES: tuple[ShippingRule, ...] = (
    ShippingRule("pr", Match.REFERENCE),
    ShippingRule("commit", Match.MERGE_COMMIT),
    ShippingRule("commit", Match.HEAD_COMMIT),
    ShippingRule("issue", Match.JIRA_KEY, merged_by_deployment=True),
)

# `owner/repo#12`: the number in plain ASCII digits with no leading zero, as a PR's own
# reference writes it (so a parsed reference is again the exact listed value).
_REFERENCE = re.compile(r"(?P<repo>[^#]+)#(?P<number>[1-9][0-9]*)")


def pr_reference(repo: str, number: int) -> str:
    return f"{repo}#{number}"


def listed_pr(value: str) -> tuple[str, int] | None:
    """The (repo, number) a `pr` listing names, or None when it names none."""
    found = _REFERENCE.fullmatch(value)
    return (found["repo"], int(found["number"])) if found else None


class PullRequestFacts(Protocol):
    """What the rule reads of a PR (a `PullRequest` row, or a row of those columns)."""

    @property
    def repo(self) -> str: ...
    @property
    def number(self) -> int: ...
    @property
    def merged_at(self) -> datetime | None: ...
    @property
    def head_sha(self) -> str | None: ...
    @property
    def merge_commit_sha(self) -> str | None: ...


class Listing(NamedTuple):
    """One value a deployment lists, with the deployment's time."""

    deployment_id: int
    kind: str
    value: str
    deployed_at: datetime | None


# --- the Python form ---------------------------------------------------------------------------


# Each rule with what it reads of a PR as a plain string: the enum's `.value` costs more
# than the rest of the rule when it is asked for every PR of a digest.
_SOURCES: tuple[tuple[ShippingRule, str], ...] = tuple((r, str(r.match.value)) for r in RULES)
_BY_REFERENCE, _BY_JIRA_KEY = str(Match.REFERENCE.value), str(Match.JIRA_KEY.value)


def listings_naming(
    pr: PullRequestFacts, jira_keys: Iterable[str] = ()
) -> list[tuple[ShippingRule, str]]:
    """Each (rule, value) a deployment may list to ship `pr` (given the Jira keys it names);
    a listing of `rule.kind` with that value ships it when `ships(rule, ...)` holds."""
    found: list[tuple[ShippingRule, str]] = []
    for rule, source in _SOURCES:
        if source == _BY_REFERENCE:
            found.append((rule, pr_reference(pr.repo, pr.number)))
        elif source == _BY_JIRA_KEY:
            found.extend((rule, key) for key in jira_keys)
        else:
            value = getattr(pr, source)
            if value:
                found.append((rule, value))
    return found


def ships(rule: ShippingRule, merged_at: datetime | None, deployed_at: datetime | None) -> bool:
    """The rule's time condition; a rule without one ships whenever the value matches."""
    if not rule.merged_by_deployment:
        return True
    return merged_at is not None and deployed_at is not None and merged_at <= deployed_at


P = TypeVar("P", bound=PullRequestFacts)


Wanted = dict[tuple[str, str], list[tuple[ShippingRule, P]]]


def wanted_listings(prs: Iterable[tuple[P, Iterable[str]]]) -> Wanted[P]:
    """What would ship each of `prs` (the team's PRs, with the Jira keys each names), as
    (kind, value) → the (rule, PR) pairs such a listing may ship."""
    wanted: Wanted[P] = {}
    for pr, keys in prs:
        for rule, value in listings_naming(pr, keys):
            wanted.setdefault((rule.kind, value), []).append((rule, pr))
    return wanted


def shipments(
    prs: Iterable[tuple[P, Iterable[str]]] | Wanted[P], listings: Iterable[Listing]
) -> Iterator[tuple[Listing, P]]:
    """Each (listing, PR) where the listing ships the PR: `prs` are the team's PRs with the
    Jira keys each names (or `wanted_listings` of them, when the caller needs it too). A PR
    shipped through two listings of one deployment comes twice."""
    wanted = prs if isinstance(prs, dict) else wanted_listings(prs)
    for listing in listings:
        for rule, pr in wanted.get((listing.kind, listing.value), ()):
            if ships(rule, pr.merged_at, listing.deployed_at):
                yield listing, pr


# --- the SQL form ------------------------------------------------------------------------------


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
    repos = sorted({r.lower() for r in team_repos})
    condition = deployment_filter if deployment_filter is not None else true()

    def base(rule: ShippingRule) -> Any:
        query = (
            select(
                DeploymentChange.deployment_id.label("deployment_id"),  # type: ignore[attr-defined]
                PullRequest.repo.label("repo"),  # type: ignore[attr-defined]
                PullRequest.number.label("number"),  # type: ignore[attr-defined]
            )
            .select_from(DeploymentChange)
            .join(Deployment, Deployment.id == DeploymentChange.deployment_id)  # type: ignore[arg-type]
            .where(condition, DeploymentChange.kind == rule.kind)
        )
        return query

    def timed(rule: ShippingRule, query: Any) -> Any:
        if not rule.merged_by_deployment:
            return query
        # NULL on either side (not merged, not deployed yet) compares to NULL: no match.
        return query.where(PullRequest.merged_at <= Deployment.deployed_at)  # type: ignore[operator]

    def by_reference(rule: ShippingRule, repo: str) -> Any:
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
            base(rule)
            .join(
                PullRequest,
                and_(PullRequest.repo == repo, PullRequest.number == number),  # type: ignore[arg-type]
            )
            .where(names_repo, pr_ref == DeploymentChange.value)
        )

    def by_column(rule: ShippingRule) -> Any:
        # One branch per column (not an OR) so each uses its own index.
        column = getattr(PullRequest, rule.match.value)
        return (
            base(rule)
            .join(PullRequest, column == DeploymentChange.value)
            .where(PullRequest.repo.in_(repos))  # type: ignore[attr-defined]
        )

    def by_jira_key(rule: ShippingRule) -> Any:
        return (
            base(rule)
            .join(PullRequestKey, PullRequestKey.jira_key == DeploymentChange.value)
            .join(
                PullRequest,
                and_(
                    PullRequest.repo == PullRequestKey.repo,
                    PullRequest.number == PullRequestKey.number,
                ),
            )
            .where(
                PullRequest.repo.in_(repos),  # type: ignore[attr-defined]
                PullRequestKey.repo.in_(repos),  # type: ignore[attr-defined]
            )
        )

    branches = []
    for rule in RULES:
        if rule.match is Match.REFERENCE:
            found = [by_reference(rule, repo) for repo in repos]
        elif rule.match is Match.JIRA_KEY:
            found = [by_jira_key(rule)]
        else:
            found = [by_column(rule)]
        branches += [timed(rule, branch) for branch in found]
    # UNION (not UNION ALL): a PR both listed and matched by its commit counts once.
    return union(*branches)


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
