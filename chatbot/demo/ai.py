"""The demo team's AI adoption: coding-agent PRs, co-authored commits, labels and markers on a
growing share of its pull requests, PR sizes, goals, and a last week where speed comes at the
cost of quality (faster cycle time, more failed deployments), so `chatbot demo` shows the
AI-assisted work section, the split, the goals and the paired signal.

Applied to the rows `chatbot.demo.data` inserted, with a random generator of its own, so the
rest of the demo's history is the same with or without it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import Connection

from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange
from chatbot.github.models import BranchCommit, GitCommit, PullRequest, PullRequestReview
from chatbot.metrics.week import Week
from chatbot.teams.models import Team

PR = PullRequest.__table__  # type: ignore[attr-defined]
COMMIT = GitCommit.__table__  # type: ignore[attr-defined]
BRANCH = BranchCommit.__table__  # type: ignore[attr-defined]
REVIEW = PullRequestReview.__table__  # type: ignore[attr-defined]
DEPLOYMENT = Deployment.__table__  # type: ignore[attr-defined]
CHANGE = DeploymentChange.__table__  # type: ignore[attr-defined]
TEAM = Team.__table__  # type: ignore[attr-defined]

AGENT = "copilot-swe-agent[bot]"
CLAUDE_TRAILER = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"
CURSOR_TRAILER = "\n\nMade-with: Cursor"
GOALS = {"cycle_time": {"relative": -0.3}, "review_time": {"relative": -0.2}}
KINDS = ("agent", "co_author", "label", "agent", "marker", "co_author")


def add_ai_adoption(db: Database, team_name: str, first: Week, last: Week, seed: int) -> int:
    """Mark a share of the merged PRs AI-assisted, rising from about 10 % in the first week to
    over half in the last; give every PR a size; set the team's goals; make the last week
    faster and less safe. Returns how many PRs are AI-assisted."""
    rng = random.Random(seed * 7919 + 1)
    weeks = max(1, (last.start - first.start).days // 7)
    assisted = 0
    with db.engine.begin() as conn:
        conn.execute(update(TEAM).where(TEAM.c.name == team_name).values(goals=GOALS))
        prs = conn.execute(
            select(
                PR.c.id, PR.c.repo, PR.c.number, PR.c.head_branch, PR.c.created_at, PR.c.merged_at
            )
            .where(PR.c.merged_at.is_not(None))
            .order_by(PR.c.created_at, PR.c.id)
        ).all()
        in_last = 0
        for pr in prs:
            k = max(0, (pr.created_at - first.start).days // 7)
            size = int(rng.lognormvariate(4.6, 0.8))
            values: dict[str, object] = {"additions": size, "deletions": size // 3}
            if last.start <= pr.merged_at < last.end:
                # The reported week: every other PR, so both sides of the split have enough.
                kind: str | None = KINDS[(in_last // 2) % len(KINDS)] if in_last % 2 == 0 else None
                unreviewed = in_last == 6
                in_last += 1
            else:
                adoption = 0.1 + 0.5 * min(1.0, k / weeks)
                kind = rng.choice(KINDS) if rng.random() < adoption else None
                unreviewed = rng.random() < 0.3
            if kind is not None:
                assisted += 1
                if kind == "agent":
                    values |= {"author_login": AGENT, "author_is_bot": True}
                    # Some agent PRs are merged by whoever prompted them, with no review.
                    if unreviewed:
                        conn.execute(
                            delete(REVIEW).where(
                                REVIEW.c.repo == pr.repo, REVIEW.c.number == pr.number
                            )
                        )
                elif kind == "label":
                    values["labels"] = ["ai-assisted"]
                else:
                    trailer = CLAUDE_TRAILER if kind == "co_author" else CURSOR_TRAILER
                    _sign_commits(conn, pr.repo, pr.head_branch, trailer)
            conn.execute(update(PR).where(PR.c.id == pr.id).values(**values))
        # Its own stream: how many PRs were merged after `last` must not change it.
        _faster_and_riskier(conn, random.Random(seed * 7919 + 2), last)
    return assisted


def _sign_commits(conn: Connection, repo: str, branch: str, trailer: str) -> None:
    shas = select(BRANCH.c.sha).where(BRANCH.c.repo == repo, BRANCH.c.branch == branch)
    conn.execute(
        update(COMMIT)
        .where(COMMIT.c.repo == repo, COMMIT.c.sha.in_(shas))
        .values(message=f"Change on {branch}{trailer}")
    )


def _faster_and_riskier(conn: Connection, rng: random.Random, week: Week) -> None:
    """The last week: the PRs it shipped started close to their deployment (agents write
    fast), and a third of its production deployments failed."""
    deployments = conn.execute(
        select(DEPLOYMENT.c.id, DEPLOYMENT.c.deployed_at)
        .where(
            DEPLOYMENT.c.environment == "production",
            DEPLOYMENT.c.status == "success",
            DEPLOYMENT.c.rollback_of.is_(None),
            and_(DEPLOYMENT.c.deployed_at >= week.start, DEPLOYMENT.c.deployed_at < week.end),
        )
        .order_by(DEPLOYMENT.c.deployed_at)
    ).all()
    for index, deployment in enumerate(deployments):
        if index % 3 == 1:
            conn.execute(
                update(DEPLOYMENT).where(DEPLOYMENT.c.id == deployment.id).values(status="failure")
            )
        listed = conn.execute(
            select(CHANGE.c.value).where(
                CHANGE.c.deployment_id == deployment.id, CHANGE.c.kind == "pr"
            )
        ).scalars()
        for value in listed:
            repo, _, number = str(value).rpartition("#")
            branch = conn.execute(
                select(PR.c.head_branch).where(PR.c.repo == repo, PR.c.number == int(number))
            ).scalar()
            started: datetime = deployment.deployed_at - timedelta(hours=rng.uniform(14, 30))
            shas = select(BRANCH.c.sha).where(BRANCH.c.repo == repo, BRANCH.c.branch == branch)
            conn.execute(
                update(COMMIT)
                .where(COMMIT.c.repo == repo, COMMIT.c.sha.in_(shas))
                .values(authored_at=started)
            )
