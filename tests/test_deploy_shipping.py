"""Which deployment ships which PR (docs/deployments.md): listed PR, exact merge or head commit,
or a Jira key the PR names when it merged by then; only the team's repos. Hand-made rows, a
plain reference, and generated cases on which the rule's SQL form (`shipped_prs_query`) and
its Python form (`shipments`, and cycle time, which applies it to rows read by index) agree."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import and_, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange
from chatbot.deploys.shipping import (
    Listing,
    listed_pr,
    prs_shipped_by,
    shipments,
    shipped_prs_query,
)
from chatbot.github.models import PullRequest, PullRequestKey
from chatbot.metrics.base import TeamScope
from chatbot.metrics.cycle_time import METRIC as CYCLE_TIME
from chatbot.metrics.week import Week
from tests.conftest import _empty

T0 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
REPOS = ["acme/payments", "acme/web"]


def _sha(n: int) -> str:
    return f"{n:040x}"


def _deployment(db: Database, ext: str, at: datetime | None, *changes: tuple[str, str]) -> int:
    with db.session() as s:
        row = Deployment(
            source="webhook",
            external_id=ext,
            service="payments-api",
            environment="production",
            status="success" if at else "pending",
            deployed_at=at,
            first_seen_at=T0,
            updated_at=T0,
        )
        s.add(row)
        s.flush()
        assert row.id is not None
        for kind, value in changes:
            s.add(DeploymentChange(deployment_id=row.id, kind=kind, value=value))
        return row.id


def _pr(
    db: Database,
    repo: str,
    number: int,
    merged_at: datetime | None = None,
    head: str | None = None,
    merge: str | None = None,
    keys: tuple[str, ...] = (),
) -> None:
    with db.session() as s:
        s.add(
            PullRequest(
                repo=repo,
                number=number,
                merged_at=merged_at,
                head_sha=head,
                merge_commit_sha=merge,
                state="merged" if merged_at else "open",
            )
        )
        for key in keys:
            s.add(PullRequestKey(repo=repo, number=number, jira_key=key))


def _seed(db: Database) -> dict[str, int]:
    _pr(db, "acme/payments", 1)  # listed by number
    _pr(db, "acme/payments", 2, T0 - timedelta(hours=2), merge=_sha(2))  # by merge commit
    _pr(db, "acme/payments", 3, head=_sha(3))  # by head commit
    _pr(db, "acme/payments", 4, T0 - timedelta(hours=1), keys=("PAY-7",))  # key, merged before
    _pr(db, "acme/payments", 5, T0 + timedelta(hours=1), keys=("PAY-7",))  # key, merged after
    _pr(db, "acme/payments", 6, None, keys=("PAY-7",))  # key, never merged
    _pr(db, "acme/payments", 7, T0, keys=("PAY-8",))  # merged exactly at deployed_at
    _pr(db, "other/repo", 8, T0 - timedelta(hours=1), merge=_sha(8), keys=("PAY-7",))
    _pr(db, "acme/web", 9, T0 - timedelta(days=1), merge=_sha(9))
    return {
        "main": _deployment(
            db,
            "d-1",
            T0,
            ("pr", "acme/payments#1"),
            ("pr", "acme/payments#3"),  # also matched by its head commit: counted once
            ("commit", _sha(2)),
            ("commit", _sha(3)),
            ("commit", _sha(8)),  # a PR of a repo of no concern to the team
            ("commit", _sha(2)[:39] + "f"),  # almost the merge commit: no match
            ("issue", "PAY-7"),
            ("issue", "PAY-8"),
        ),
        "web": _deployment(db, "d-2", T0, ("commit", _sha(9)), ("pr", "acme/payments#99")),
        "pending": _deployment(db, "d-3", None, ("issue", "PAY-7")),
    }


def test_each_rule_ships_its_prs(db: Database) -> None:
    ids = _seed(db)
    assert prs_shipped_by(db, ids["main"], REPOS) == [
        ("acme/payments", 1),
        ("acme/payments", 2),
        ("acme/payments", 3),
        ("acme/payments", 4),
        ("acme/payments", 7),
    ]
    # A PR listed but never seen is not shipped (nothing to measure); its commit rule works.
    assert prs_shipped_by(db, ids["web"], REPOS) == [("acme/web", 9)]
    # Not deployed yet: the Jira-key rule has no time to compare with.
    assert prs_shipped_by(db, ids["pending"], REPOS) == []


def test_only_the_teams_repos(db: Database) -> None:
    ids = _seed(db)
    assert prs_shipped_by(db, ids["main"], ["acme/web"]) == []
    assert ("other/repo", 8) in prs_shipped_by(db, ids["main"], ["other/repo"])
    assert ("other/repo", 8) in prs_shipped_by(db, ids["main"])  # every stored repo


def test_the_query_joins_inside_a_metric_query(db: Database) -> None:
    """The metrics use it as a subquery: e.g. the first successful deployment per PR."""
    _seed(db)
    _deployment(db, "d-4", T0 + timedelta(days=1), ("issue", "PAY-7"))
    shipped = shipped_prs_query(REPOS, col(Deployment.status) == "success").subquery("shipped")
    first = (
        select(shipped.c.repo, shipped.c.number, Deployment.external_id, Deployment.deployed_at)
        .join(Deployment, Deployment.id == shipped.c.deployment_id)
        .order_by(shipped.c.repo, shipped.c.number, Deployment.deployed_at)
    )
    with db.session() as s:
        rows = s.execute(first).all()
    assert "d-3" not in {ext for _r, _n, ext, _at in rows}  # pending: filtered out
    by_pr: dict[tuple[str, int], list[str]] = {}
    for repo, number, ext, _at in rows:
        by_pr.setdefault((repo, number), []).append(ext)
    assert by_pr[("acme/payments", 4)] == ["d-1", "d-4"]
    assert by_pr[("acme/payments", 5)] == ["d-4"]  # merged after d-1, before d-4
    assert ("acme/payments", 6) not in by_pr
    assert ("other/repo", 8) not in by_pr


def _reference(
    prs: list[dict[str, Any]], deployments: list[dict[str, Any]], repos: list[str]
) -> set[tuple[int, str, int]]:
    """Spec 6.1's shipping rule, written plainly, to check the SQL against."""
    shipped = set()
    for dep in deployments:
        for pr in prs:
            if pr["repo"] not in repos:
                continue
            listed = ("pr", f"{pr['repo']}#{pr['number']}") in dep["changes"]
            by_commit = any(
                ("commit", sha) in dep["changes"]
                for sha in (pr["merge"], pr["head"])
                if sha is not None
            )
            by_key = (
                dep["at"] is not None
                and pr["merged_at"] is not None
                and pr["merged_at"] <= dep["at"]
                and any(("issue", key) in dep["changes"] for key in pr["keys"])
            )
            if listed or by_commit or by_key:
                shipped.add((dep["id"], pr["repo"], pr["number"]))
    return shipped


def test_the_query_agrees_with_a_plain_reference(db: Database) -> None:
    rng = random.Random(47)
    all_repos = ["acme/payments", "acme/web", "other/repo"]
    keys = [f"PAY-{n}" for n in range(1, 12)]
    prs: list[dict[str, Any]] = []
    for index in range(80):
        merged = rng.random() < 0.8
        pr = {
            "repo": rng.choice(all_repos),
            "number": index + 1,
            "merged_at": T0 + timedelta(hours=rng.randint(-48, 48)) if merged else None,
            "head": _sha(1000 + index) if rng.random() < 0.7 else None,
            "merge": _sha(2000 + index) if merged and rng.random() < 0.7 else None,
            "keys": rng.sample(keys, rng.randint(0, 2)),
        }
        prs.append(pr)
        _pr(
            db,
            pr["repo"],
            pr["number"],
            pr["merged_at"],
            pr["head"],
            pr["merge"],
            tuple(pr["keys"]),
        )
    deployments: list[dict[str, Any]] = []
    for index in range(30):
        at = T0 + timedelta(hours=rng.randint(-48, 48)) if rng.random() < 0.9 else None
        changes: set[tuple[str, str]] = set()
        for _ in range(rng.randint(0, 6)):
            pr = rng.choice(prs)
            kind = rng.choice(["pr", "commit", "issue", "noise"])
            if kind == "pr":
                changes.add(("pr", f"{pr['repo']}#{pr['number'] + rng.choice([0, 0, 100])}"))
            elif kind == "commit":
                changes.add(
                    ("commit", rng.choice([pr["head"], pr["merge"], _sha(9999)]) or _sha(1))
                )
            elif kind == "issue":
                changes.add(("issue", rng.choice(keys)))
        dep_id = _deployment(db, f"d-{index}", at, *sorted(changes))
        deployments.append({"id": dep_id, "at": at, "changes": changes})
    for repos in (["acme/payments", "acme/web"], ["other/repo"], []):
        query = shipped_prs_query(repos).subquery("shipped")
        with db.session() as s:
            rows = {
                (int(d), str(r), int(n))
                for d, r, n in s.execute(
                    select(query.c.deployment_id, query.c.repo, query.c.number)
                ).all()
            }
        expected = _reference(prs, deployments, repos)
        assert rows == expected
        assert repos == [] or len(expected) > 10  # the data exercises the rules


# --- the SQL and Python forms agree on generated cases -----------------------------------------

GEN_REPOS = ["acme/payments", "acme/web", "other/repo"]
TEAM_REPOS = ("acme/payments", "acme/web")
GEN_KEYS = ["PAY-1", "PAY-2", "PAY-3", "WEB-1"]
# Three weeks around T0 (Wed 18 Nov 2026): every generated time falls in one of them.
WEEKS = Week.parse("2026-W47", ZoneInfo("UTC")).trend(3)


@dataclass(frozen=True)
class GenPR:
    repo: str
    number: int
    merged_at: datetime | None
    head_sha: str | None
    merge_commit_sha: str | None
    keys: tuple[str, ...]


@dataclass(frozen=True)
class GenDeployment:
    external_id: str
    at: datetime | None
    status: str
    environment: str
    changes: tuple[tuple[str, str], ...]


def _hours() -> st.SearchStrategy[datetime]:
    return st.integers(-9 * 24, 4 * 24).map(lambda h: T0 + timedelta(hours=h))


@st.composite
def shipping_cases(draw: st.DrawFn) -> tuple[list[GenPR], list[GenDeployment]]:
    prs = []
    for number in range(1, draw(st.integers(1, 12)) + 1):
        merged = draw(st.none() | _hours())
        prs.append(
            GenPR(
                repo=draw(st.sampled_from(GEN_REPOS)),
                number=number,
                merged_at=merged,
                head_sha=draw(st.none() | st.just(_sha(100 + number))),
                merge_commit_sha=None
                if merged is None
                else draw(st.none() | st.just(_sha(200 + number))),
                keys=tuple(draw(st.sets(st.sampled_from(GEN_KEYS), max_size=2))),
            )
        )

    def listing(pr: GenPR) -> st.SearchStrategy[tuple[str, str]]:
        return st.sampled_from(
            [
                ("pr", f"{pr.repo}#{pr.number}"),
                ("pr", f"{pr.repo}#0{pr.number}"),  # not the PR's own reference
                ("pr", f"{pr.repo.upper()}#{pr.number}"),
                ("pr", f"{pr.repo}#{pr.number + 50}"),  # a PR never seen
                ("commit", pr.head_sha or _sha(999)),
                ("commit", pr.merge_commit_sha or _sha(998)),
                ("commit", (pr.head_sha or _sha(997))[:39] + "f"),
                ("issue", draw(st.sampled_from(GEN_KEYS))),
                ("issue", "NOPE-1"),
            ]
        )

    deployments = []
    for index in range(draw(st.integers(1, 8))):
        changes = draw(st.sets(st.sampled_from(prs).flatmap(listing), max_size=5))
        deployments.append(
            GenDeployment(
                external_id=f"d-{index}",
                at=draw(st.none() | _hours()),
                status=draw(st.sampled_from(["success", "success", "failure", "pending"])),
                environment=draw(st.sampled_from(["production", "staging"])),
                changes=tuple(sorted(changes)),
            )
        )
    return prs, deployments


def _store(db: Database, prs: list[GenPR], deployments: list[GenDeployment]) -> dict[str, int]:
    with db.session() as s:
        for pr in prs:
            s.add(
                PullRequest(
                    repo=pr.repo,
                    number=pr.number,
                    merged_at=pr.merged_at,
                    head_sha=pr.head_sha,
                    merge_commit_sha=pr.merge_commit_sha,
                    state="merged" if pr.merged_at else "open",
                    created_at=T0 - timedelta(days=20),
                )
            )
            for key in pr.keys:
                s.add(PullRequestKey(repo=pr.repo, number=pr.number, jira_key=key))
        ids = {}
        for dep in deployments:
            row = Deployment(
                source="webhook",
                external_id=dep.external_id,
                service="payments-api",
                environment=dep.environment,
                status=dep.status,
                deployed_at=dep.at,
                first_seen_at=T0,
                updated_at=T0,
            )
            s.add(row)
            s.flush()
            assert row.id is not None
            ids[dep.external_id] = row.id
            for kind, value in dep.changes:
                s.add(DeploymentChange(deployment_id=row.id, kind=kind, value=value))
    return ids


def _by_sql(db: Database, condition: Any = None) -> set[tuple[int, str, int]]:
    query = shipped_prs_query(TEAM_REPOS, condition).subquery("shipped")
    with db.session() as s:
        return {
            (int(d), str(r), int(n))
            for d, r, n in s.execute(
                select(query.c.deployment_id, query.c.repo, query.c.number)
            ).all()
        }


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=shipping_cases())
def test_the_sql_and_python_forms_agree(
    _engines: dict[str, tuple[str, Engine]],
    which: str,
    case: tuple[list[GenPR], list[GenDeployment]],
) -> None:
    prs, deployments = case
    _, engine = _engines[which]
    _empty(engine)
    db = Database(engine)
    ids = _store(db, prs, deployments)

    listings = [
        Listing(ids[dep.external_id], kind, value, dep.at)
        for dep in deployments
        for kind, value in dep.changes
    ]
    team_prs = [(pr, pr.keys) for pr in prs if pr.repo in TEAM_REPOS]
    in_python = {
        (listing.deployment_id, pr.repo, pr.number) for listing, pr in shipments(team_prs, listings)
    }
    assert _by_sql(db) == in_python

    # Cycle time reads its rows by index and applies the Python form: each PR it counts is
    # shipped first, among the successful production deployments, by the one the SQL says.
    shipping = and_(
        col(Deployment.status) == "success",
        col(Deployment.environment) == "production",
        col(Deployment.deployed_at).is_not(None),
    )
    at = {ids[dep.external_id]: (dep.at, dep.external_id) for dep in deployments}
    first: dict[str, tuple[datetime, str]] = {}
    for dep_id, repo, number in _by_sql(db, shipping):
        ref = f"{repo}#{number}"
        first[ref] = min(first.get(ref, at[dep_id]), at[dep_id])  # type: ignore[arg-type]
    expected = {
        ref: f"shipped by deployment {external_id}"
        for ref, (deployed_at, external_id) in first.items()
        if any(w.start <= deployed_at < w.end for w in WEEKS)
    }
    team = TeamScope(
        team_id=1,
        name="t",
        tz=ZoneInfo("UTC"),
        repos=TEAM_REPOS,
        services=("payments-api",),
        production_envs=("production",),
    )
    figures = CYCLE_TIME.compute(db, team, WEEKS, explain=True)
    if not any(
        dep.status in ("success", "failure") and dep.at
        for dep in deployments
        if dep.environment == "production"
    ):
        return  # no production deployment at all: cycle time comes from Jira
    shown = {item.ref: item.detail for f in figures.values() for item in f.items}
    assert shown == expected


def test_a_listed_pr_is_its_exact_reference() -> None:
    assert listed_pr("acme/web#12") == ("acme/web", 12)
    assert listed_pr("acme/web#012") is None  # another text than the PR's reference
    assert listed_pr("acme/web#١٢") is None  # digits of another script
    assert listed_pr("acme/web#") is None
    assert listed_pr("#12") is None
