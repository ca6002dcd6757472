"""A local fake of GitHub's GraphQL API (github.com `/graphql`, Enterprise Server
`/api/graphql`) serving pull requests with their commits, reviews and timeline. Ids are
`fullDatabaseId` BigInts, which GitHub's JSON carries as strings.

It answers the two query shapes a history backfill needs, as GitHub would:
- `repository(owner, name) { pullRequests(first, after, orderBy) { … } }`: pages of pull
  requests (newest `updatedAt` first when the query orders by UPDATED_AT DESC, else oldest
  created first), each with its first `commits`, `reviews` and `timelineItems`;
- `repository { pullRequest(number) { commits|reviews|timelineItems(first, after) } }`:
  the further pages of one connection.
`first` above 100 is refused like GitHub refuses it. Cursors are opaque. Every answer carries
`X-RateLimit-*` headers from a budget that runs out (then 403 until `new_window()`, which a
test's injected sleep calls); failures can be injected (403 secondary rate limit with
Retry-After, 5xx, 401); every request is recorded. It does not import the bot's code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "ghp_fake_backfill_token"
RESET_EPOCH = 1_900_000_000


@dataclass
class FakeCommit:
    oid: str
    authored_date: str
    login: str | None = "octocat"
    message: str = "A commit"


@dataclass
class FakeReview:
    database_id: int
    state: str  # APPROVED · CHANGES_REQUESTED · COMMENTED · DISMISSED · PENDING
    submitted_at: str | None
    login: str = "reviewer-1"
    typename: str = "User"


@dataclass
class FakeTimelineItem:
    typename: str  # ReadyForReviewEvent · ConvertToDraftEvent · ReviewDismissedEvent · …
    created_at: str
    review_id: int | None = None
    previous_review_state: str | None = None


@dataclass
class FakePullRequest:
    number: int
    title: str = "A change"
    body: str = ""
    head_ref: str = "feature/x"
    base_ref: str = "main"
    head_oid: str = "0" * 40
    merge_oid: str | None = None
    author: str = "octocat"
    author_typename: str = "User"
    draft: bool = False
    state: str = "OPEN"  # OPEN · CLOSED · MERGED
    created_at: str = "2026-11-01T09:00:00Z"
    updated_at: str = "2026-11-01T09:00:00Z"
    merged_at: str | None = None
    closed_at: str | None = None
    commits: list[FakeCommit] = field(default_factory=list)
    reviews: list[FakeReview] = field(default_factory=list)
    timeline: list[FakeTimelineItem] = field(default_factory=list)
    fork_owner: str | None = None  # set for a PR from a fork
    labels: list[str] = field(default_factory=list)
    additions: int = 10
    deletions: int = 2


@dataclass
class Recorded:
    path: str
    auth: str
    query: str
    variables: dict[str, Any]
    status: int


@dataclass
class _Failure:
    status: int
    times: int
    retry_after: int | None
    message: str


class FakeGitHub:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.repos: dict[str, list[FakePullRequest]] = {}
        self.requests: list[Recorded] = []
        self.failures: list[_Failure] = []
        self.limit = 5000
        self.remaining = 5000
        self.reset_epoch = RESET_EPOCH
        self.selected: set[str] = set()

    # --- test controls --------------------------------------------------------------------
    def add_repo(self, full_name: str, prs: list[FakePullRequest]) -> None:
        self.repos[full_name.lower()] = prs

    def fail_next(
        self, status: int, times: int = 1, retry_after: int | None = None, message: str = ""
    ) -> None:
        """The next `times` requests answer `status` (403 secondary rate limit, 5xx, 401)."""
        self.failures.append(_Failure(status, times, retry_after, message))

    def set_budget(self, remaining: int, reset_epoch: int = RESET_EPOCH) -> None:
        self.remaining = remaining
        self.reset_epoch = reset_epoch

    def new_window(self) -> None:
        """The rate-limit window has reset (a test's injected sleep calls this)."""
        self.remaining = self.limit
        self.reset_epoch += 3600

    def count(self, status: int | None = None) -> int:
        return sum(1 for r in self.requests if status is None or r.status == status)

    # --- serving --------------------------------------------------------------------------
    def answer(
        self, path: str, auth: str, body: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self.lock:
            status, headers, payload, query, variables = self._answer(path, auth, body)
            self.requests.append(Recorded(path, auth, query, variables, status))
            return status, headers, payload

    def _answer(
        self, path: str, auth: str, body: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any], str, dict[str, Any]]:
        try:
            request = json.loads(body or b"{}")
            query = str(request.get("query", ""))
            variables = dict(request.get("variables") or {})
        except (ValueError, AttributeError):
            return 400, {}, {"message": "Problems parsing JSON"}, "", {}
        if path not in ("/graphql", "/api/graphql"):
            return 404, {}, {"message": "Not Found"}, query, variables
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "token") or token != TOKEN:
            return 401, {}, {"message": "Bad credentials"}, query, variables
        if self.failures:
            failure = self.failures[0]
            failure.times -= 1
            if failure.times <= 0:
                self.failures.pop(0)
            headers = self._rate_headers()
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            message = failure.message or (
                "You have exceeded a secondary rate limit."
                if failure.status in (403, 429)
                else "Server Error"
            )
            return failure.status, headers, {"message": message}, query, variables
        if self.remaining <= 0:
            headers = self._rate_headers()
            return 403, headers, {"message": "API rate limit exceeded"}, query, variables
        self.remaining -= 1
        try:
            data = self._data(query, variables)
        except _GraphQLError as exc:
            return 200, self._rate_headers(), {"errors": [exc.error]}, query, variables
        return 200, self._rate_headers(), data, query, variables

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Used": str(self.limit - max(self.remaining, 0)),
            "X-RateLimit-Reset": str(self.reset_epoch),
            "X-RateLimit-Resource": "graphql",
        }

    def _data(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        # Like GitHub, a field is in the answer only when the query selects it.
        self.selected = {
            name
            for name in ("message", "additions", "deletions")
            if re.search(rf"\b{name}\b", query)
        }
        if re.search(r"\blabels\(first:\s*\d+\)\s*\{\s*nodes\s*\{\s*name\s*\}", query):
            self.selected.add("labels")
        owner, name = variables.get("owner"), variables.get("name")
        prs = self.repos.get(f"{owner}/{name}".lower())
        if prs is None:
            raise _GraphQLError(
                {
                    "type": "NOT_FOUND",
                    "path": ["repository"],
                    "message": f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                }
            )
        if "pullRequests(" in query:
            return {"data": {"repository": {"pullRequests": self._pulls(query, variables, prs)}}}
        match = re.search(r"pullRequest\(number:", query)
        if match is None:
            raise _GraphQLError({"type": "INVALID", "message": "unsupported query"})
        number = int(variables["number"])
        pr = next((p for p in prs if p.number == number), None)
        if pr is None:
            return {"data": {"repository": {"pullRequest": None}}}
        first = _first(variables)
        after = variables.get("after")
        for connection in ("commits", "reviews", "timelineItems"):
            if re.search(rf"\b{connection}\(first:", query):
                page = _page(self._items(pr, connection), first, after, self._render(connection))
                return {"data": {"repository": {"pullRequest": {connection: page}}}}
        raise _GraphQLError({"type": "INVALID", "message": "no known connection in the query"})

    def _pulls(
        self, query: str, variables: dict[str, Any], prs: list[FakePullRequest]
    ) -> dict[str, Any]:
        if "UPDATED_AT" in query and "DESC" in query:
            ordered = sorted(prs, key=lambda p: (p.updated_at, p.number), reverse=True)
        else:
            ordered = sorted(prs, key=lambda p: (p.created_at, p.number))
        inner = _nested_first(query)
        page = _page(
            ordered,
            _first(variables),
            variables.get("after"),
            lambda pr: self._render_pr(pr, inner),
        )
        page["totalCount"] = len(prs)
        return page

    def _items(self, pr: FakePullRequest, connection: str) -> list[Any]:
        if connection == "commits":
            return pr.commits
        if connection == "reviews":
            return [r for r in pr.reviews if r.state != "PENDING"]
        return pr.timeline

    def _render_pr(self, pr: FakePullRequest, inner: dict[str, int]) -> dict[str, Any]:
        node: dict[str, Any] = {
            "fullDatabaseId": str(500_000 + pr.number),
            "number": pr.number,
            "title": pr.title,
            "body": pr.body,
            "isDraft": pr.draft,
            "state": pr.state,
            "createdAt": pr.created_at,
            "updatedAt": pr.updated_at,
            "mergedAt": pr.merged_at,
            "closedAt": pr.closed_at,
            "headRefName": pr.head_ref,
            "baseRefName": pr.base_ref,
            "headRefOid": pr.head_oid,
            "isCrossRepository": pr.fork_owner is not None,
            "headRepositoryOwner": {"login": pr.fork_owner} if pr.fork_owner else None,
            "mergeCommit": {"oid": pr.merge_oid} if pr.merge_oid else None,
            "author": {"login": pr.author, "__typename": pr.author_typename},
        }
        if "labels" in self.selected:
            node["labels"] = {"nodes": [{"name": name} for name in pr.labels]}
        for name in ("additions", "deletions"):
            if name in self.selected:
                node[name] = getattr(pr, name)
        for connection in ("commits", "reviews", "timelineItems"):
            if connection in inner:
                items = self._items(pr, connection)
                node[connection] = _page(items, inner[connection], None, self._render(connection))
        return node

    def _render(self, connection: str) -> Any:
        render = _RENDER[connection]
        if connection != "commits" or "message" in self.selected:
            return render
        return lambda c: {
            "commit": {k: v for k, v in render(c)["commit"].items() if k != "message"}
        }


class _GraphQLError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error


def _first(variables: dict[str, Any]) -> int:
    first = int(variables.get("first") or 0)
    if not 1 <= first <= 100:
        raise _GraphQLError(
            {
                "type": "EXCESSIVE_PAGINATION" if first > 100 else "INVALID",
                "message": "Requesting "
                f"{first} records on the connection exceeds the `first` limit of 100 records.",
            }
        )
    return first


def _nested_first(query: str) -> dict[str, int]:
    """`first:` of the connections nested in a pull request page, as the query asks."""
    found = {}
    for connection in ("commits", "reviews", "timelineItems"):
        match = re.search(rf"\b{connection}\(first:\s*(\d+)", query)
        if match:
            value = int(match.group(1))
            if value > 100:
                raise _GraphQLError(
                    {"type": "EXCESSIVE_PAGINATION", "message": "`first` limit is 100 records"}
                )
            found[connection] = value
    return found


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise _GraphQLError({"type": "INVALID_CURSOR", "message": "bad cursor"}) from None


def _page(items: list[Any], first: int, after: str | None, render: Any) -> dict[str, Any]:
    start = _offset(after)
    chunk = items[start : start + first]
    end = start + len(chunk)
    return {
        "totalCount": len(items),
        "pageInfo": {"hasNextPage": end < len(items), "endCursor": _cursor(end) if chunk else None},
        "nodes": [render(item) for item in chunk],
    }


def _commit(c: FakeCommit) -> dict[str, Any]:
    user = {"login": c.login} if c.login else None
    return {
        "commit": {
            "oid": c.oid,
            "authoredDate": c.authored_date,
            "message": c.message,
            "author": {"user": user},
        }
    }


def _review(r: FakeReview) -> dict[str, Any]:
    return {
        "fullDatabaseId": str(r.database_id),
        "state": r.state,
        "submittedAt": r.submitted_at,
        "author": {"login": r.login, "__typename": r.typename},
    }


def _timeline(t: FakeTimelineItem) -> dict[str, Any]:
    node: dict[str, Any] = {"__typename": t.typename, "createdAt": t.created_at}
    if t.typename == "ReviewDismissedEvent":
        node["previousReviewState"] = t.previous_review_state
        node["review"] = {"fullDatabaseId": str(t.review_id)} if t.review_id else None
    return node


_RENDER = {"commits": _commit, "reviews": _review, "timelineItems": _timeline}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.fake.answer(
            self.path.split("?")[0], self.headers.get("Authorization", ""), body
        )
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class FakeGitHubServer:
    """Runs FakeGitHub on 127.0.0.1; `url` is a GITHUB_API_URL (`api_v3_url` for the
    Enterprise Server form `…/api/v3`)."""

    def __init__(self) -> None:
        self.fake = FakeGitHub()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.api_v3_url = f"{self.url}/api/v3"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitHubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def history(
    count: int,
    reviews: int = 5,
    commits: int = 8,
    start: datetime | None = None,
    key_prefix: str = "PAY",
) -> list[FakePullRequest]:
    """`count` merged pull requests, one opened per hour from `start`, each with `commits`
    commits and `reviews` reviews (the last one approving), half of them opened as drafts."""
    start = start or datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    prs = []
    for n in range(1, count + 1):
        opened = start + timedelta(hours=n)
        draft = n % 2 == 0
        timeline = (
            [FakeTimelineItem("ReadyForReviewEvent", _iso(opened + timedelta(hours=2)))]
            if draft
            else []
        )
        prs.append(
            FakePullRequest(
                number=n,
                title=f"{key_prefix}-{n} Change number {n}",
                body="Details of the change.",
                head_ref=f"feature/{key_prefix.lower()}-{n}",
                head_oid=_oid(f"{n}:head"),
                merge_oid=_oid(f"{n}:merge"),
                state="MERGED",
                created_at=_iso(opened),
                updated_at=_iso(opened + timedelta(hours=30)),
                merged_at=_iso(opened + timedelta(hours=30)),
                closed_at=_iso(opened + timedelta(hours=30)),
                commits=[
                    FakeCommit(_oid(f"{n}:{c}"), _iso(opened - timedelta(hours=commits - c)))
                    for c in range(commits)
                ],
                reviews=[
                    FakeReview(
                        n * 100 + r,
                        "APPROVED" if r == reviews - 1 else "COMMENTED",
                        _iso(opened + timedelta(hours=3 + r)),
                        login=f"reviewer-{r}",
                    )
                    for r in range(reviews)
                ],
                timeline=timeline,
            )
        )
    return prs


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _oid(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()
