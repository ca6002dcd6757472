"""A local fake of GitHub's GraphQL API (github.com `/graphql`, Enterprise Server
`/api/graphql`) serving pull requests with their commits, reviews and timeline. Ids are
`fullDatabaseId` BigInts, which GitHub's JSON carries as strings.

Every query is parsed, validated against GitHub's published schema and executed by
graphql-core (tests/fakes/github_schema.py); a query GitHub would refuse answers
`{"errors": [...]}` and is kept in `violations`, which the `github` fixture turns into a test
failure. The fake resolves the fields that take arguments from its pull requests:
`repository(owner, name)`, `pullRequests(first, after, orderBy, states)` (oldest created first
unless ordered), `pullRequest(number)`, and each PR's `commits`, `reviews(states)` and
`timelineItems(itemTypes)`; every other field is read from the rendered PR.
A connection without `first`, or `first` above 100, is refused like GitHub refuses it.
Cursors are opaque. Every answer carries
`X-RateLimit-*` headers from a budget that runs out (then 403 until `new_window()`, which a
test's injected sleep calls); failures can be injected (403 secondary rate limit with
Retry-After, 5xx, 401); every request is recorded. It does not import the bot's code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.github_schema import GitHubError, Resolver, run

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
        # Queries GitHub's schema refuses; the `github` fixture fails a test that sent one.
        self.violations: list[str] = []
        self.failures: list[_Failure] = []
        self.limit = 5000
        self.remaining = 5000
        self.reset_epoch = RESET_EPOCH

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
        operation = request.get("operationName")
        outcome = run(query, variables, self._resolvers(), operation)
        self.violations.extend(outcome.invalid)
        return 200, self._rate_headers(), outcome.body, query, variables

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Used": str(self.limit - max(self.remaining, 0)),
            "X-RateLimit-Reset": str(self.reset_epoch),
            "X-RateLimit-Resource": "graphql",
        }

    # --- resolving ---------------------------------------------------------------------------
    def _resolvers(self) -> dict[tuple[str, str], Resolver]:
        return {
            ("Query", "repository"): self._repository,
            ("Repository", "pullRequests"): self._pull_requests,
            ("Repository", "pullRequest"): self._pull_request,
            ("PullRequest", "commits"): self._connection("commits"),
            ("PullRequest", "reviews"): self._connection("reviews"),
            ("PullRequest", "timelineItems"): self._connection("timelineItems"),
        }

    def _repository(self, _root: Any, owner: str, name: str, **_: Any) -> dict[str, Any]:
        prs = self.repos.get(f"{owner}/{name}".lower())
        if prs is None:
            raise GitHubError(
                "NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'."
            )
        return {"nameWithOwner": f"{owner}/{name}", "_prs": prs}

    def _pull_requests(
        self,
        repo: dict[str, Any],
        first: int | None = None,
        after: str | None = None,
        orderBy: dict[str, str] | None = None,  # noqa: N803 (GitHub's argument name)
        states: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        prs: list[FakePullRequest] = repo["_prs"]
        chosen = [p for p in prs if not states or p.state in states]
        order = orderBy or {"field": "CREATED_AT", "direction": "ASC"}
        by = "updated_at" if order["field"] == "UPDATED_AT" else "created_at"
        ordered = sorted(
            chosen,
            key=lambda p: (getattr(p, by), p.number),
            reverse=order["direction"] == "DESC",
        )
        return _page(ordered, _first(first, "pullRequests"), after, self._node)

    def _pull_request(self, repo: dict[str, Any], number: int) -> dict[str, Any] | None:
        pr = next((p for p in repo["_prs"] if p.number == number), None)
        return self._node(pr) if pr is not None else None

    def _connection(self, connection: str) -> Resolver:
        def resolve(
            node: dict[str, Any],
            first: int | None = None,
            after: str | None = None,
            states: list[str] | None = None,
            itemTypes: list[str] | None = None,  # noqa: N803 (GitHub's argument name)
            **_: Any,
        ) -> dict[str, Any]:
            items = self._items(node["_pr"], connection)
            if connection == "reviews" and states:
                items = [r for r in items if r.state in states]
            if connection == "timelineItems" and itemTypes:
                wanted = {_typename(item_type) for item_type in itemTypes}
                items = [t for t in items if t.typename in wanted]
            return _page(items, _first(first, connection), after, _RENDER[connection])

        return resolve

    def _node(self, pr: FakePullRequest) -> dict[str, Any]:
        """The PR's own fields; its connections are resolved with their arguments."""
        return {**self._render_pr(pr), "_pr": pr}

    def _items(self, pr: FakePullRequest, connection: str) -> list[Any]:
        if connection == "commits":
            return pr.commits
        if connection == "reviews":
            return [r for r in pr.reviews if r.state != "PENDING"]
        return pr.timeline

    def _render_pr(self, pr: FakePullRequest) -> dict[str, Any]:
        return {
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
            "headRepositoryOwner": (
                {"login": pr.fork_owner, "__typename": "User"} if pr.fork_owner else None
            ),
            "mergeCommit": {"oid": pr.merge_oid} if pr.merge_oid else None,
            "author": {"login": pr.author, "__typename": pr.author_typename},
            # graphql-core answers only the fields a query selects (as GitHub does).
            "labels": {"nodes": [{"name": name} for name in pr.labels]},
            "additions": pr.additions,
            "deletions": pr.deletions,
        }

    def _render(self, connection: str) -> Any:
        return _RENDER[connection]


def _first(first: int | None, connection: str) -> int:
    """GitHub's bounds on a page: `first` must be given, and at most 100."""
    if first is None:
        raise GitHubError(
            "MISSING_PAGINATION_BOUNDARIES",
            f"You must provide a `first` or `last` value to properly paginate the "
            f"`{connection}` connection.",
        )
    if first > 100:
        raise GitHubError(
            "EXCESSIVE_PAGINATION",
            f"Requesting {first} records on the `{connection}` connection exceeds the `first` "
            "limit of 100 records.",
        )
    if first < 0:
        raise GitHubError("INVALID", f"`first` on the `{connection}` connection is negative.")
    return first


def _typename(item_type: str) -> str:
    """`READY_FOR_REVIEW_EVENT` (a PullRequestTimelineItemsItemType) is `ReadyForReviewEvent`."""
    return "".join(word.capitalize() for word in item_type.split("_"))


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise GitHubError("INVALID_CURSOR", "bad cursor") from None


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
