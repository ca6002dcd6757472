"""The one place that talks to Jira, through the `jira` package's authenticated session.

Cloud (email + API token, REST v3, ADF bodies) or Data Center (personal access token,
REST v2, wiki markup) is chosen by the settings, so starting never waits on Jira. The
client's own retries are off (`max_retries=0`): its ResilientSession would sleep in the
request thread, while the outbox retries with a stored `next_attempt_at` instead.

Every method is one HTTP request (search: one per page) per try, so request counts are exact;
the reads that may be repeated go through one retry loop, `_read`, whose waits go through the
injected `sleep`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from jira import JIRA, JIRAError

from chatbot.jira.document import Doc, to_adf, to_wiki
from chatbot.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraNotFound,
    JiraRejected,
    JiraUnavailable,
)
from chatbot.settings import Settings

log = logging.getLogger(__name__)

CLOUD = "Cloud"
DATA_CENTER = "Data Center"
#: Tries of one repeatable read before it gives up (the history sync resumes from its
#: watermark; a caller of `search` sees JiraUnavailable).
READ_ATTEMPTS = 6
#: The longest back-off between two tries when Jira gives no Retry-After.
MAX_BACKOFF_SECONDS = 60.0
#: The longest wait a Retry-After may impose on one try (a larger one is capped, not obeyed).
MAX_RETRY_AFTER_SECONDS = 300.0


@dataclass(frozen=True)
class JiraConfig:
    url: str
    deployment: str  # CLOUD or DATA_CENTER
    email: str | None = None
    api_token: str | None = None
    pat: str | None = None
    timeout: float = 10.0

    @property
    def api(self) -> str:
        return "3" if self.deployment == CLOUD else "2"


@dataclass
class ServerInfo:
    deployment_type: str
    version: str
    title: str
    base_url: str


@dataclass
class Issue:
    key: str
    id: str
    summary: str = ""
    status: str = ""
    status_category: str = ""
    raw: dict[str, Any] | None = None
    #: Entity properties, when asked for (`get_issue(..., properties=[...])`).
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Comment:
    id: str
    text: str


@dataclass
class SearchPage:
    """One page of a search: raw issues (with their embedded changelog when expanded) and
    where the next page starts (Cloud's nextPageToken, or Data Center's next startAt)."""

    issues: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None = None  # Data Center tells the total; Cloud's /search/jql does not


@dataclass
class ChangelogPage:
    histories: list[dict[str, Any]]
    total: int


class JiraGateway:
    def __init__(self, config: JiraConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._sleep = sleep
        self._local = threading.local()
        #: Requests sent by this gateway (method, path), for the benchmark's counts.
        self.requests_sent = 0
        self._count_lock = threading.Lock()
        self.read_attempts = READ_ATTEMPTS

    @property
    def url(self) -> str:
        return self.config.url.rstrip("/")

    @property
    def is_cloud(self) -> bool:
        return self.config.deployment == CLOUD

    def _client(self) -> JIRA:
        """One client per thread: a requests Session is not meant to be shared across threads."""
        client = getattr(self._local, "client", None)
        if client is None:
            c = self.config
            auth: dict[str, Any] = (
                {"token_auth": c.pat} if c.pat else {"basic_auth": (c.email, c.api_token)}
            )
            client = JIRA(
                server=self.url,
                options={"rest_api_version": c.api},
                get_server_info=False,
                max_retries=0,
                timeout=c.timeout,
                logging=False,
                **auth,
            )
            self._local.client = client
        return client

    def _request(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        client = self._client()
        url = f"{self.url}/rest/api/{path}"
        kwargs: dict[str, Any] = {"params": params}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        with self._count_lock:
            self.requests_sent += 1
        try:
            response = client._session.request(method, url, **kwargs)
        except JIRAError as exc:
            raise _classify(exc, method, path) from None
        except requests.Timeout:
            raise JiraUnavailable(
                f"Jira did not answer {method} {path} within {self.config.timeout:g}s"
            ) from None
        except requests.RequestException as exc:
            raise JiraUnavailable(f"Jira is unreachable ({type(exc).__name__})") from None
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise JiraUnavailable(f"Jira answered {method} {path} with non-JSON") from None

    # --- reading -------------------------------------------------------------------------
    def server_info(self) -> ServerInfo:
        """GET serverInfo (the client's public call; anonymous-safe, so `myself` checks auth)."""
        client = self._client()
        self.requests_sent += 1
        try:
            info = client.server_info()
        except JIRAError as exc:
            raise _classify(exc, "GET", "serverInfo") from None
        except requests.Timeout:
            raise JiraUnavailable("Jira did not answer serverInfo in time") from None
        except requests.RequestException as exc:
            raise JiraUnavailable(f"Jira is unreachable ({type(exc).__name__})") from None
        return ServerInfo(
            info.get("deploymentType", "Server"),
            info.get("version", "?"),
            info.get("serverTitle", ""),
            info.get("baseUrl", ""),
        )

    def myself(self) -> dict[str, Any]:
        return self._request("GET", f"{self.config.api}/myself") or {}

    def get_issue(
        self, key: str, fields: str = "summary,status", properties: list[str] | None = None
    ) -> Issue:
        """One issue by key or id, read from Jira's database (not the search index), so it
        is there as soon as its create returned; `properties`: entity properties to include."""
        params = {"fields": fields}
        if properties:
            params["properties"] = ",".join(properties)
        raw = self._request("GET", f"{self.config.api}/issue/{quote(key)}", params=params)
        return _issue(raw)

    def highest_key_number(self, project: str) -> int:
        """The number of the project's highest key that search knows (0 for none). Search lags
        writes, so Jira may have handed out higher numbers; never lower ones. One request."""
        newest = self.search(
            f"project = {project} ORDER BY key DESC", ["summary"], 1, wait_on_429=False
        )
        found = next(iter(newest), None)
        if found is None:
            return 0
        number = str(found.get("key", "")).rpartition("-")[2]
        return int(number) if number.isdigit() else 0

    def search(
        self,
        jql: str,
        fields: list[str] | None = None,
        page_size: int = 100,
        wait_on_429: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every issue matching `jql`, page by page, each page read with `_read` (waiting out
        429s, 5xx and silence). `wait_on_429=False`: one try per page, for a caller that keeps
        its own clock (the outbox).

        Cloud: token-paged `/rest/api/3/search/jql`. Data Center: `/rest/api/2/search`
        with startAt/total.
        """
        attempts = self.read_attempts if wait_on_429 else 1
        field_list = ",".join(fields or ["summary", "status", "updated"])
        if self.is_cloud:
            token: str | None = None
            while True:
                params: dict[str, Any] = {"jql": jql, "maxResults": page_size, "fields": field_list}
                if token:
                    params["nextPageToken"] = token
                page = self._read("GET", "3/search/jql", params, attempts=attempts) or {}
                yield from page.get("issues", [])
                token = page.get("nextPageToken")
                if page.get("isLast", token is None) or not token:
                    return
        start = 0
        while True:
            params = {"jql": jql, "startAt": start, "maxResults": page_size, "fields": field_list}
            page = self._read("GET", "2/search", params, attempts=attempts) or {}
            issues = page.get("issues", [])
            yield from issues
            start += len(issues)
            if not issues or start >= int(page.get("total", 0)):
                return

    # --- the one retry loop: every repeatable read goes through it ---------------------------
    def _read(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        attempts: int | None = None,
    ) -> Any:
        """A read that can be repeated: on 429, 5xx or no answer, wait as long as Jira asks
        (Retry-After, 0 included) or back off 1, 2, 4 … s, up to `attempts` tries in all
        (default `read_attempts`), then raise the last JiraUnavailable."""
        tries = max(1, attempts if attempts is not None else self.read_attempts)
        for attempt in range(1, tries + 1):
            try:
                return self._request(method, path, body, params)
            except JiraUnavailable as exc:
                if attempt == tries:
                    raise
                delay = backoff_seconds(attempt, exc.retry_after)
                log.info("Jira answered %s on %s; trying again in %ss", exc.status, path, delay)
                self._sleep(delay)
        raise AssertionError("unreachable: the last try returns or raises")

    def search_page(
        self,
        jql: str,
        fields: list[str],
        cursor: str | None = None,
        page_size: int = 100,
        expand_changelog: bool = True,
    ) -> SearchPage:
        """One page of `jql` (POSTed: a team's JQL can be long). Cloud: `/rest/api/3/search/jql`
        with nextPageToken; Data Center: `/rest/api/2/search` with startAt."""
        if self.is_cloud:
            body: dict[str, Any] = {"jql": jql, "maxResults": page_size, "fields": fields}
            if expand_changelog:
                body["expand"] = "changelog"
            if cursor:
                body["nextPageToken"] = cursor
            page = self._read("POST", "3/search/jql", body=body) or {}
            token = page.get("nextPageToken")
            last = page.get("isLast", token is None) or not token
            return SearchPage(list(page.get("issues") or []), None if last else str(token))
        start = int(cursor or 0)
        body = {"jql": jql, "startAt": start, "maxResults": page_size, "fields": fields}
        if expand_changelog:
            body["expand"] = ["changelog"]
        page = self._read("POST", "2/search", body=body) or {}
        issues = list(page.get("issues") or [])
        total = int(page.get("total") or 0)
        after = start + len(issues)
        return SearchPage(issues, str(after) if issues and after < total else None, total)

    def changelog_page(self, key: str, start: int, page_size: int = 100) -> ChangelogPage:
        """`/issue/{key}/changelog`, oldest first, from `start`."""
        page = (
            self._read(
                "GET",
                f"{self.config.api}/issue/{quote(key)}/changelog",
                params={"startAt": start, "maxResults": page_size},
            )
            or {}
        )
        return ChangelogPage(list(page.get("values") or []), int(page.get("total") or 0))

    def bulk_changelogs(
        self, issue_ids: list[str], field_ids: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """Cloud's `POST /rest/api/3/changelog/bulkfetch`: the changelogs of up to 1000
        issues, filtered to `field_ids`, every page followed; issue id → histories."""
        found: dict[str, list[dict[str, Any]]] = {i: [] for i in issue_ids}
        token: str | None = None
        while True:
            body: dict[str, Any] = {"issueIdsOrKeys": issue_ids, "fieldIds": field_ids}
            if token:
                body["nextPageToken"] = token
            page = self._read("POST", "3/changelog/bulkfetch", body=body) or {}
            for log_ in page.get("issueChangeLogs") or []:
                found.setdefault(str(log_.get("issueId")), []).extend(
                    log_.get("changeHistories") or []
                )
            token = page.get("nextPageToken")
            if not token:
                return found

    def statuses(self) -> list[dict[str, Any]]:
        """The status catalogue with each status's category."""
        return list(self._read("GET", f"{self.config.api}/status") or [])

    def time_zone(self) -> str:
        """The bot account's zone: Jira reads the dates in a JQL query in it."""
        me = self._read("GET", f"{self.config.api}/myself") or {}
        return str(me.get("timeZone") or "UTC")

    def comments(self, key: str, page_size: int = 100) -> Iterator[Comment]:
        start = 0
        while True:
            page = (
                self._request(
                    "GET",
                    f"{self.config.api}/issue/{quote(key)}/comment",
                    params={"startAt": start, "maxResults": page_size},
                )
                or {}
            )
            items = page.get("comments", [])
            for item in items:
                yield Comment(str(item["id"]), _plain(item.get("body")))
            start += len(items)
            if not items or start >= int(page.get("total", 0)):
                return

    # --- writing -------------------------------------------------------------------------
    def body(self, doc: Doc) -> Any:
        return to_adf(doc) if self.is_cloud else to_wiki(doc)

    def create_issue(
        self,
        project: str,
        issue_type: str,
        summary: str,
        description: Doc,
        labels: list[str],
        properties: dict[str, Any],
    ) -> Issue:
        payload = {
            "fields": {
                "project": {"key": project},
                "issuetype": {"name": issue_type},
                "summary": summary[:255],
                "description": self.body(description),
                "labels": labels,
            },
            "properties": [{"key": k, "value": v} for k, v in properties.items()],
        }
        raw = self._request("POST", f"{self.config.api}/issue", payload) or {}
        if "key" not in raw:
            raise JiraUnavailable("Jira answered the create without a key")
        return Issue(key=raw["key"], id=str(raw.get("id", "")))

    def add_comment(self, key: str, doc: Doc) -> str:
        raw = (
            self._request(
                "POST", f"{self.config.api}/issue/{quote(key)}/comment", {"body": self.body(doc)}
            )
            or {}
        )
        return str(raw.get("id", ""))

    def update_comment(self, key: str, comment_id: str, doc: Doc) -> None:
        self._request(
            "PUT",
            f"{self.config.api}/issue/{quote(key)}/comment/{comment_id}",
            {"body": self.body(doc)},
        )

    def upsert_remote_link(
        self, key: str, global_id: str, url: str, title: str, summary: str = ""
    ) -> None:
        """POST remotelink with a globalId: Jira updates the link with that id if it exists."""
        self._request(
            "POST",
            f"{self.config.api}/issue/{quote(key)}/remotelink",
            {
                "globalId": global_id,
                "application": {"type": "com.slack", "name": "Slack"},
                "relationship": "Slack thread",
                "object": {
                    "url": url,
                    "title": title[:255],
                    "summary": summary[:255],
                    "icon": {"url16x16": "https://slack.com/favicon.ico", "title": "Slack"},
                },
            },
        )


def _issue(raw: dict[str, Any] | None) -> Issue:
    raw = raw or {}
    fields = raw.get("fields") or {}
    status = fields.get("status") or {}
    return Issue(
        key=raw.get("key", ""),
        id=str(raw.get("id", "")),
        summary=fields.get("summary") or "",
        status=status.get("name", ""),
        status_category=(status.get("statusCategory") or {}).get("key", ""),
        raw=raw,
        properties=dict(raw.get("properties") or {}),
    )


def _plain(body: Any) -> str:
    """Comment text from either wiki markup (a string) or ADF (a tree of text nodes)."""
    if isinstance(body, str):
        return body
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                parts.append(node.get("text", ""))
            for child in node.get("content", []) or []:
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(body)
    return "\n".join(parts)


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """How long to wait after failed try number `attempt` (1-based): what Jira asked, capped,
    else 1, 2, 4 … s up to MAX_BACKOFF_SECONDS."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_RETRY_AFTER_SECONDS)
    return min(2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS)


def _retry_after(exc: JIRAError) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _classify(exc: JIRAError, method: str, path: str) -> JiraError:
    status = exc.status_code
    text = (exc.text or "").strip()[:300]
    where = f"{method} {path}"
    if status in (401, 403):
        return JiraAuthError(f"Jira refused the credentials ({status}) on {where}", status)
    if status == 404:
        return JiraNotFound(f"Jira has no {path.split('/')[-1] or 'such item'} ({where})", status)
    if status == 429 or status is None or status >= 500:
        return JiraUnavailable(f"Jira answered {status} on {where}", status, _retry_after(exc))
    return JiraRejected(f"Jira refused {where} ({status}): {text}", status)


def config_from_settings(settings: Settings) -> JiraConfig:
    if not settings.jira_url:
        raise ValueError("JIRA_URL is not set")
    if settings.jira_pat:
        return JiraConfig(
            url=settings.jira_url,
            deployment=DATA_CENTER,
            pat=settings.jira_pat.get_secret_value(),
            timeout=settings.jira_timeout_seconds,
        )
    token = settings.jira_api_token.get_secret_value() if settings.jira_api_token else None
    return JiraConfig(
        url=settings.jira_url,
        deployment=CLOUD,
        email=settings.jira_email,
        api_token=token,
        timeout=settings.jira_timeout_seconds,
    )


def gateway_from_settings(
    settings: Settings, sleep: Callable[[float], None] = time.sleep
) -> JiraGateway:
    """Cloud when JIRA_EMAIL + JIRA_API_TOKEN are set, Data Center when JIRA_PAT is; `sleep`
    is how the retry loop waits (tests pass one that records instead)."""
    return JiraGateway(config_from_settings(settings), sleep)
