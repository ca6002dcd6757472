"""The guided conversation's last question: a Jira key links, `new` creates."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from chatbot.intent.models import Intent
from chatbot.teams.service import TeamService
from tests.conftest import Bot
from tests.fakes.jira_api import FakeJira, FakeJiraServer
from tests.intent_helpers import reply, start_guided
from tests.jira_fixtures import (  # noqa: F401  (fixtures)
    fake_jira_fixture,
    flavour_fixture,
    jira_server_fixture,
    jira_settings,
)
from tests.jira_helpers import settle


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


def _intent(bot: Bot) -> Intent:
    with bot.services.db.session() as s:
        return s.exec(select(Intent)).one()


def test_answering_a_key_links_the_ticket(bot: Bot, fake_jira: FakeJira) -> None:
    fake_jira.add_issue("OPS-7")
    root = _draft_to_last_question(bot)
    reply(bot, root, "ops-7")
    settle(bot)
    assert _intent(bot).jira_key == "OPS-7"
    assert len(fake_jira.issues["OPS-7"].comments) == 1
    assert len(fake_jira.issues["OPS-7"].remote_links) == 1


def test_answering_new_creates_a_ticket_in_the_team_project(bot: Bot, fake_jira: FakeJira) -> None:
    TeamService(bot.services.db, bot.services.clock).add("payments", "C1", jira_project="PAY")
    root = _draft_to_last_question(bot)
    reply(bot, root, "new")
    settle(bot)
    assert _intent(bot).jira_key == "PAY-1"
    assert fake_jira.issues["PAY-1"].fields["summary"] == "Refunds in one click"


def test_answering_something_else_asks_again(bot: Bot, fake_jira: FakeJira) -> None:
    root = _draft_to_last_question(bot)
    reply(bot, root, "the payments board")
    assert "Reply with a key like" in bot.fake.of("chat.postMessage")[-1].params["text"]
    assert _intent(bot).jira_key is None
