"""POST /webhooks/jira: a linked ticket moving on in Jira moves its intent and is told to the
listener (the intent's thread in Slack), and `jira:issue_created|updated|deleted` update the
teams' work items at once.

The shared secret (JIRA_WEBHOOK_SECRET) comes as `?secret=`, an `X-Throughline-Secret`
header, or Jira's `X-Hub-Signature: sha256=<hmac of the body>`. Deliveries are deduped: the
delivery is claimed in the transaction that moves the intent (`ticket_moved`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from chatbot.db.dedupe import AlreadyDelivered
from chatbot.intent.service import IntentService
from chatbot.jira.history_events import ISSUE_EVENTS, apply_issue_event
from chatbot.jira.ticket_news import TicketNewsListener, ticket_moved
from chatbot.services import Services
from chatbot.web.routes import Router, WebRequest, WebResponse

log = logging.getLogger(__name__)


def authorized(request: WebRequest, secret: str | None) -> bool:
    if not secret:
        return False
    given = (request.query.get("secret") or [""])[0] or request.header("x-throughline-secret")
    if given and hmac.compare_digest(given.encode(), secret.encode()):
        return True
    signature = request.header("x-hub-signature")
    if signature.startswith("sha256="):
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        # Compared as bytes: a header with non-ASCII characters must not raise (it is a 401).
        given_digest = signature.removeprefix("sha256=").encode("utf-8", "replace")
        return hmac.compare_digest(given_digest, expected.encode())
    return False


def _status_change(payload: dict[str, Any]) -> tuple[str, str, str] | None:
    """(issue key, status name, status category key) when this delivery moved the status."""
    issue = payload.get("issue") or {}
    items = (payload.get("changelog") or {}).get("items") or []
    if not any(str(item.get("field", "")).lower() == "status" for item in items):
        return None
    status = (issue.get("fields") or {}).get("status") or {}
    category = str((status.get("statusCategory") or {}).get("key", ""))
    return str(issue.get("key", "")).upper(), str(status.get("name", "")), category


def _delivery_id(request: WebRequest, payload: dict[str, Any]) -> str:
    given = request.header("x-atlassian-webhook-identifier")
    if given:
        return given
    changelog = (payload.get("changelog") or {}).get("id")
    issue = (payload.get("issue") or {}).get("key")
    if changelog and issue:
        return f"{issue}:{changelog}"
    return hashlib.sha256(request.body).hexdigest()


def register_routes(
    router: Router, services: Services, listener: TicketNewsListener | None
) -> None:
    intents = IntentService(services.db, services.clock)

    def handle(request: WebRequest) -> WebResponse:
        secret = services.settings.jira_webhook_secret
        if not authorized(request, secret.get_secret_value() if secret else None):
            return WebResponse.json(401, {"ok": False, "error": "bad or missing secret"})
        try:
            payload = request.json()
        except ValueError:
            return WebResponse.json(400, {"ok": False, "error": "body is not JSON"})
        if not isinstance(payload, dict):
            return WebResponse.json(400, {"ok": False, "error": "body is not a JSON object"})
        if payload.get("webhookEvent") in ISSUE_EVENTS:
            try:
                apply_issue_event(services.db, services.clock, payload)
            except (AttributeError, TypeError, ValueError):
                return WebResponse.json(400, {"ok": False, "error": "malformed issue fields"})
        change = _status_change(payload)
        if change is None:
            return WebResponse.json(200, {"ok": True, "ignored": "no status change"})
        try:
            news = ticket_moved(intents, "jira-webhook:" + _delivery_id(request, payload), *change)
        except AlreadyDelivered:
            return WebResponse.json(200, {"ok": True, "duplicate": True})
        if news is not None and listener is not None:
            listener.ticket_moved(news)
        return WebResponse.json(200, {"ok": True})

    router.add("POST", "/webhooks/jira", handle)
