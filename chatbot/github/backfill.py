"""`chatbot sync github`: a team's pull request history from GitHub's GraphQL API.

One query per page of up to 100 pull requests (newest update first) brings each PR with
its first 100 commits, reviews and draft/ready/dismissal timeline; only a PR with more than
that costs a further query per extra page. So 1,000 PRs take about 10 requests, where REST
would need one per PR and per list (3,000+).

Resumable: after each page is stored, its cursor is saved in the same transaction in
`sync_state` (`github:{repo}`); an interrupted run goes on from there. A finished run stores
the newest `updatedAt` it saw as the watermark, so the next run without `--since` reads only
what changed (PRs are ordered by update, so it stops at the first older one). Everything
goes through the same idempotent writes as the webhook.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from chatbot.clock import Clock
from chatbot.db.core_models import SyncState
from chatbot.db.engine import Database
from chatbot.github import ingest
from chatbot.github.api import GitHubApiError, GitHubClient, QueryTooLarge
from chatbot.github.payloads import (
    Commit,
    Person,
    PullRequestSnapshot,
    Review,
    TimelineEvent,
    is_bot,
    parse_time,
)

PAGE = 100
# GitHub deprecated the 32-bit `databaseId` of pull requests and reviews for this BigInt; it
# is the same number as the `id` webhooks send.
ID = "fullDatabaseId"
SYNC_STATE = SyncState.__table__  # type: ignore[attr-defined]

_COMMIT_FIELDS = "commit { oid authoredDate message author { user { login } } }"
_REVIEW_FIELDS = "fullDatabaseId state submittedAt author { login __typename }"
_TIMELINE_TYPES = (
    "[READY_FOR_REVIEW_EVENT, CONVERT_TO_DRAFT_EVENT, REOPENED_EVENT, REVIEW_DISMISSED_EVENT]"
)
_TIMELINE_FIELDS = (
    "__typename "
    "... on ReadyForReviewEvent { createdAt } "
    "... on ConvertToDraftEvent { createdAt } "
    "... on ReopenedEvent { createdAt } "
    "... on ReviewDismissedEvent { createdAt previousReviewState review { fullDatabaseId } }"
)
_PAGE_INFO = "totalCount pageInfo { hasNextPage endCursor }"

PULL_REQUESTS = f"""
query PullRequestHistory($owner: String!, $name: String!, $first: Int!, $after: String) {{
  repository(owner: $owner, name: $name) {{
    pullRequests(first: $first, after: $after, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      {_PAGE_INFO}
      nodes {{
        fullDatabaseId number title body isDraft state createdAt updatedAt mergedAt closedAt
        headRefName baseRefName headRefOid isCrossRepository additions deletions
        labels(first: 100) {{ nodes {{ name }} }}
        headRepositoryOwner {{ login }}
        mergeCommit {{ oid }}
        author {{ login __typename }}
        commits(first: 100) {{ {_PAGE_INFO} nodes {{ {_COMMIT_FIELDS} }} }}
        reviews(first: 100) {{ {_PAGE_INFO} nodes {{ {_REVIEW_FIELDS} }} }}
        timelineItems(first: 100, itemTypes: {_TIMELINE_TYPES}) {{
          {_PAGE_INFO} nodes {{ {_TIMELINE_FIELDS} }}
        }}
      }}
    }}
  }}
}}
"""

_MORE_ARGS = {"commits": "", "reviews": "", "timelineItems": f", itemTypes: {_TIMELINE_TYPES}"}
_MORE_FIELDS = {
    "commits": _COMMIT_FIELDS,
    "reviews": _REVIEW_FIELDS,
    "timelineItems": _TIMELINE_FIELDS,
}


def more_query(connection: str) -> str:
    """The next page of one PR's commits, reviews or timeline (only for PRs over 100)."""
    return f"""
query PullRequestMore($owner: String!, $name: String!, $number: Int!, $first: Int!,
                      $after: String) {{
  repository(owner: $owner, name: $name) {{
    pullRequest(number: $number) {{
      {connection}(first: $first, after: $after{_MORE_ARGS[connection]}) {{
        {_PAGE_INFO} nodes {{ {_MORE_FIELDS[connection]} }}
      }}
    }}
  }}
}}
"""


@dataclass
class RepoResult:
    repo: str
    pull_requests: int = 0
    commits: int = 0
    reviews: int = 0
    resumed: bool = False


@dataclass(frozen=True)
class _Resume:
    after: str | None
    since: datetime | None
    newest: datetime | None
    resumed: bool


Progress = Callable[[str, int, int | None], None]  # repo, PRs stored so far, total if known


class GitHubBackfill:
    def __init__(
        self, db: Database, clock: Clock, client: GitHubClient, state: str = "github"
    ) -> None:
        self.db = db
        self.clock = clock
        self.client = client
        self.page_size = PAGE
        # The `sync_state` rows are `{state}:{repo}`: the hourly catch-up keeps its own, so
        # it never takes over the cursor or the watermark of `chatbot sync github`.
        self.state = state

    def sync_repo(
        self, repo: str, since: datetime | None = None, progress: Progress | None = None
    ) -> RepoResult:
        """Store the repository's PRs updated at or after `since` (default: the watermark
        of the last finished run; with neither, all of them)."""
        repo = repo.strip().lower()
        owner, _, name = repo.partition("/")
        if not owner or not name:
            raise GitHubApiError(f"{repo!r} is not a repository; write it as owner/name")
        start = self._resume_point(repo, since)
        result = RepoResult(repo, resumed=start.resumed)
        after, newest = start.after, start.newest
        while True:
            page = self._page(owner, name, after)
            stop = False
            prs = []
            for node in page.get("nodes") or []:
                updated = parse_time(str(node["updatedAt"]), "updatedAt")
                newest = newest or updated
                if start.since is not None and updated < start.since:
                    stop = True
                    break
                prs.append(self._complete(owner, name, node))
            done = stop or not page["pageInfo"]["hasNextPage"]
            cursor = None if done else page["pageInfo"]["endCursor"]
            with self.db.engine.begin() as conn:
                self._store(conn, repo, prs, result)
                self._save_state(conn, repo, cursor, start.since, newest, finished=done)
            if progress is not None:
                # The total is every PR of the repository: a bound only for a full run.
                total = page.get("totalCount") if start.since is None else None
                progress(repo, result.pull_requests, total)
            if done:
                return result
            after = cursor

    # --- reading ----------------------------------------------------------------------------
    def _page(self, owner: str, name: str, after: str | None) -> dict[str, Any]:
        while True:
            variables = {"owner": owner, "name": name, "first": self.page_size, "after": after}
            try:
                data = self.client.query(PULL_REQUESTS, variables)
            except QueryTooLarge:
                if self.page_size <= 10:
                    raise
                # GitHub gives up on queries that take too long: ask for fewer PRs at once.
                self.page_size = max(10, self.page_size // 2)
                continue
            repository = data.get("repository")
            if repository is None:
                raise GitHubApiError(f"GitHub has no repository {owner}/{name} for this token")
            return dict(repository["pullRequests"])

    def _complete(self, owner: str, name: str, node: dict[str, Any]) -> dict[str, Any]:
        """The PR with every page of its commits, reviews and timeline."""
        for connection in ("commits", "reviews", "timelineItems"):
            page = node[connection]
            nodes = list(page.get("nodes") or [])
            while page["pageInfo"]["hasNextPage"]:
                data = self.client.query(
                    more_query(connection),
                    {
                        "owner": owner,
                        "name": name,
                        "number": node["number"],
                        "first": 100,
                        "after": page["pageInfo"]["endCursor"],
                    },
                )
                pull = (data.get("repository") or {}).get("pullRequest")
                if pull is None:
                    break
                page = pull[connection]
                nodes.extend(page.get("nodes") or [])
            node[connection] = {"nodes": nodes}
        return node

    # --- storing ----------------------------------------------------------------------------
    def _store(
        self, conn: Connection, repo: str, nodes: list[dict[str, Any]], result: RepoResult
    ) -> None:
        """One page of PRs in a handful of multi-row statements."""
        snapshots, drafts, events, commits, branches, reviews = [], {}, [], [], [], []
        for node in nodes:
            pr = snapshot_of(repo, node)
            timeline, dismissals = _timeline(node)
            snapshots.append(pr)
            drafts[pr.number] = _opened_as_draft(node, timeline)
            events += [(repo, pr.number, e) for e in _full_timeline(pr, timeline)]
            these = [_commit(c) for c in node["commits"]["nodes"]]
            commits += these
            branches += [(pr.head_branch, c.sha) for c in these]
            found = (_review(repo, pr.number, n, dismissals) for n in node["reviews"]["nodes"])
            mine = [r for r in found if r is not None]
            reviews += mine
            result.pull_requests += 1
            result.commits += len(these)
            result.reviews += len(mine)
        ingest.upsert_pull_requests(conn, snapshots, opened_as_draft=drafts)
        ingest.add_timelines(conn, events)
        ingest.upsert_commits(conn, repo, commits)
        ingest.link_branches(conn, repo, branches)
        ingest.upsert_reviews(conn, reviews)

    def _resume_point(self, repo: str, since: datetime | None) -> _Resume:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                SYNC_STATE.select().where(SYNC_STATE.c.name == self._state_name(repo))
            ).first()
        cursor = dict(row.cursor or {}) if row is not None else {}
        stored_since = _time_or_none(cursor.get("since"))
        if cursor.get("after") and (since is None or since == stored_since):
            return _Resume(cursor["after"], stored_since, _time_or_none(cursor.get("newest")), True)
        if since is None and row is not None:
            since = row.watermark
        return _Resume(None, since, None, False)

    def _save_state(
        self,
        conn: Connection,
        repo: str,
        after: str | None,
        since: datetime | None,
        newest: datetime | None,
        finished: bool,
    ) -> None:
        now = self.clock.now()
        if finished:
            values: dict[str, Any] = {"cursor": {}, "updated_at": now}
            if newest is not None:
                values["watermark"] = newest
        else:
            values = {
                "cursor": {
                    "after": after,
                    "since": since.isoformat() if since else None,
                    "newest": newest.isoformat() if newest else None,
                },
                "updated_at": now,
            }
        insert = ingest.insert_for(conn)(SYNC_STATE).values(name=self._state_name(repo), **values)
        conn.execute(insert.on_conflict_do_update(index_elements=["name"], set_=values))

    def _state_name(self, repo: str) -> str:
        return f"{self.state}:{repo}"


def snapshot_of(repo: str, node: dict[str, Any]) -> PullRequestSnapshot:
    author = node.get("author") or {"login": "ghost", "__typename": "User"}
    login = str(author.get("login") or "ghost")
    merged_at = _time_or_none(node.get("mergedAt"))
    state = str(node.get("state") or "OPEN").lower()
    return PullRequestSnapshot(
        repo=repo,
        number=int(node["number"]),
        github_id=_big_int(node.get("fullDatabaseId")),
        title=str(node.get("title") or ""),
        body=str(node.get("body") or ""),
        head_branch=_head_branch(node),
        base_branch=str(node.get("baseRefName") or ""),
        head_sha=_sha(node.get("headRefOid")),
        merge_commit_sha=_sha((node.get("mergeCommit") or {}).get("oid")),
        author=Person(login, is_bot(login, author.get("__typename"))),
        draft=bool(node.get("isDraft")),
        state="merged" if merged_at is not None else ("closed" if state == "closed" else "open"),
        created_at=parse_time(str(node["createdAt"]), "createdAt"),
        updated_at=parse_time(str(node["updatedAt"]), "updatedAt"),
        merged_at=merged_at,
        closed_at=_time_or_none(node.get("closedAt")),
        labels=tuple(
            dict.fromkeys(
                str(label["name"])[:100]
                for label in (node.get("labels") or {}).get("nodes") or []
                if label and label.get("name")
            )
        ),
        additions=_count(node.get("additions")),
        deletions=_count(node.get("deletions")),
    )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _head_branch(node: dict[str, Any]) -> str:
    """As webhooks store it: `owner:branch` for a PR from a fork (see payloads)."""
    ref = str(node.get("headRefName") or "")
    if not node.get("isCrossRepository"):
        return ref
    owner = (node.get("headRepositoryOwner") or {}).get("login")
    return f"{owner}:{ref}" if owner else f"fork:{ref}"


_TIMELINE_KINDS = {
    "ReadyForReviewEvent": "ready_for_review",
    "ConvertToDraftEvent": "converted_to_draft",
    "ReopenedEvent": "reopened",
}


def _timeline(node: dict[str, Any]) -> tuple[list[TimelineEvent], dict[int, tuple[str, datetime]]]:
    events: list[TimelineEvent] = []
    dismissals: dict[int, tuple[str, datetime]] = {}
    for item in node["timelineItems"]["nodes"]:
        kind = item.get("__typename")
        at = _time_or_none(item.get("createdAt"))
        if at is None:
            continue
        if kind in _TIMELINE_KINDS:
            events.append(TimelineEvent(_TIMELINE_KINDS[kind], at))
        elif kind == "ReviewDismissedEvent" and _big_int((item.get("review") or {}).get(ID)):
            previous = str(item.get("previousReviewState") or "dismissed").lower()
            dismissals[int(item["review"][ID])] = (previous, at)
    return events, dismissals


def _full_timeline(pr: PullRequestSnapshot, timeline: list[TimelineEvent]) -> list[TimelineEvent]:
    """The whole timeline: opened, the draft/ready/reopen events, then merged or closed."""
    events = [TimelineEvent("opened", pr.created_at), *timeline]
    if pr.merged_at is not None:
        events.append(TimelineEvent("merged", pr.merged_at))
    elif pr.closed_at is not None:
        events.append(TimelineEvent("closed", pr.closed_at))
    return events


def _opened_as_draft(node: dict[str, Any], timeline: list[TimelineEvent]) -> bool:
    """A PR was opened as a draft when its first draft change made it ready, or it is a
    draft that never changed."""
    changes = sorted(
        (e for e in timeline if e.kind in ("ready_for_review", "converted_to_draft")),
        key=lambda e: e.at,
    )
    if changes:
        return changes[0].kind == "ready_for_review"
    return bool(node.get("isDraft"))


def _commit(node: dict[str, Any]) -> Commit:
    commit = node["commit"]
    user = (commit.get("author") or {}).get("user") or {}
    return Commit(
        sha=str(commit["oid"]).lower(),
        authored_at=_time_or_none(commit.get("authoredDate")),
        author_login=user.get("login"),
        message=commit.get("message") if isinstance(commit.get("message"), str) else None,
    )


def _review(
    repo: str, number: int, node: dict[str, Any], dismissals: dict[int, tuple[str, datetime]]
) -> Review | None:
    state = str(node.get("state") or "").lower()
    review_id = _big_int(node.get(ID))
    if state == "pending" or not review_id:
        return None
    author = node.get("author") or {"login": "ghost"}
    login = str(author.get("login") or "ghost")
    dismissed_at = None
    if state == "dismissed" and review_id in dismissals:
        state, dismissed_at = dismissals[review_id]
    return Review(
        repo=repo,
        number=number,
        review_id=review_id,
        reviewer=Person(login, is_bot(login, author.get("__typename"))),
        state=state,
        submitted_at=_time_or_none(node.get("submittedAt")),
        dismissed_at=dismissed_at,
    )


def _big_int(value: Any) -> int | None:
    """GraphQL's BigInt arrives as a string (or a number); ids are positive."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _time_or_none(value: Any) -> datetime | None:
    return parse_time(str(value), "time") if value else None


def _sha(value: Any) -> str | None:
    text = str(value or "").lower()
    return text if len(text) == 40 else None
