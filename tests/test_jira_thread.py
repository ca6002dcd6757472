"""The guided conversation's last question: a Jira key links, `new` creates."""

from __future__ import annotations

from typing import Any

import pytest

from chatbot.teams.service import TeamService
from tests.conftest import Bot
from tests.factories import reply, settle, start_guided, stored_intent
from tests.fakes.jira_api import FakeJira, FakeJiraServer
from tests.jira_fixtures import (  # noqa: F401  (fixtures)
    fake_jira_fixture,
    flavour_fixture,
    jira_server_fixture,
    jira_settings,
)


@pytest.fixture
def bot_settings(jira_server: FakeJiraServer, flavour: str) -> dict[str, Any]:
    return jira_settings(jira_server.url, flavour)


def _draft_to_last_question(bot: Bot) -> str:
    root = start_guided(bot, "Refunds in one click")
    reply(bot, root, "Agents refund an order in 1 click")
    for _ in range(2):
        reply(bot, root, "skip")
    reply(bot, root, "When an agent clicks Refund, then the order shows Refunded")
    reply(bot, root, "skip")
    return root


def test_answering_a_key_links_the_ticket(bot: Bot, fake_jira: FakeJira) -> None:
    fake_jira.add_issue("OPS-7")
    root = _draft_to_last_question(bot)
    reply(bot, root, "ops-7")
    settle(bot)
    assert stored_intent(bot.services.db).jira_key == "OPS-7"
    assert len(fake_jira.issues["OPS-7"].comments) == 1
    assert len(fake_jira.issues["OPS-7"].remote_links) == 1


def test_answering_new_creates_a_ticket_in_the_team_project(bot: Bot, fake_jira: FakeJira) -> None:
    TeamService(bot.services.db, bot.services.clock).add("payments", "C1", jira_project="PAY")
    root = _draft_to_last_question(bot)
    reply(bot, root, "new")
    settle(bot)
    assert stored_intent(bot.services.db).jira_key == "PAY-1"
    assert fake_jira.issues["PAY-1"].fields["summary"] == "Refunds in one click"


def test_answering_something_else_asks_again(bot: Bot, fake_jira: FakeJira) -> None:
    root = _draft_to_last_question(bot)
    reply(bot, root, "the payments board")
    assert "Reply with a key like" in bot.fake.of("chat.postMessage")[-1].params["text"]
    assert stored_intent(bot.services.db).jira_key is None
