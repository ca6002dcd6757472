"""A local fake of the Jira REST API, in Cloud or Data Center flavour, that fails on demand.

Cloud speaks `/rest/api/3` (ADF bodies, token-paged `/search/jql`, basic auth with email and
API token); Data Center speaks `/rest/api/2` (wiki text, startAt/total `/search`, bearer
personal access token). It records every request and can answer 401, 404, 429 with
Retry-After or 5xx, lose a response after doing the work, or hold requests until a test
releases them (for "slow" and "never answers") — no sleeps in tests.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

CLOUD_EMAIL = "bot@example.com"
CLOUD_TOKEN = "cloud-api-token"
DC_PAT = "dc-personal-access-token"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    auth: str


@dataclass
class _Failure:
    status: int
    times: int
    retry_after: int | None = None
    path_contains: str | None = None
    method: str | None = None
    after: bool = False  # do the work first, then fail (the answer is "lost")


@dataclass
class FakeIssue:
    id: str
    key: str
    fields: dict[str, Any]
    properties: dict[str, Any] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    remote_links: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeJira:
    def __init__(self, flavour: str = "cloud") -> None:
        self.flavour = flavour
        self.requests: list[Request] = []
        self.issues: dict[str, FakeIssue] = {}
        self.projects: set[str] = {"PAY", "OPS"}
        self.gate: threading.Event | None = None  # when set, every request waits for it
        self.delay = 0.0  # benchmark only: answer after this many seconds
        self._failures: list[_Failure] = []
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._ids = itertools.count(10001)
        self._comment_ids = itertools.count(50001)
        self._link_ids = itertools.count(70001)

    # --- scripting -----------------------------------------------------------------------
    @property
    def api(self) -> str:
        return "3" if self.flavour == "cloud" else "2"

    def reset(self, flavour: str | None = None) -> None:
        with self._lock:
            self.flavour = flavour or self.flavour
            self.requests.clear()
            self.issues.clear()
            self._failures.clear()
            self.gate = None
            self.delay = 0.0

    def fail_next(
        self,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        path_contains: str | None = None,
        method: str | None = None,
        after: bool = False,
    ) -> None:
        with self._lock:
            self._failures.append(
                _Failure(status, times, retry_after, path_contains, method, after)
            )

    def hold(self) -> threading.Event:
        """Every request waits until the returned event is set (a Jira that hangs)."""
        self.gate = threading.Event()
        return self.gate

    def add_issue(
        self,
        key: str,
        summary: str = "An existing ticket",
        status: str = "To Do",
        category: str = "new",
    ) -> FakeIssue:
        with self._lock:
            issue = FakeIssue(
                str(next(self._ids)),
                key,
                {
                    "summary": summary,
                    "labels": [],
                    "description": None,
                    "status": {"name": status, "statusCategory": {"key": category}},
                },
            )
            self.issues[key] = issue
            return issue

    def of(self, method: str, pattern: str) -> list[Request]:
        rx = re.compile(pattern)
        with self._lock:
            return [r for r in self.requests if r.method == method and rx.search(r.path)]

    def wait_for(self, method: str, pattern: str, count: int = 1, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.of(method, pattern)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} {method} {pattern}; saw "
                        f"{[(r.method, r.path) for r in self.requests]}"
                    )
                self._cond.wait(left)

    # --- answering -----------------------------------------------------------------------
    def _authorized(self, auth: str) -> bool:
        if self.flavour == "cloud":
            expected = base64.b64encode(f"{CLOUD_EMAIL}:{CLOUD_TOKEN}".encode()).decode()
            return auth == f"Basic {expected}"
        return auth == f"Bearer {DC_PAT}"

    def _failure_for(self, method: str, path: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.path_contains and failure.path_contains not in path:
                    continue
                if failure.method and failure.method != method:
                    continue
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any, auth: str
    ) -> tuple[int, Any, dict[str, str]]:
        with self._cond:
            self.requests.append(Request(method, path, query, body, auth))
            self._cond.notify_all()
        if self.gate is not None:
            self.gate.wait()
        if self.delay:
            time.sleep(self.delay)
        failure = self._failure_for(method, path)
        headers = (
            {"Retry-After": str(failure.retry_after)} if failure and failure.retry_after else {}
        )
        if failure and not failure.after:
            return failure.status, {"errorMessages": [f"scripted {failure.status}"]}, headers
        if not self._authorized(auth):
            return 401, {"errorMessages": ["You are not authenticated."]}, {}
        with self._lock:
            status, answer = self._route(method, path, query, body)
        if failure:
            return failure.status, {"errorMessages": ["lost answer"]}, headers
        return status, answer, {}

    def _route(self, method: str, path: str, q: dict[str, str], body: Any) -> tuple[int, Any]:
        if path in ("/rest/api/2/serverInfo", f"/rest/api/{self.api}/serverInfo"):
            cloud = self.flavour == "cloud"
            return 200, {
                "baseUrl": "http://jira.test",
                "version": "1001.0.0" if cloud else "9.12.0",
                "deploymentType": "Cloud" if cloud else "Server",
                "serverTitle": "Fake Jira",
                "versionNumbers": [9, 12, 0],
            }
        m = re.fullmatch(r"/rest/api/(\d)/(.*)", path)
        if not m:
            return 404, {"errorMessages": ["no such path"]}
        version, rest = m.groups()
        if self.flavour == "dc" and version == "3":
            return 404, {"errorMessages": ["REST v3 does not exist on Data Center"]}
        if self.flavour == "cloud" and rest == "search":
            return 410, {"errorMessages": ["/rest/api/2/search was removed; use /search/jql"]}
        if rest == "myself":
            return 200, {
                "displayName": "Throughline Bot",
                "emailAddress": CLOUD_EMAIL,
                "name": "throughline",
            }
        if rest == "search/jql" and method == "GET":
            return self._search_jql(q)
        if rest == "search" and method == "GET":
            return self._search(q)
        if rest == "issue" and method == "POST":
            return self._create(body)
        m = re.fullmatch(r"issue/([A-Z0-9_]+-\d+)(/.*)?", rest)
        if not m:
            return 404, {"errorMessages": ["no such path"]}
        key, sub = m.group(1), m.group(2) or ""
        issue = self.issues.get(key)
        if issue is None:
            return 404, {
                "errorMessages": ["Issue does not exist or you do not have permission to see it."]
            }
        if sub == "" and method == "GET":
            return 200, self._issue_json(issue)
        if sub == "/comment" and method == "POST":
            problem = self._body_problem(body.get("body"))
            if problem:
                return 400, {"errors": {"comment": problem}}
            comment = {"id": str(next(self._comment_ids)), "body": body["body"]}
            issue.comments.append(comment)
            return 201, comment
        if sub == "/comment" and method == "GET":
            start, size = int(q.get("startAt", 0)), int(q.get("maxResults", 50))
            page = issue.comments[start : start + size]
            return 200, {
                "startAt": start,
                "maxResults": size,
                "total": len(issue.comments),
                "comments": page,
            }
        m2 = re.fullmatch(r"/comment/(\d+)", sub)
        if m2 and method == "PUT":
            comment = next((c for c in issue.comments if c["id"] == m2.group(1)), None)
            if comment is None:
                return 404, {"errorMessages": ["no such comment"]}
            problem = self._body_problem(body.get("body"))
            if problem:
                return 400, {"errors": {"comment": problem}}
            comment["body"] = body["body"]
            return 200, comment
        if sub == "/remotelink" and method == "POST":
            gid = body.get("globalId")
            existing = issue.remote_links.get(gid) if gid else None
            if existing is not None:  # Jira updates the link that has this globalId
                existing.update(body)
                return 200, {"id": existing["id"], "self": "x"}
            link = {**body, "id": next(self._link_ids)}
            issue.remote_links[gid or str(link["id"])] = link
            return 201, {"id": link["id"], "self": "x"}
        if sub == "/remotelink" and method == "GET":
            return 200, list(issue.remote_links.values())
        m3 = re.fullmatch(r"/properties/([\w.-]+)", sub)
        if m3 and method == "PUT":
            issue.properties[m3.group(1)] = body
            return 200, None
        if m3 and method == "GET":
            if m3.group(1) not in issue.properties:
                return 404, {"errorMessages": ["no property"]}
            return 200, {"key": m3.group(1), "value": issue.properties[m3.group(1)]}
        return 404, {"errorMessages": ["no such path"]}

    def _body_problem(self, text: Any) -> str | None:
        if self.flavour == "cloud" and not (isinstance(text, dict) and text.get("type") == "doc"):
            return "Operation value must be an Atlassian Document (REST v3)."
        if self.flavour == "dc" and not isinstance(text, str):
            return "Operation value must be a string (wiki markup)."
        return None

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        fields = body.get("fields") or {}
        project = (fields.get("project") or {}).get("key")
        if project not in self.projects:
            return 400, {"errors": {"project": "valid project is required"}}
        if not fields.get("summary"):
            return 400, {"errors": {"summary": "You must specify a summary of the issue."}}
        problem = self._body_problem(fields.get("description"))
        if problem:
            return 400, {"errors": {"description": problem}}
        number = 1 + sum(1 for k in self.issues if k.startswith(project + "-"))
        issue = self.add_issue(f"{project}-{number}", fields["summary"])
        issue.fields.update(
            description=fields.get("description"),
            labels=list(fields.get("labels") or []),
            issuetype=fields.get("issuetype"),
        )
        for prop in body.get("properties") or []:
            issue.properties[prop["key"]] = prop["value"]
        return 201, {"id": issue.id, "key": issue.key, "self": f"x/{issue.key}"}

    def _issue_json(self, issue: FakeIssue, fields: str | None = None) -> dict[str, Any]:
        return {"id": issue.id, "key": issue.key, "fields": dict(issue.fields)}

    def _matching(self, jql: str) -> list[FakeIssue]:
        m = re.fullmatch(r'labels\s*=\s*"([^"]+)"', jql.strip())
        found = sorted(self.issues.values(), key=lambda i: int(i.id))
        if m:
            found = [i for i in found if m.group(1) in i.fields.get("labels", [])]
        return found

    def _search_jql(self, q: dict[str, str]) -> tuple[int, Any]:
        found = self._matching(q.get("jql", ""))
        start = int(q.get("nextPageToken") or 0)
        size = int(q.get("maxResults", 50))
        page = found[start : start + size]
        answer: dict[str, Any] = {
            "issues": [self._issue_json(i) for i in page],
            "isLast": start + size >= len(found),
        }
        if not answer["isLast"]:
            answer["nextPageToken"] = str(start + size)
        return 200, answer

    def _search(self, q: dict[str, str]) -> tuple[int, Any]:
        found = self._matching(q.get("jql", ""))
        start, size = int(q.get("startAt", 0)), int(q.get("maxResults", 50))
        return 200, {
            "startAt": start,
            "maxResults": size,
            "total": len(found),
            "issues": [self._issue_json(i) for i in found[start : start + size]],
        }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeJira
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, answer, headers = self.fake.handle(
            self.command, url.path, query, body, self.headers.get("Authorization", "")
        )
        data = b"" if answer is None else json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (a timeout test): nothing to answer

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class FakeJiraServer:
    """Runs FakeJira on 127.0.0.1 on a free port; `url` goes into JIRA_URL."""

    def __init__(self, flavour: str = "cloud") -> None:
        self.fake = FakeJira(flavour)
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeJiraServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fake.gate is not None:
            self.fake.gate.set()
        self._server.shutdown()
        self._server.server_close()


if __name__ == "__main__":  # a standalone fake for benchmarks: prints its URL, then serves
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--flavour", default="cloud")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--issues", type=int, default=0, help="pre-create OPS-1..N")
    cli = parser.parse_args()
    with FakeJiraServer(cli.flavour) as server:
        for n in range(1, cli.issues + 1):
            server.fake.add_issue(f"OPS-{n}")
        server.fake.delay = cli.delay
        print(server.url, flush=True)
        sys.stdin.read()
