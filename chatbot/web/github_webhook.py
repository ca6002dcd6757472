"""POST /webhooks/github: pull requests, reviews, pushes and deployment statuses.

The `X-Hub-Signature-256` HMAC of the raw body is checked (constant time) against
GITHUB_WEBHOOK_SECRET before the body is parsed. One delivery is one transaction: its
`X-GitHub-Delivery` id is claimed together with the writes, so a redelivery is stored once.
Events of repositories no team lists are answered 202 and dropped, except deployment
statuses: a deployment of no team is kept so `chatbot team doctor` can report it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from chatbot.crashpoints import crash_point
from chatbot.db.dedupe import claim_delivery
from chatbot.deploys.service import DeploymentError, record_deployment
from chatbot.github import ingest, payloads
from chatbot.github.payloads import PayloadError
from chatbot.services import Services
from chatbot.web.routes import Router, WebRequest, WebResponse

log = logging.getLogger(__name__)

GITHUB_MAX_BODY = 25 * 1024 * 1024
EVENTS = ("ping", "pull_request", "pull_request_review", "push", "deployment_status")
# How often one process refreshes a repository's "last delivery" row: often enough for a
# 7-day health check, rarely enough that concurrent deliveries never queue on that row.
DELIVERY_TOUCH_EVERY = timedelta(minutes=1)
TEAM_REPOS_REMEMBERED = 60.0  # seconds


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    if not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.encode(), expected.encode())


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]


class GitHubWebhook:
    """Turns one verified delivery into stored facts; no HTTP here beyond the outcome."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._touched: dict[str, datetime] = {}
        self._known: dict[str, float] = {}
        self._lock = threading.Lock()

    def handle(self, event: str, delivery: str, payload: Any) -> Outcome:
        if not isinstance(payload, dict):
            return Outcome(400, {"ok": False, "error": "body must be a JSON object"})
        if event not in EVENTS:
            return Outcome(202, {"ok": True, "ignored": f"event {event or '(none)'}"})
        try:
            return self._dispatch(event, delivery, payload)
        except PayloadError as exc:
            return Outcome(400, {"ok": False, "error": str(exc)})

    def _dispatch(self, event: str, delivery: str, payload: dict[str, Any]) -> Outcome:
        now = self.services.clock.now()
        if event == "ping":
            return self._ping(payload, now)
        if event == "deployment_status":
            repo = payloads.repo_name(payload)
            return self._deployment(payloads.deployment_status(payload, repo), delivery, now)
        envelope = payloads.envelope(payload)
        repo, action = envelope.repo, envelope.action
        if event == "pull_request":
            if action not in payloads.PR_ACTIONS:
                return Outcome(202, {"ok": True, "ignored": f"pull_request {action}"})
            pr = payloads.pull_request_snapshot(payload, repo)
            timeline = payloads.pull_request_timeline(action, pr)

            def write(conn: Any) -> None:
                ingest.upsert_pull_request(
                    conn,
                    pr,
                    opened_as_draft=pr.draft if action == "opened" else None,
                    keys_changed=action in ("opened", "edited", "reopened"),
                    at_merge=action == "closed" and pr.merged_at is not None,
                )
                ingest.add_timeline(conn, repo, pr.number, timeline)

        elif event == "pull_request_review":
            if action not in payloads.REVIEW_ACTIONS:
                return Outcome(202, {"ok": True, "ignored": f"pull_request_review {action}"})
            review = payloads.review(payload, repo, action, now)

            def write(conn: Any) -> None:
                ingest.upsert_reviews(conn, [review])

        else:
            push = payloads.push(payload, repo)

            def write(conn: Any) -> None:
                ingest.upsert_commits(conn, repo, push.commits, push.branch)

        if not self._is_team_repo(repo):
            return _no_team(repo)
        with self.services.db.engine.begin() as conn:
            if delivery and not claim_delivery(conn, f"github:{delivery}", now):
                return Outcome(200, {"ok": True, "duplicate": True})
            crash_point("github_webhook.claimed")
            write(conn)
            self._touch(conn, repo, event, now)
        return Outcome(200, {"ok": True})

    def _ping(self, payload: dict[str, Any], now: datetime) -> Outcome:
        repository = payload.get("repository")
        if not isinstance(repository, dict):
            return Outcome(200, {"ok": True, "zen": payload.get("zen")})
        repo = payloads.repo_name(payload)
        with self.services.db.engine.begin() as conn:
            known = repo in ingest.team_repos(conn)
            if known:
                ingest.touch_repo(conn, repo, "ping", now)
        body: dict[str, Any] = {"ok": True, "repo": repo, "team_repo": known}
        if not known:
            body["note"] = (
                f"{repo} is in no team's repos, so its events are dropped; add it to the "
                "team's list: `chatbot team set TEAM --repos owner/a,owner/b` (the whole list)"
            )
        return Outcome(200, body)

    def _deployment(
        self, status: payloads.DeploymentStatusEvent, delivery: str, now: datetime
    ) -> Outcome:
        # Stored whatever the repository: a deployment of no team is kept for `team doctor`.
        # Recording is idempotent by the deployment's id, so a redelivery adds nothing and
        # needs no claim of its own.
        try:
            recorded = record_deployment(
                self.services.db,
                self.services.clock,
                source="github",
                external_id=status.deployment_id,
                environment=status.environment,
                status=status.state,
                at=status.at,
                repo=status.repo,
                commits=[status.sha] if status.sha else [],
            )
        except DeploymentError as exc:
            return Outcome(400, {"ok": False, "error": str(exc)})
        body: dict[str, Any] = {"ok": True, "deployment": recorded.external_id}
        if self._is_team_repo(status.repo):
            if self._due(status.repo, now):
                with self.services.db.engine.begin() as conn:
                    ingest.touch_repo(conn, status.repo, "deployment_status", now)
        else:
            body["team_repo"] = False
        return Outcome(200, body)

    def _is_team_repo(self, repo: str) -> bool:
        """Whether a team lists the repository. A yes is remembered for a minute (teams
        rarely drop a repo, and storing a minute more of its events is harmless); a no is
        always asked again, so a repo just added to a team is never dropped."""
        now = time.monotonic()
        with self._lock:
            if self._known.get(repo, 0.0) > now:
                return True
        with self.services.db.engine.connect() as fresh:
            repos = ingest.team_repos(fresh)
        with self._lock:
            for name in repos:
                self._known[name] = now + TEAM_REPOS_REMEMBERED
        return repo in repos

    def _due(self, repo: str, now: datetime) -> bool:
        with self._lock:
            last = self._touched.get(repo)
            if last is not None and now - last < DELIVERY_TOUCH_EVERY:
                return False
            self._touched[repo] = now
            return True

    def _touch(self, conn: Any, repo: str, event: str, now: datetime) -> None:
        if self._due(repo, now):
            ingest.touch_repo(conn, repo, event, now)


def _no_team(repo: str) -> Outcome:
    return Outcome(202, {"ok": True, "ignored": f"{repo} is in no team's repos"})


def _json_text(request: WebRequest) -> bytes | str:
    """The JSON document: the body, or its `payload` field when the webhook was set to
    the form content type."""
    if request.header("content-type").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(request.body.decode("utf-8", errors="replace"))
        return (form.get("payload") or [""])[0]
    return request.body


def register_routes(router: Router, services: Services) -> None:
    hook = GitHubWebhook(services)

    def handle(request: WebRequest) -> WebResponse:
        secret = services.settings.github_webhook_secret
        if secret is None or not secret.get_secret_value():
            return WebResponse.json(
                503, {"ok": False, "error": "GITHUB_WEBHOOK_SECRET is not set on the server"}
            )
        if not signature_ok(
            secret.get_secret_value(), request.body, request.header("x-hub-signature-256")
        ):
            return WebResponse.json(401, {"ok": False, "error": "bad or missing signature"})
        try:
            payload = json.loads(_json_text(request))
        except ValueError:
            return WebResponse.json(400, {"ok": False, "error": "body is not JSON"})
        outcome = hook.handle(
            request.header("x-github-event"), request.header("x-github-delivery"), payload
        )
        return WebResponse.json(outcome.status, outcome.body)

    router.add("POST", "/webhooks/github", handle, max_body=GITHUB_MAX_BODY)
