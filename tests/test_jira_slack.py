"""Linking and creating Jira tickets from Slack, end to end over signed HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from chatbot.intent.models import IntentStatus
from chatbot.teams.service import TeamService
from tests.conftest import Bot
from tests.factories import posted_intent, settle, stored_intent, told
from tests.fakes.jira_api import FakeJira, FakeJiraServer
from tests.jira_fixtures import (  # noqa: F401  (fixtures)
    fake_jira_fixture,
    flavour_fixture,
    jira_server_fixture,
    jira_settings,
)


@pytest.fixture
def bot_settings(jira_server: FakeJiraServer, flavour: str) -> dict[str, Any]:
    return jira_settings(jira_server.url, flavour, jira_webhook_secret="hook-secret")


def test_create_from_the_card_with_the_team_project(bot: Bot, fake_jira: FakeJira) -> None:
    TeamService(bot.services.db, bot.services.clock).add("payments", "CPAY1", jira_project="PAY")
    view = posted_intent(bot, channel="CPAY1")
    resp = bot.slack.action("intent_jira_create", str(view.intent.id), channel="CPAY1")
    assert resp.status == 200
    settle(bot)
    issue = fake_jira.issues["PAY-1"]
    assert issue.fields["summary"] == "Refunds in one click"
    description = str(issue.fields["description"])
    for part in (
        "Agents refund an order",
        "Refunds take 20 minutes",
        "p95 under 300 ms",
        "money lands in 1 minute",
        "Partial refunds",
        "archives/CPAY1",
    ):
        assert part in description
    assert len(issue.comments) == 1 and len(issue.remote_links) == 1
    assert issue.properties["throughline"]["intent"] == view.ref
    # Fewest requests: create, comment, remote link.
    assert [(r.method, r.path.split("/", 4)[-1]) for r in fake_jira.requests] == [
        ("POST", "issue"),
        ("POST", "issue/PAY-1/comment"),
        ("POST", "issue/PAY-1/remotelink"),
    ]
    intent = stored_intent(bot.services.db, view.intent.id or 0)
    assert intent.jira_key == "PAY-1" and intent.status == IntentStatus.LINKED
    assert len(told(bot, "created")) == 1
    card = bot.fake.of("chat.update")[-1]
    assert "/browse/PAY-1|PAY-1>" in str(card.params["blocks"])
    assert "intent_jira_create" not in str(card.params["blocks"])


def test_link_by_command_then_every_revision_edits_the_same_comment(
    bot: Bot, fake_jira: FakeJira
) -> None:
    fake_jira.add_issue("PAY-7")
    view = posted_intent(bot)
    bot.slack.command("/intent", f"link {view.ref} pay-7")
    settle(bot)
    issue = fake_jira.issues["PAY-7"]
    assert len(issue.comments) == 1 and len(issue.remote_links) == 1
    assert len(fake_jira.requests) == 2  # comment (also validates the key) + remote link
    assert stored_intent(bot.services.db, view.intent.id or 0).jira_key == "PAY-7"
    assert len(told(bot, "linked")) == 1
    comment_id = issue.comments[0]["id"]

    intents = bot.root.slack.intents.intents
    fake_jira.requests.clear()
    intents.edit(view.intent.id or 0, "U2", outcome="Agents refund in one click, even on mobile")
    settle(bot)
    assert [(r.method, r.path.rsplit("/", 2)[-2:]) for r in fake_jira.requests] == [
        ("PUT", ["comment", comment_id])
    ]
    assert "even on mobile" in str(issue.comments[0]["body"])

    fake_jira.requests.clear()
    check = view.checks[0]
    bot.slack.action("intent_verify_check", str(check.id))
    settle(bot)
    assert len(fake_jira.requests) == 1 and fake_jira.requests[0].method == "PUT"
    body = str(issue.comments[0]["body"])
    assert "1/2 verified" in body
    assert len(issue.comments) == 1 and len(issue.remote_links) == 1
    assert len(told(bot, "linked")) == 1  # revisions are silent


def test_unknown_key_gets_a_clear_message_and_links_nothing(bot: Bot, fake_jira: FakeJira) -> None:
    view = posted_intent(bot)
    bot.slack.command("/intent", f"link {view.ref} PAY-999")
    settle(bot)
    assert told(bot, "has no ticket `PAY-999`")
    assert stored_intent(bot.services.db, view.intent.id or 0).jira_key is None
    # A corrected key then works.
    fake_jira.add_issue("PAY-5")
    bot.slack.command("/intent", f"link {view.ref} PAY-5")
    settle(bot)
    assert stored_intent(bot.services.db, view.intent.id or 0).jira_key == "PAY-5"
    assert len(fake_jira.issues["PAY-5"].comments) == 1


def test_link_button_opens_a_modal_that_checks_the_key(bot: Bot, fake_jira: FakeJira) -> None:
    fake_jira.add_issue("OPS-3")
    view = posted_intent(bot)
    bot.slack.action("intent_jira_link", str(view.intent.id))
    settle(bot)
    modal = bot.fake.of("views.open")[-1].params["view"]
    modal = modal if isinstance(modal, dict) else __import__("json").loads(modal)
    bad = bot.slack.view_submission(modal, {"key": "not a key"})
    assert bad.status == 200 and bad.json()["response_action"] == "errors"
    assert bot.slack.view_submission(modal, {"key": "ops-3"}).status == 200
    settle(bot)
    assert stored_intent(bot.services.db, view.intent.id or 0).jira_key == "OPS-3"
    assert len(fake_jira.issues["OPS-3"].remote_links) == 1


def test_create_without_a_team_asks_project_and_type(bot: Bot, fake_jira: FakeJira) -> None:
    view = posted_intent(bot, channel="C9")
    bot.slack.action("intent_jira_create", str(view.intent.id), channel="C9")
    settle(bot)
    modal = bot.fake.of("views.open")[-1].params["view"]
    modal = modal if isinstance(modal, dict) else __import__("json").loads(modal)
    assert modal["callback_id"] == "jira_create"
    bad = bot.slack.view_submission(modal, {"project": "1x", "issue_type": ""})
    assert set(bad.json()["errors"]) == {"project", "issue_type"}
    bot.slack.view_submission(modal, {"project": "ops", "issue_type": "Task"})
    settle(bot)
    assert fake_jira.issues["OPS-1"].fields["issuetype"] == {"name": "Task"}
    assert stored_intent(bot.services.db, view.intent.id or 0).jira_key == "OPS-1"


def test_wrong_project_is_explained(bot: Bot, fake_jira: FakeJira) -> None:
    TeamService(bot.services.db, bot.services.clock).add("x", "CNOPE1", jira_project="NOPE")
    view = posted_intent(bot, channel="CNOPE1")
    bot.slack.action("intent_jira_create", str(view.intent.id), channel="CNOPE1")
    settle(bot)
    assert told(bot, "refused to create the ticket in project `NOPE`")
    assert (
        not fake_jira.issues
        and stored_intent(bot.services.db, view.intent.id or 0).jira_key is None
    )


def test_jira_keys_in_intent_text_become_links(bot: Bot, fake_jira: FakeJira) -> None:
    posted_intent(bot)
    card = bot.fake.of("chat.postMessage")[-1]
    assert f"<{fake_jira and bot.services.settings.jira_url}/browse/PAY-42|PAY-42>" in str(
        card.params["blocks"]
    )
