"""POST /webhooks/jira: secret checked, deliveries deduped, done asks about the checks."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from chatbot.intent.models import IntentStatus
from chatbot.web.jira_webhook import authorized
from chatbot.web.routes import WebRequest
from tests.conftest import Bot
from tests.factories import posted_intent, told
from tests.fakes.jira_api import FakeJiraServer
from tests.jira_fixtures import (  # noqa: F401  (fixtures)
    fake_jira_fixture,
    flavour_fixture,
    jira_server_fixture,
    jira_settings,
)


@pytest.fixture
def bot_settings(jira_server: FakeJiraServer) -> dict[str, Any]:
    return jira_settings(jira_server.url, "cloud", jira_webhook_secret="hook-secret")


def _event(key: str, status: str, category: str, changelog_id: str) -> bytes:
    return json.dumps(
        {
            "webhookEvent": "jira:issue_updated",
            "issue": {
                "key": key,
                "fields": {"status": {"name": status, "statusCategory": {"key": category}}},
            },
            "changelog": {"id": changelog_id, "items": [{"field": "status", "toString": status}]},
        }
    ).encode()


def _send(bot: Bot, body: bytes, secret: str | None = "hook-secret") -> int:
    path = "/webhooks/jira" + (f"?secret={secret}" if secret else "")
    return bot.slack.post(body, "application/json", path=path).status


def test_secret_is_required(bot: Bot) -> None:
    assert _send(bot, _event("PAY-1", "Done", "done", "1"), secret=None) == 401
    assert _send(bot, _event("PAY-1", "Done", "done", "1"), secret="wrong") == 401


def test_in_progress_then_done_in_the_intent_thread(bot: Bot) -> None:
    view = posted_intent(bot)
    intents = bot.root.slack.intents.intents
    intents.link(view.intent.id or 0, "PAY-1", "U1")
    assert _send(bot, _event("PAY-1", "In Progress", "indeterminate", "10")) == 200
    after = intents.get(view.intent.id or 0)
    assert after is not None and after.intent.status == IntentStatus.IN_PROGRESS
    assert after.intent.started_at is not None
    assert _send(bot, _event("PAY-1", "Done", "done", "11")) == 200
    assert _send(bot, _event("PAY-1", "Done", "done", "11")) == 200  # redelivery
    asks = told(bot, "Were the acceptance checks of")
    assert len(asks) == 1
    ask = [
        c
        for c in bot.fake.of("chat.postMessage")
        if "Were the acceptance" in str(c.params.get("text"))
    ][0]
    assert ask.params["thread_ts"] == view.intent.thread_ts
    assert "intent_all_checks" in str(ask.params["blocks"])


def test_unlinked_ticket_is_ignored(bot: Bot) -> None:
    assert _send(bot, _event("PAY-404", "Done", "done", "12")) == 200
    assert not told(bot, "moved to")


def test_a_key_that_only_looks_like_an_intent_ref_is_not_that_intent(bot: Bot) -> None:
    """A delivery for issue `I-1` (or `1`) must not move intent I-1: only its linked key may."""
    view = posted_intent(bot)
    intents = bot.root.slack.intents.intents
    intents.link(view.intent.id or 0, "PAY-1", "U1")
    for n, key in enumerate((view.ref, str(view.intent.id), f"#{view.intent.id}")):
        assert _send(bot, _event(key, "In Progress", "indeterminate", f"20{n}")) == 200
        assert _send(bot, _event(key, "Done", "done", f"30{n}")) == 200
    after = intents.get(view.intent.id or 0)
    assert after is not None and after.intent.status == IntentStatus.LINKED
    assert not told(bot, "Were the acceptance checks of") and not told(bot, "moved to")


def _signed(body: bytes, secret: str = "hook-secret") -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_every_way_jira_can_carry_the_secret(bot: Bot) -> None:
    body = _event("PAY-404", "Done", "done", "40")

    def send(headers: dict[str, str]) -> int:
        return bot.slack.post(
            body, "application/json", headers=headers, path="/webhooks/jira"
        ).status

    assert send({"X-Throughline-Secret": "hook-secret"}) == 200
    assert send({"X-Throughline-Secret": "hook-secreT"}) == 401
    assert send({"X-Hub-Signature": _signed(body)}) == 200
    assert send({"X-Hub-Signature": _signed(body, "other")}) == 401
    assert send({"X-Hub-Signature": _signed(body + b" ")}) == 401  # signs other bytes
    assert send({"X-Hub-Signature": _signed(body).replace("sha256=", "sha1=")}) == 401
    assert send({}) == 401


@pytest.mark.parametrize(
    ("headers", "query", "secret", "allowed"),
    [
        ({}, {"secret": ["s3"]}, "s3", True),
        ({}, {"secret": ["s3"]}, None, False),  # no secret configured: nothing gets in
        ({}, {"secret": [""]}, "", False),
        ({"x-throughline-secret": "s3"}, {}, "s3", True),
        ({"x-throughline-secret": "s"}, {}, "s3", False),
        ({"x-hub-signature": "sha256=" + "0" * 64}, {}, "s3", False),
    ],
)
def test_authorized(
    headers: dict[str, str], query: dict[str, list[str]], secret: str | None, allowed: bool
) -> None:
    request = WebRequest("POST", "/webhooks/jira", headers, b"{}", query)
    assert authorized(request, secret) is allowed
