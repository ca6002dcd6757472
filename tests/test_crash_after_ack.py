"""A delivery whose process dies after it was claimed and before its work was stored is done
on the sender's retry, once: every deduplicated path claims the delivery in the transaction
of its effect (docs/reliability.md, "Crashes after the ack and during the digest post").

Each test stops the work at a named crash point (THROUGHLINE_TEST_CRASH_AT, here raising
`SimulatedCrash` in this process), then sends the same delivery again and again: the work is
done exactly once. `tests/test_crash_drills.py` kills real processes at these points.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import col, select

from chatbot.clock import FrozenClock
from chatbot.decisions.models import Decision
from chatbot.deploys.models import Deployment, DeploymentChange
from chatbot.github.models import PullRequest, PullRequestEvent
from chatbot.intent.models import Intent, IntentConversation, IntentStatus
from chatbot.outbox.store import LEASE
from tests.conftest import Bot
from tests.factories import posted_intent, settle, told
from tests.fakes.github_events import PullRequestState, encode, pull_request_event, signed_headers
from tests.github_helpers import REPO, add_team, count, deliver
from tests.github_helpers import SECRET as GITHUB_SECRET
from tests.jira_fixtures import (  # noqa: F401  (fixtures)
    fake_jira_fixture,
    flavour_fixture,
    jira_server_fixture,
    jira_settings,
)

DEPLOY_TOKEN = "deploy-token-1"


@pytest.fixture
def bot_settings(jira_server: Any) -> dict[str, Any]:
    return jira_settings(
        jira_server.url,
        "cloud",
        jira_webhook_secret="hook-secret",
        github_webhook_secret=GITHUB_SECRET,
        deploy_webhook_token=DEPLOY_TOKEN,
    )


def _intents(bot: Bot) -> list[Intent]:
    with bot.services.db.session() as s:
        return list(s.exec(select(Intent).order_by(col(Intent.id))).all())


# --- Slack events ------------------------------------------------------------------------------


def _mention(bot: Bot, text: str, event_id: str, retry: int | None = None) -> None:
    event = {
        "type": "app_mention",
        "user": "U1",
        "channel": "C1",
        "text": f"<@UBOT0001> {text}",
        "ts": "1800000000.000101",
    }
    assert bot.slack.event(event, event_id=event_id, retry=retry).status == 200
    bot.settle()


def test_a_mention_whose_intent_was_never_stored_is_started_on_slacks_retry(
    bot: Bot, crash_at: Any
) -> None:
    crash_at("intent.create.claimed")
    _mention(bot, "intent Faster refunds", "EvMention1")
    assert _intents(bot) == [] and not told(bot, "Drafting intent")
    crash_at(None)
    _mention(bot, "intent Faster refunds", "EvMention1", retry=1)
    _mention(bot, "intent Faster refunds", "EvMention1", retry=2)
    [intent] = _intents(bot)
    assert intent.title == "Faster refunds"
    [root] = told(bot, "Drafting intent")
    assert "Faster refunds" in root
    with bot.services.db.session() as s:
        assert len(s.exec(select(IntentConversation)).all()) == 1


def test_a_help_mention_is_answered_once_however_often_slack_delivers_it(bot: Bot) -> None:
    for retry in (None, 1, 2):
        _mention(bot, "what can you do", "EvHelp1", retry=retry)
    assert len(told(bot, "/intent")) == 1


@pytest.mark.parametrize("point", ["reaction.kept", "reaction.before_record"])
def test_a_reaction_whose_process_died_after_keeping_it_is_logged_once_by_the_clock(
    bot: Bot, crash_at: Any, clock: FrozenClock, point: str
) -> None:
    """The reaction is kept with its delivery's claim: Slack's retries are duplicates, and the
    clock logs the kept reaction once the dead process's lease has run out."""
    bot.fake.add_message("C1", "1700000020.1", "Ship on Tuesdays because QA is in", user="U3")
    event = {
        "type": "reaction_added",
        "user": "U2",
        "reaction": "memo",
        "item": {"type": "message", "channel": "C1", "ts": "1700000020.1"},
        "event_ts": "1700000021.1",
    }
    crash_at(point)
    assert bot.slack.event(event, event_id="EvReact1").status == 200
    bot.settle()
    crash_at(None)
    for retry in (1, 2):
        assert bot.slack.event(event, event_id="EvReact1", retry=retry).status == 200
        bot.settle()
    with bot.services.db.session() as s:
        assert s.exec(select(Decision)).all() == []
    clock.advance(seconds=LEASE.total_seconds() + 1)
    bot.root.outbox.run_due()
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert bot.root.outbox.run_due() == 0
    with bot.services.db.session() as s:
        [decision] = s.exec(select(Decision)).all()
    assert decision.decision == "Ship on Tuesdays"
    assert len([t for t in told(bot, "Ship on Tuesdays")]) == 1  # one card


# --- Jira webhook ------------------------------------------------------------------------------


def _jira(bot: Bot, key: str, status: str, category: str, changelog: str) -> int:
    body = {
        "webhookEvent": "jira:issue_updated",
        "issue": {
            "key": key,
            "fields": {"status": {"name": status, "statusCategory": {"key": category}}},
        },
        "changelog": {"id": changelog, "items": [{"field": "status", "toString": status}]},
    }
    path = "/webhooks/jira?secret=hook-secret"
    return bot.slack.post(json.dumps(body).encode(), "application/json", path=path).status


def test_a_jira_move_whose_process_died_after_the_claim_moves_the_intent_on_redelivery(
    bot: Bot, crash_at: Any
) -> None:
    view = posted_intent(bot)
    intents = bot.root.slack.intents.intents
    intents.link(view.intent.id or 0, "PAY-1", "U1")
    crash_at("jira_webhook.claimed")
    assert _jira(bot, "PAY-1", "In Progress", "indeterminate", "10") == 500
    crash_at(None)
    assert _jira(bot, "PAY-1", "In Progress", "indeterminate", "10") == 200
    assert _jira(bot, "PAY-1", "In Progress", "indeterminate", "10") == 200
    settle(bot)
    after = intents.get(view.intent.id or 0)
    assert after is not None and after.intent.status == IntentStatus.IN_PROGRESS
    assert len(told(bot, "moved to")) == 1


# --- GitHub and deploy webhooks ------------------------------------------------------------------


def test_a_github_delivery_whose_process_died_after_the_claim_is_stored_on_redelivery(
    bot: Bot, crash_at: Any
) -> None:
    add_team(bot)
    payload = pull_request_event("opened", PullRequestState(REPO, 7, title="PAY-3 Retries"))
    body = encode(payload)

    def send() -> int:
        headers = signed_headers("pull_request", body, GITHUB_SECRET, "gh-1")
        return bot.slack.post(
            body, "application/json", headers=headers, path="/webhooks/github"
        ).status

    crash_at("github_webhook.claimed")
    assert send() == 500  # the process died: GitHub sees no answer and redelivers
    crash_at(None)
    assert send() == 200
    again = deliver(bot, "pull_request", payload, delivery="gh-1")
    assert again.status == 200 and again.body.get("duplicate") is True
    assert count(bot.services.db, PullRequest) == 1
    assert count(bot.services.db, PullRequestEvent) >= 1


def test_a_deployment_whose_process_died_before_its_changes_is_stored_whole_on_redelivery(
    bot: Bot, crash_at: Any
) -> None:
    body = json.dumps(
        {
            "id": "d-7",
            "service": "payments-api",
            "environment": "production",
            "deployed_at": "2026-11-18T10:00:00Z",
            "status": "success",
            "changes": {"issues": ["PAY-7"], "commits": ["9f1c" + "0" * 36]},
        }
    ).encode()
    headers = {"Authorization": f"Bearer {DEPLOY_TOKEN}"}

    def send() -> int:
        path = "/webhooks/deploy"
        return bot.slack.post(body, "application/json", headers=headers, path=path).status

    crash_at("deploy.claimed")
    assert send() == 500
    crash_at(None)
    assert send() == 201
    assert send() == 200
    assert count(bot.services.db, Deployment) == 1
    assert count(bot.services.db, DeploymentChange) == 2
