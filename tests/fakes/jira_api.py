"""A local fake of the Jira REST API, in Cloud or Data Center flavour, that fails on demand.

Cloud speaks `/rest/api/3` (ADF bodies, token-paged `/search/jql`, basic auth with email and
API token); Data Center speaks `/rest/api/2` (wiki text, startAt/total `/search`, bearer
personal access token). It records every request and can answer 401, 404, 429 with
Retry-After or 5xx, lose a response after doing the work, or hold requests until a test
releases them (for "slow" and "never answers") — no sleeps in tests.

For the history sync it also keeps each issue's changelog and times, evaluates the small
part of JQL the bot sends (AND/OR/NOT, =, !=, >=, <=, IN, ORDER BY), embeds changelogs in
searches as each flavour does (Cloud: the 100 most recent; Data Center: all of them), and
serves `/issue/{key}/changelog`, Cloud's `/changelog/bulkfetch` and `/status`.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

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
    skip: int = 0  # let this many matching requests through first


@dataclass
class FakeIssue:
    id: str
    key: str
    fields: dict[str, Any]
    properties: dict[str, Any] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    remote_links: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    updated: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    changelog: list[dict[str, Any]] = field(default_factory=list)  # oldest first

    @property
    def project(self) -> str:
        return self.key.split("-", 1)[0]


def jira_time(at: datetime) -> str:
    """Jira's timestamp format: 2026-11-18T10:00:00.000+0000."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


DEFAULT_STATUSES: dict[str, tuple[str, str]] = {
    "1": ("To Do", "new"),
    "3": ("In Progress", "indeterminate"),
    "10001": ("In Review", "indeterminate"),
    "10002": ("Done", "done"),
}


class FakeJira:
    def __init__(self, flavour: str = "cloud") -> None:
        self.flavour = flavour
        self.requests: list[Request] = []
        self.issues: dict[str, FakeIssue] = {}
        self.projects: set[str] = {"PAY", "OPS"}
        self.gate: threading.Event | None = None  # when set, every request waits for it
        self.delay = 0.0  # benchmark only: answer after this many seconds
        self.statuses: dict[str, tuple[str, str]] = dict(DEFAULT_STATUSES)
        self.user_tz = "UTC"  # the bot account's zone: JQL dates are read in it
        self.now = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)  # when scripted changes happen
        self.bulkfetch_page = 1000  # changelog entries per bulkfetch answer
        # Changelog entries a search embeds per issue (the newest); None = all of them.
        self.embed_limit: int | None = 100 if flavour == "cloud" else None
        # Search reads an index that lags writes (Atlassian documents /search/jql as eventually
        # consistent): with `search_lags`, issues created through the API stay out of search
        # results until `catch_up()`. Reading an issue by key or id always sees it.
        self.search_lags = False
        self._unindexed: set[str] = set()
        self._failures: list[_Failure] = []
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._ids = itertools.count(10001)
        self._comment_ids = itertools.count(50001)
        self._link_ids = itertools.count(70001)
        self._history_ids = itertools.count(900001)

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
            self.statuses = dict(DEFAULT_STATUSES)
            self.user_tz = "UTC"
            self.now = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
            self.bulkfetch_page = 1000
            self.embed_limit = 100 if self.flavour == "cloud" else None
            self.search_lags = False
            self._unindexed.clear()

    def fail_next(
        self,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        path_contains: str | None = None,
        method: str | None = None,
        after: bool = False,
        skip: int = 0,
    ) -> None:
        with self._lock:
            self._failures.append(
                _Failure(status, times, retry_after, path_contains, method, after, skip)
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
        *,
        issue_type: str = "Story",
        labels: list[str] | None = None,
        created: datetime | None = None,
        assignee: tuple[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> FakeIssue:
        """An issue as it stands now; `assignee` is (account id, display name)."""
        with self._lock:
            at = created or self.now
            issue = FakeIssue(
                str(next(self._ids)),
                key,
                {
                    "summary": summary,
                    "labels": list(labels or []),
                    "description": None,
                    "status": self._status_json(self._status_id(status, category)),
                    "issuetype": {"name": issue_type},
                    "assignee": self._user_json(assignee),
                    **(extra or {}),
                },
                created=at,
                updated=at,
            )
            self.issues[key] = issue
            return issue

    def _status_id(self, name: str, category: str = "indeterminate") -> str:
        for status_id, (known, _cat) in self.statuses.items():
            if known == name:
                return status_id
        status_id = str(20000 + len(self.statuses))
        self.statuses[status_id] = (name, category)
        return status_id

    def _status_json(self, status_id: str) -> dict[str, Any]:
        name, category = self.statuses[status_id]
        return {"id": status_id, "name": name, "statusCategory": {"key": category}}

    def _user_json(self, user: tuple[str, str] | None) -> dict[str, Any] | None:
        if user is None:
            return None
        if self.flavour == "cloud":
            return {"accountId": user[0], "displayName": user[1]}
        return {"name": user[0], "key": user[0], "displayName": user[1]}

    def change(
        self, key: str, items: list[dict[str, Any]], at: datetime | None = None
    ) -> dict[str, Any]:
        """Append one changelog entry (a "history") to the issue and bump `updated`."""
        with self._lock:
            issue = self.issues[key]
            when = at or self.now
            history = {
                "id": str(next(self._history_ids)),
                "author": {"displayName": "Someone"},
                "created": jira_time(when),
                "items": items,
            }
            issue.changelog.append(history)
            issue.updated = max(issue.updated, when)
            return history

    def transition(self, key: str, to: str, at: datetime | None = None) -> dict[str, Any]:
        """Move the issue to status `to` (created on the fly as "indeterminate")."""
        with self._lock:
            issue = self.issues[key]
            before = issue.fields["status"]
            to_id = self._status_id(to)
            history = self.change(
                key,
                [
                    {
                        "field": "status",
                        "fieldtype": "jira",
                        "fieldId": "status",
                        "from": before["id"],
                        "fromString": before["name"],
                        "to": to_id,
                        "toString": to,
                    }
                ],
                at,
            )
            issue.fields["status"] = self._status_json(to_id)
            return history

    def assign(
        self, key: str, user: tuple[str, str] | None, at: datetime | None = None
    ) -> dict[str, Any]:
        with self._lock:
            issue = self.issues[key]
            before = issue.fields.get("assignee") or {}
            before_id = before.get("accountId") or before.get("name")
            history = self.change(
                key,
                [
                    {
                        "field": "assignee",
                        "fieldtype": "jira",
                        "fieldId": "assignee",
                        "from": before_id,
                        "fromString": before.get("displayName"),
                        "to": user[0] if user else None,
                        "toString": user[1] if user else None,
                    }
                ],
                at,
            )
            issue.fields["assignee"] = self._user_json(user)
            return history

    def touch(self, key: str, at: datetime | None = None, **fields: Any) -> None:
        """Edit fields without a status or assignee change (a label, the summary)."""
        with self._lock:
            issue = self.issues[key]
            issue.fields.update(fields)
            issue.updated = max(issue.updated, at or self.now)

    def delete(self, key: str) -> None:
        with self._lock:
            del self.issues[key]

    def move(self, key: str, new_key: str, at: datetime | None = None) -> FakeIssue:
        """Move to another project: same id, new key, a history entry like Jira's."""
        with self._lock:
            issue = self.issues.pop(key)
            issue.key = new_key
            self.issues[new_key] = issue
            self.change(new_key, [{"field": "Key", "fromString": key, "toString": new_key}], at)
            return issue

    def catch_up(self) -> None:
        """The search index catches up with every write."""
        with self._lock:
            self._unindexed.clear()

    def count(self, pattern: str, method: str | None = None) -> int:
        """How many requests matched `pattern` (a regex on the path), failures included."""
        rx = re.compile(pattern)
        with self._lock:
            return sum(1 for r in self.requests if rx.search(r.path) and method in (None, r.method))

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
                if failure.skip > 0:
                    failure.skip -= 1
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
            {"Retry-After": str(failure.retry_after)}
            if failure and failure.retry_after is not None
            else {}
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
                "timeZone": self.user_tz,
            }
        if rest == "status" and method == "GET":
            return 200, [
                {"id": sid, "name": name, "statusCategory": {"key": cat}}
                for sid, (name, cat) in self.statuses.items()
            ]
        try:
            if rest == "search/jql" and method == "GET":
                return self._search_jql(q)
            if rest == "search/jql" and method == "POST":
                return self._search_jql(_query_of(body))
            if rest == "search" and method == "GET":
                return self._search(q)
            if rest == "search" and method == "POST":
                return self._search(_query_of(body))
        except JqlError as exc:
            return 400, {"errorMessages": [f"Error in the JQL Query: {exc}"]}
        if rest == "changelog/bulkfetch" and method == "POST":
            if self.flavour != "cloud":
                return 404, {"errorMessages": ["no such path"]}
            return self._bulkfetch(body or {})
        if rest == "issue" and method == "POST":
            return self._create(body)
        m = re.fullmatch(r"issue/([A-Z0-9_]+-\d+|\d+)(/.*)?", rest)
        if not m:
            return 404, {"errorMessages": ["no such path"]}
        key, sub = m.group(1), m.group(2) or ""
        issue = self.issues.get(key)
        if issue is None and key.isdigit():  # an issue id instead of its key
            issue = next((i for i in self.issues.values() if i.id == key), None)
        if issue is None:
            return 404, {
                "errorMessages": ["Issue does not exist or you do not have permission to see it."]
            }
        if sub == "" and method == "GET":
            answer = self._issue_json(issue, q.get("fields"))
            if q.get("properties"):  # GET issue's `properties`: a comma-separated list or *all
                wanted = q["properties"].split(",")
                answer["properties"] = {
                    k: v for k, v in issue.properties.items() if "*all" in wanted or k in wanted
                }
            return 200, answer
        if sub == "/changelog" and method == "GET":
            start, size = int(q.get("startAt", 0)), min(int(q.get("maxResults", 100)), 100)
            values = issue.changelog[start : start + size]
            return 200, {
                "startAt": start,
                "maxResults": size,
                "total": len(issue.changelog),
                "isLast": start + size >= len(issue.changelog),
                "values": values,
            }
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
            created = m3.group(1) not in issue.properties
            issue.properties[m3.group(1)] = body
            return (201 if created else 200), None
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
        if self.search_lags:
            self._unindexed.add(issue.id)
        return 201, {"id": issue.id, "key": issue.key, "self": f"x/{issue.key}"}

    def _issue_json(
        self, issue: FakeIssue, fields: str | None = None, expand: str = ""
    ) -> dict[str, Any]:
        everything = {
            **issue.fields,
            "project": {"key": issue.project},
            "created": jira_time(issue.created),
            "updated": jira_time(issue.updated),
        }
        wanted = [f for f in (fields or "*all").split(",") if f]
        if "*all" not in wanted and "*navigable" not in wanted:
            everything = {k: v for k, v in everything.items() if k in wanted}
        answer: dict[str, Any] = {"id": issue.id, "key": issue.key, "fields": everything}
        if "changelog" in expand.split(","):
            histories = issue.changelog
            if self.embed_limit is not None:  # Cloud embeds the most recent 100 only
                histories = histories[-self.embed_limit :]
            answer["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(issue.changelog),
                "histories": list(reversed(histories)),  # newest first, as Jira does
            }
        return answer

    def _matching(self, jql: str) -> list[FakeIssue]:
        query = parse_jql(jql, ZoneInfo(self.user_tz))
        found = [i for i in self.issues.values() if i.id not in self._unindexed and query.where(i)]
        for name, descending in reversed(query.order):
            found.sort(key=_SORT_KEYS.get(name, _SORT_KEYS["id"]), reverse=descending)
        return found

    def _search_jql(self, q: dict[str, str]) -> tuple[int, Any]:
        found = self._matching(q.get("jql", ""))
        start = int(q.get("nextPageToken") or 0)
        size = int(q.get("maxResults", 50))
        page = found[start : start + size]
        answer: dict[str, Any] = {
            "issues": [self._issue_json(i, q.get("fields"), q.get("expand", "")) for i in page],
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
            "issues": [
                self._issue_json(i, q.get("fields"), q.get("expand", ""))
                for i in found[start : start + size]
            ],
        }

    def _bulkfetch(self, body: dict[str, Any]) -> tuple[int, Any]:
        """Changelogs of up to 1000 issues, `maxResults` entries a page, filtered by field."""
        wanted = body.get("issueIdsOrKeys") or []
        if not wanted or len(wanted) > 1000:
            return 400, {"errorMessages": ["issueIdsOrKeys must hold 1 to 1000 issues"]}
        field_ids = set(body.get("fieldIds") or [])
        size = min(int(body.get("maxResults") or self.bulkfetch_page), self.bulkfetch_page)
        by_id = {i.id: i for i in self.issues.values()}
        entries: list[tuple[str, dict[str, Any]]] = []
        for ref in wanted:
            issue = by_id.get(str(ref)) or self.issues.get(str(ref))
            if issue is None:
                continue
            for history in issue.changelog:
                items = [
                    it for it in history["items"] if not field_ids or it.get("fieldId") in field_ids
                ]
                if items:
                    entries.append((issue.id, {**history, "items": items}))
        start = int(body.get("nextPageToken") or 0)
        page = entries[start : start + size]
        grouped: list[dict[str, Any]] = []
        for issue_id, history in page:
            if not grouped or grouped[-1]["issueId"] != issue_id:
                grouped.append({"issueId": issue_id, "changeHistories": []})
            grouped[-1]["changeHistories"].append(history)
        answer: dict[str, Any] = {"issueChangeLogs": grouped}
        if start + size < len(entries):
            answer["nextPageToken"] = str(start + size)
        return 200, answer


def _query_of(body: Any) -> dict[str, str]:
    """A POST search body as the GET parameters it stands for."""
    body = body if isinstance(body, dict) else {}
    q = {k: str(v) for k, v in body.items() if k in ("jql", "nextPageToken", "startAt")}
    q["maxResults"] = str(body.get("maxResults", 50))
    fields = body.get("fields")
    if fields is not None:
        q["fields"] = ",".join(fields) if isinstance(fields, list) else str(fields)
    expand = body.get("expand")
    if expand:
        q["expand"] = ",".join(expand) if isinstance(expand, list) else str(expand)
    return q


# --- a small JQL: what the bot sends, evaluated over FakeIssue -----------------------------
class JqlError(ValueError):
    pass


Predicate = Callable[[FakeIssue], bool]


@dataclass
class Jql:
    where: Predicate
    order: list[tuple[str, bool]]  # (field, descending)


def _key_order(issue: FakeIssue) -> tuple[str, int]:
    project, _, number = issue.key.partition("-")
    return project, int(number) if number.isdigit() else 0


_SORT_KEYS: dict[str, Callable[[FakeIssue], Any]] = {
    "id": lambda i: int(i.id),
    "key": _key_order,
    "updated": lambda i: (i.updated, int(i.id)),
    "created": lambda i: (i.created, int(i.id)),
}
_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(>=|<=|!=|=|>|<|\(|\)|,)|([^\s()=<>!,"]+))')


def parse_jql(text: str, zone: ZoneInfo) -> Jql:
    tokens: list[tuple[str, str]] = []  # (kind, value): kind is str · op · word
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise JqlError(f"cannot read {text[pos : pos + 20]!r}")
        pos = m.end()
        if m.group(1) is not None:
            tokens.append(("str", m.group(1).replace('\\"', '"')))
        elif m.group(2) is not None:
            tokens.append(("op", m.group(2)))
        elif m.group(3) is not None:
            tokens.append(("word", m.group(3)))
    parser = _JqlParser(tokens, zone)
    return parser.query()


class _JqlParser:
    def __init__(self, tokens: list[tuple[str, str]], zone: ZoneInfo) -> None:
        self.tokens = tokens
        self.i = 0
        self.zone = zone

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, *choices: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() in choices:
            self.i += 1
            return True
        return False

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise JqlError("the query ends too early")
        self.i += 1
        return tok

    def query(self) -> Jql:
        where: Predicate = lambda _i: True  # noqa: E731
        if self.peek() and not (self.peek() == ("word", "ORDER") or self._at_order()):
            where = self.expr()
        order: list[tuple[str, bool]] = []
        if self.word("ORDER"):
            if not self.word("BY"):
                raise JqlError("ORDER without BY")
            while True:
                name = self.take()[1].lower()
                descending = False
                if self.word("DESC"):
                    descending = True
                else:
                    self.word("ASC")
                order.append((name, descending))
                if self.peek() != ("op", ","):
                    break
                self.i += 1
        if self.peek() is not None:
            raise JqlError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return Jql(where, order or [("id", False)])

    def _at_order(self) -> bool:
        tok = self.peek()
        return bool(tok and tok[0] == "word" and tok[1].upper() == "ORDER")

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.word("OR"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda i: any(p(i) for p in parts))

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.word("AND"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda i: all(p(i) for p in parts))

    def factor(self) -> Predicate:
        if self.word("NOT"):
            inner = self.factor()
            return lambda i: not inner(i)
        if self.peek() == ("op", "("):
            self.i += 1
            inner = self.expr()
            if self.take() != ("op", ")"):
                raise JqlError("a ( is not closed")
            return inner
        return self.clause()

    def clause(self) -> Predicate:
        name = self.take()[1].lower()
        negate = self.word("NOT")
        if self.word("IN"):
            if self.take() != ("op", "("):
                raise JqlError("IN needs a list")
            values: list[str] = []
            while True:
                values.append(self.take()[1])
                sep = self.take()
                if sep == ("op", ")"):
                    break
                if sep != ("op", ","):
                    raise JqlError("bad IN list")
            wanted = {v.lower() for v in values}
            hit = lambda i: bool(wanted & set(_values(i, name)))  # noqa: E731
            return (lambda i: not hit(i)) if negate else hit
        if self.word("IS"):
            empty_negated = self.word("NOT")
            if not self.word("EMPTY"):
                raise JqlError("IS needs EMPTY")
            empty = lambda i: not _values(i, name)  # noqa: E731
            return (lambda i: not empty(i)) if empty_negated else empty
        op = self.take()
        if op[0] != "op" or op[1] not in ("=", "!=", ">=", "<=", ">", "<"):
            raise JqlError(f"expected an operator after {name}")
        value = self.take()[1]
        if name in ("updated", "created"):
            bound = self._date(value)
            compare = {
                "=": lambda a: a == bound,
                "!=": lambda a: a != bound,
                ">=": lambda a: a >= bound,
                "<=": lambda a: a <= bound,
                ">": lambda a: a > bound,
                "<": lambda a: a < bound,
            }[op[1]]
            return lambda i: compare(getattr(i, name))
        if op[1] in ("=", "!="):
            target = value.lower()
            hit = lambda i: target in _values(i, name)  # noqa: E731
            return hit if op[1] == "=" else (lambda i: not hit(i))
        raise JqlError(f"{op[1]} is not supported on {name}")

    def _date(self, value: str) -> datetime:
        for fmt in ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d"):
            try:
                local = datetime.strptime(value, fmt)
            except ValueError:
                continue
            return local.replace(tzinfo=self.zone).astimezone(UTC)
        raise JqlError(f"{value!r} is not a JQL date")


def _values(issue: FakeIssue, name: str) -> list[str]:
    """An issue's values for a JQL field, lower-cased (JQL compares without case)."""
    f = issue.fields
    if name == "project":
        return [issue.project.lower()]
    if name in ("key", "issuekey"):
        return [issue.key.lower()]
    if name == "id":
        return [issue.id]
    if name == "labels":
        return [str(x).lower() for x in f.get("labels") or []]
    if name in ("issuetype", "type"):
        return [str((f.get("issuetype") or {}).get("name", "")).lower()]
    if name == "status":
        return [str((f.get("status") or {}).get("name", "")).lower()]
    if name == "statuscategory":
        return [str(((f.get("status") or {}).get("statusCategory") or {}).get("key", "")).lower()]
    if name == "assignee":
        a = f.get("assignee") or {}
        return [str(v).lower() for v in (a.get("accountId"), a.get("name")) if v]
    value = f.get(name)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v.get("value") if isinstance(v, dict) else v).lower() for v in value]
    if isinstance(value, dict):
        return [str(value.get("value") or value.get("name") or "").lower()]
    return [str(value).lower()]


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
