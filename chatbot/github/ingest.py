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

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, and_, case, delete, func, literal_column, null, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from chatbot.github.ai_signals import co_author_logins
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
TEAM = Team.__table__  # type: ignore[attr-defined]

_SNAPSHOT_COLUMNS = (
    "github_id",
    "title",
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


# AI-assistance signals kept as they stood at the merge (see `upsert_pull_request`).
_AS_MERGED = ("labels", "body")


def insert_for(conn: Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both PostgreSQL and SQLite do)."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


_BUILT: dict[tuple[str, str], Any] = {}


def _prepared(conn: Connection, name: str, build: Callable[[Any], Any]) -> Any:
    """A statement built once per dialect and reused with new parameters: webhooks run the
    same few statements hundreds of times a second, and building and keying them again
    each time costs more CPU than running them."""
    key = (conn.dialect.name, name)
    statement = _BUILT.get(key)
    if statement is None:
        statement = _BUILT[key] = build(insert_for(conn))
    return statement


def team_repos(conn: Connection) -> set[str]:
    """Every repository some team lists, lower-case `owner/name`."""
    repos: set[str] = set()
    for (listed,) in conn.execute(select(TEAM.c.repos)):
        repos.update(str(r).strip().lower() for r in listed or [])
    return repos


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
    at_merge: bool = False,
) -> bool:
    """Store the snapshot unless a newer one is stored already; True when it was applied.
    `opened_as_draft` is set whenever known (it comes from the `opened` event or the
    backfill's timeline), whatever the snapshot's age. Jira keys are rewritten when the
    snapshot is applied and `keys_changed` says the title or body may differ (GitHub
    changes them only through `opened` and `edited`; a `synchronize` leaves them), and
    always for a pull request seen for the first time.

    Labels and body are AI-assistance signals that count as they stood when the PR merged
    (docs/ai-signals.md): once the stored row is merged a later snapshot leaves them, and
    the merge's own snapshot (`at_merge`: the `closed` event of a merged PR) sets them
    whatever its age, so an edit made after the merge and delivered before it changes
    nothing either."""
    applied = upsert_pull_requests(conn, [pr], opened_as_draft, keys_changed, at_merge)
    return (pr.repo, pr.number) in applied


def upsert_pull_requests(
    conn: Connection,
    prs: list[PullRequestSnapshot],
    opened_as_draft: bool | dict[int, bool] | None = None,
    keys_changed: bool = True,
    at_merge: bool = False,
) -> set[tuple[str, int]]:
    """`upsert_pull_request` for many PRs in one statement (the backfill stores a page at
    once); `opened_as_draft` may map PR numbers to it. Returns the (repo, number) applied."""
    by_key = {(pr.repo, pr.number): pr for pr in prs}
    if not by_key:
        return set()
    rows = []
    for key in sorted(by_key):
        pr = by_key[key]
        draft_at_open = (
            opened_as_draft.get(pr.number) if isinstance(opened_as_draft, dict) else opened_as_draft
        )
        rows.append(
            {
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
                "opened_as_draft": bool(draft_at_open),
                "draft": pr.draft,
                "state": pr.state,
                "created_at": pr.created_at,
                "merged_at": pr.merged_at,
                "closed_at": pr.closed_at,
                "updated_at": pr.updated_at,
                "labels": list(pr.labels),
                "additions": pr.additions,
                "deletions": pr.deletions,
            }
        )
    known = opened_as_draft is not None
    returning = _prepared(
        conn,
        f"pull_request:{known}:{at_merge}",
        lambda insert: _pull_request_upsert(conn, insert, known, at_merge),
    )
    # One row: a plain execute; many: executemany, compiled once however many rows.
    returned = conn.execute(returning, rows[0] if len(rows) == 1 else rows).all()
    applied: set[tuple[str, int]] = set()
    rewrite, fresh = [], []
    for repo, number, updated_at, inserted in returned:
        if updated_at == by_key[(repo, number)].updated_at:
            applied.add((repo, number))
            if inserted:
                fresh.append(by_key[(repo, number)])  # a new row has no keys to drop yet
            elif keys_changed or inserted is None:
                rewrite.append(by_key[(repo, number)])
    replace_keys(conn, rewrite)
    add_keys(conn, fresh)
    return applied


def _pull_request_upsert(
    conn: Connection, insert: Any, draft_known: bool, at_merge: bool = False
) -> Any:
    statement = insert(PR)
    newer = or_(PR.c.updated_at.is_(None), PR.c.updated_at <= statement.excluded.updated_at)
    set_: dict[str, Any] = {
        name: case((newer, statement.excluded[name]), else_=PR.c[name])
        for name in _SNAPSHOT_COLUMNS
    }
    # Labels and body count as they stood when the PR merged (docs/ai-signals.md): once the
    # stored row is merged, a later snapshot (a label added, the body edited after the merge)
    # leaves them; the merge's own snapshot sets them, even when an edit made after the merge
    # was delivered first.
    for name in _AS_MERGED:
        set_[name] = (
            statement.excluded[name]
            if at_merge
            else case(
                (and_(newer, PR.c.merged_at.is_(None)), statement.excluded[name]),
                else_=PR.c[name],
            )
        )
    for name in ("additions", "deletions"):  # an event without the counts keeps them
        set_[name] = case(
            (newer, func.coalesce(statement.excluded[name], PR.c[name])), else_=PR.c[name]
        )
    if draft_known:
        set_["opened_as_draft"] = statement.excluded.opened_as_draft
    upsert = statement.on_conflict_do_update(index_elements=["repo", "number"], set_=set_)
    return upsert.returning(PR.c.repo, PR.c.number, PR.c.updated_at, _inserted(conn))


def _inserted(conn: Connection) -> Any:
    """Whether the upsert inserted the row rather than updating it. PostgreSQL tells it
    for free (a freshly inserted row version has xmax 0); SQLite cannot, so it answers
    NULL, "maybe", and the keys are rewritten, which is only a little more work."""
    if conn.dialect.name == "postgresql":
        return literal_column("(xmax = 0)", Boolean)
    return null()


def replace_keys(conn: Connection, prs: list[PullRequestSnapshot]) -> None:
    """The Jira keys the newest title, branch and body of each PR name; keys edited away
    are dropped. Two statements however many PRs."""
    if not prs:
        return
    for repo in sorted({pr.repo for pr in prs}):
        numbers = sorted(pr.number for pr in prs if pr.repo == repo)
        conn.execute(delete(PR_KEY).where(PR_KEY.c.repo == repo, PR_KEY.c.number.in_(numbers)))
    add_keys(conn, prs)


def add_keys(conn: Connection, prs: list[PullRequestSnapshot]) -> None:
    rows = sorted({(pr.repo, pr.number, k[:64]) for pr in prs for k in pr.jira_keys})
    _insert_new(
        conn,
        "keys",
        PR_KEY,
        ["repo", "number", "jira_key"],
        [{"repo": r, "number": n, "jira_key": k} for r, n, k in rows],
    )


def add_timeline(conn: Connection, repo: str, number: int, events: Iterable[TimelineEvent]) -> None:
    add_timelines(conn, [(repo, number, e) for e in events])


def add_timelines(conn: Connection, events: Iterable[tuple[str, int, TimelineEvent]]) -> None:
    rows = sorted({(repo, number, e.kind, e.at) for repo, number, e in events})
    _insert_new(
        conn,
        "timeline",
        PR_EVENT,
        ["repo", "number", "kind", "at"],
        [{"repo": r, "number": n, "kind": k, "at": at} for r, n, k, at in rows],
    )


def _insert_new(
    conn: Connection, name: str, table: Any, key: list[str], rows: list[dict[str, Any]]
) -> None:
    """Inserts the rows whose `key` columns are not stored yet; the others are left as they
    are (these tables hold facts that never change once seen)."""
    _many(
        conn,
        _prepared(
            conn, name, lambda insert: insert(table).on_conflict_do_nothing(index_elements=key)
        ),
        rows,
    )


def _many(conn: Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
    """Runs an INSERT for every row: one plain execute for one row, else an executemany
    (SQLAlchemy compiles it once and sends batches of multi-row VALUES)."""
    if rows:
        conn.execute(statement, rows[0] if len(rows) == 1 else rows)


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
    _many(conn, _prepared(conn, "reviews", _review_upsert), [rows[k] for k in sorted(rows)])


def _review_upsert(insert: Any) -> Any:
    statement = insert(REVIEW)
    x = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["review_id"],
        set_={
            "reviewer_login": x.reviewer_login,
            "reviewer_is_bot": x.reviewer_is_bot,
            "state": case((x.state == "dismissed", REVIEW.c.state), else_=x.state),
            "submitted_at": func.coalesce(x.submitted_at, REVIEW.c.submitted_at),
            "dismissed_at": func.coalesce(REVIEW.c.dismissed_at, x.dismissed_at),
        },
    )


def upsert_commits(
    conn: Connection, repo: str, commits: Iterable[Commit], branch: str | None = None
) -> None:
    """Commits with their author times; with a branch, also where they were seen."""
    by_sha = {c.sha: c for c in commits}
    shas = sorted(by_sha)
    rows = [
        {
            "repo": repo,
            "sha": sha,
            "authored_at": by_sha[sha].authored_at,
            "author_login": (by_sha[sha].author_login or "")[:100] or None,
            "message": by_sha[sha].message,
            "coauthors": _coauthors(by_sha[sha].message),
        }
        for sha in shas
    ]
    _many(conn, _prepared(conn, "commits", _commit_upsert), rows)
    if branch:
        link_branches(conn, repo, [(branch, sha) for sha in shas])


def _coauthors(message: str | None) -> str | None:
    if message is None:
        return None
    logins = co_author_logins(message)
    return f" {' '.join(logins)} "[:1000] if logins else ""


def _commit_upsert(insert: Any) -> Any:
    statement = insert(COMMIT)
    x = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["repo", "sha"],
        set_={
            "authored_at": func.coalesce(COMMIT.c.authored_at, x.authored_at),
            "author_login": func.coalesce(COMMIT.c.author_login, x.author_login),
            "message": func.coalesce(COMMIT.c.message, x.message),
            "coauthors": func.coalesce(COMMIT.c.coauthors, x.coauthors),
        },
        # Only fill what is missing: a replay rewrites nothing.
        where=and_(
            or_(
                COMMIT.c.authored_at.is_(None),
                COMMIT.c.author_login.is_(None),
                COMMIT.c.message.is_(None),
            ),
            or_(x.authored_at.is_not(None), x.author_login.is_not(None), x.message.is_not(None)),
        ),
    )


def link_branches(conn: Connection, repo: str, pairs: Iterable[tuple[str, str]]) -> None:
    """(branch, sha): the commit was seen on that branch."""
    rows = sorted({(branch[:255], sha) for branch, sha in pairs if branch})
    _insert_new(
        conn,
        "branch",
        BRANCH_COMMIT,
        ["repo", "branch", "sha"],
        [{"repo": repo, "branch": b, "sha": sha} for b, sha in rows],
    )
