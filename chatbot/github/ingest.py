"""Writes GitHub facts (pull requests, timeline, reviews, commits) idempotently.

Shared by the webhook and the backfill. Every write is an upsert keyed by GitHub's natural
keys, so replaying any delivery adds nothing, and events may arrive in any order:
- a pull request row keeps the newest snapshot by GitHub's `updated_at` (an older event
  arriving late adds its timeline entry but never rolls the row back);
- a review stored as `dismissed` before its submission learns its real state later, and a
  dismissal keeps the state it dismissed;
- commits link to pull requests through `branch_commit` (the head branch), whichever came
  first.
Writes run on a connection inside the caller's transaction, as few statements as possible.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, and_, case, delete, func, literal, literal_column, not_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from chatbot.db.core_models import ProcessedEvent
from chatbot.github.models import (
    BranchCommit,
    GitCommit,
    PullRequest,
    PullRequestEvent,
    PullRequestKey,
    PullRequestReview,
    RepoDelivery,
)
from chatbot.github.payloads import Commit, PullRequestSnapshot, Review, TimelineEvent
from chatbot.teams.models import Team

PR = PullRequest.__table__  # type: ignore[attr-defined]
PR_EVENT = PullRequestEvent.__table__  # type: ignore[attr-defined]
PR_KEY = PullRequestKey.__table__  # type: ignore[attr-defined]
REVIEW = PullRequestReview.__table__  # type: ignore[attr-defined]
COMMIT = GitCommit.__table__  # type: ignore[attr-defined]
BRANCH_COMMIT = BranchCommit.__table__  # type: ignore[attr-defined]
DELIVERY = RepoDelivery.__table__  # type: ignore[attr-defined]
PROCESSED = ProcessedEvent.__table__  # type: ignore[attr-defined]
TEAM = Team.__table__  # type: ignore[attr-defined]

_SNAPSHOT_COLUMNS = (
    "github_id",
    "title",
    "body",
    "head_branch",
    "base_branch",
    "head_sha",
    "merge_commit_sha",
    "author_login",
    "author_is_bot",
    "draft",
    "state",
    "created_at",
    "merged_at",
    "closed_at",
    "updated_at",
)


def insert_for(conn: Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both PostgreSQL and SQLite do)."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def team_repos(conn: Connection) -> set[str]:
    """Every repository some team lists, lower-case `owner/name`."""
    repos: set[str] = set()
    for (listed,) in conn.execute(select(TEAM.c.repos)):
        repos.update(str(r).strip().lower() for r in listed or [])
    return repos


def first_delivery(conn: Connection, key: str, now: datetime) -> bool:
    """Claims a delivery id inside the caller's transaction: True the first time. Claiming
    and storing commit together, so a delivery that failed half-way is stored on GitHub's
    redelivery instead of being taken for a duplicate."""
    statement = (
        insert_for(conn)(PROCESSED)
        .values(key=key[:255], seen_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(PROCESSED.c.key)
    )
    return conn.execute(statement).first() is not None


def touch_repo(conn: Connection, repo: str, event: str, now: datetime) -> None:
    insert = insert_for(conn)(DELIVERY).values(repo=repo, last_delivery_at=now, last_event=event)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["repo"],
            set_={"last_delivery_at": insert.excluded.last_delivery_at, "last_event": event},
        )
    )


def upsert_pull_request(
    conn: Connection,
    pr: PullRequestSnapshot,
    opened_as_draft: bool | None = None,
    keys_changed: bool = True,
) -> bool:
    """Store the snapshot unless a newer one is stored already; True when it was applied.
    `opened_as_draft` is set whenever known (it comes from the `opened` event or the
    backfill's timeline), whatever the snapshot's age. Jira keys are rewritten when the
    snapshot is applied and `keys_changed` says the title or body may differ (GitHub
    changes them only through `opened` and `edited`; a `synchronize` leaves them), and
    always for a pull request seen for the first time."""
    values = {
        "repo": pr.repo,
        "number": pr.number,
        "github_id": pr.github_id,
        "title": pr.title,
        "body": pr.body,
        "head_branch": pr.head_branch[:255],
        "base_branch": pr.base_branch[:255],
        "head_sha": pr.head_sha,
        "merge_commit_sha": pr.merge_commit_sha,
        "author_login": pr.author.login[:100],
        "author_is_bot": pr.author.is_bot,
        "opened_as_draft": bool(opened_as_draft),
        "draft": pr.draft,
        "state": pr.state,
        "created_at": pr.created_at,
        "merged_at": pr.merged_at,
        "closed_at": pr.closed_at,
        "updated_at": pr.updated_at,
    }
    insert = insert_for(conn)(PR).values(**values)
    newer = or_(PR.c.updated_at.is_(None), PR.c.updated_at <= insert.excluded.updated_at)
    set_: dict[str, Any] = {
        name: case((newer, insert.excluded[name]), else_=PR.c[name]) for name in _SNAPSHOT_COLUMNS
    }
    if opened_as_draft is not None:
        set_["opened_as_draft"] = insert.excluded.opened_as_draft
    statement = insert.on_conflict_do_update(index_elements=["repo", "number"], set_=set_)
    stored = conn.execute(statement.returning(PR.c.updated_at, _inserted(conn))).one()
    applied = stored[0] == pr.updated_at
    if applied and (keys_changed or stored[1]):
        replace_keys(conn, pr.repo, pr.number, pr.jira_keys)
    return applied


def _inserted(conn: Connection) -> Any:
    """Whether the upsert inserted the row rather than updating it. PostgreSQL tells it
    for free (a freshly inserted row version has xmax 0); SQLite cannot, so it answers yes
    and the keys are rewritten, which is only a little more work."""
    if conn.dialect.name == "postgresql":
        return literal_column("(xmax = 0)", Boolean)
    return literal(True, Boolean)


def replace_keys(conn: Connection, repo: str, number: int, keys: list[str]) -> None:
    """The Jira keys the newest title, branch and body name; keys edited away are dropped."""
    keys = sorted({k[:64] for k in keys})
    stale = delete(PR_KEY).where(PR_KEY.c.repo == repo, PR_KEY.c.number == number)
    if keys:
        stale = stale.where(not_(PR_KEY.c.jira_key.in_(keys)))
    conn.execute(stale)
    if keys:
        conn.execute(
            insert_for(conn)(PR_KEY)
            .values([{"repo": repo, "number": number, "jira_key": k} for k in keys])
            .on_conflict_do_nothing(index_elements=["repo", "number", "jira_key"])
        )


def add_timeline(conn: Connection, repo: str, number: int, events: Iterable[TimelineEvent]) -> None:
    rows = {(e.kind, e.at): None for e in events}
    if not rows:
        return
    conn.execute(
        insert_for(conn)(PR_EVENT)
        .values([{"repo": repo, "number": number, "kind": k, "at": at} for k, at in sorted(rows)])
        .on_conflict_do_nothing(index_elements=["repo", "number", "kind", "at"])
    )


def upsert_reviews(conn: Connection, reviews: Iterable[Review]) -> None:
    """A `dismissed` state never overwrites the state that was dismissed; the first
    dismissal time is kept."""
    rows = {
        r.review_id: {
            "review_id": r.review_id,
            "repo": r.repo,
            "number": r.number,
            "reviewer_login": r.reviewer.login[:100],
            "reviewer_is_bot": r.reviewer.is_bot,
            "state": r.state[:32],
            "submitted_at": r.submitted_at,
            "dismissed_at": r.dismissed_at,
        }
        for r in reviews
    }
    if not rows:
        return
    insert = insert_for(conn)(REVIEW).values([rows[k] for k in sorted(rows)])
    x = insert.excluded
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["review_id"],
            set_={
                "reviewer_login": x.reviewer_login,
                "reviewer_is_bot": x.reviewer_is_bot,
                "state": case((x.state == "dismissed", REVIEW.c.state), else_=x.state),
                "submitted_at": func.coalesce(x.submitted_at, REVIEW.c.submitted_at),
                "dismissed_at": func.coalesce(REVIEW.c.dismissed_at, x.dismissed_at),
            },
        )
    )


def upsert_commits(
    conn: Connection, repo: str, commits: Iterable[Commit], branch: str | None
) -> None:
    """Commits with their author times; with a branch, also where they were seen."""
    by_sha = {c.sha: c for c in commits}
    if not by_sha:
        return
    shas = sorted(by_sha)
    insert = insert_for(conn)(COMMIT).values(
        [
            {
                "repo": repo,
                "sha": s,
                "authored_at": by_sha[s].authored_at,
                "author_login": (by_sha[s].author_login or None) and by_sha[s].author_login[:100],
            }
            for s in shas
        ]
    )
    x = insert.excluded
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["repo", "sha"],
            set_={
                "authored_at": func.coalesce(COMMIT.c.authored_at, x.authored_at),
                "author_login": func.coalesce(COMMIT.c.author_login, x.author_login),
            },
            # Only fill gaps: a replay rewrites nothing and takes no row lock for long.
            where=and_(
                or_(COMMIT.c.authored_at.is_(None), COMMIT.c.author_login.is_(None)),
                or_(x.authored_at.is_not(None), x.author_login.is_not(None)),
            ),
        )
    )
    if branch:
        conn.execute(
            insert_for(conn)(BRANCH_COMMIT)
            .values([{"repo": repo, "branch": branch[:255], "sha": s} for s in shas])
            .on_conflict_do_nothing(index_elements=["repo", "branch", "sha"])
        )
