"""Requests a database outage drill sends: signed `/intent` commands, the three webhooks and
`/healthz`, each timed, and a PostgreSQL URL routed through a `TcpProxy`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url

from tests.fakes.github_events import encode, ping_event, signed_headers

GITHUB_SECRET = "drill-github-secret"
DEPLOY_TOKEN = "drill-deploy-token"
JIRA_SECRET = "drill-jira-secret"

# What each webhook sender allows before it gives up and retries (GitHub: 10 s).
WEBHOOK_LIMIT = 10.0
# Slack's limit for an acknowledgement.
ACK_LIMIT = 3.0
HEALTHZ_LIMIT = 2.0


@dataclass(frozen=True)
class Timed:
    status: int
    body: dict[str, Any]
    seconds: float


def through_proxy(url: str, port: int) -> str:
    """`url` with its host and port replaced by the proxy's (the query, e.g. the schema, kept)."""
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def request(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> Timed:
    sent = urllib.request.Request(url, data=data, headers=headers or {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(sent, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {"raw": raw.decode("utf-8", "replace")}
    return Timed(
        status, body if isinstance(body, dict) else {"value": body}, time.perf_counter() - started
    )


def healthz(base: str) -> Timed:
    return request(base + "/healthz")


def github_ping(base: str, repo: str = "acme/payments") -> Timed:
    body = encode(ping_event(repo))
    headers = signed_headers("ping", body, GITHUB_SECRET)
    headers["Content-Type"] = "application/json"
    return request(base + "/webhooks/github", body, headers)


def deploy(base: str, deployment_id: str) -> Timed:
    body = json.dumps(
        {
            "id": deployment_id,
            "service": "payments-api",
            "environment": "production",
            "deployed_at": "2026-11-18T10:00:00Z",
            "status": "success",
        }
    ).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {DEPLOY_TOKEN}"}
    return request(base + "/webhooks/deploy", body, headers)


def jira_status_change(base: str, key: str) -> Timed:
    body = json.dumps(
        {
            "webhookEvent": "jira:issue_updated",
            "issue": {
                "key": key,
                "fields": {"status": {"name": "Done", "statusCategory": {"key": "done"}}},
            },
            "changelog": {"id": "10001", "items": [{"field": "status", "toString": "Done"}]},
        }
    ).encode()
    headers = {"Content-Type": "application/json", "X-Throughline-Secret": JIRA_SECRET}
    return request(base + "/webhooks/jira", body, headers)


def webhooks(base: str, n: int) -> dict[str, Timed]:
    """One delivery to each webhook, with ids of their own (`n`)."""
    return {
        "github": github_ping(base),
        "deploy": deploy(base, f"drill-{n}"),
        "jira": jira_status_change(base, f"PAY-{n}"),
    }
