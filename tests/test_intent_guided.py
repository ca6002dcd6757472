"""The guided conversation, driven over signed HTTP against the fake Slack API."""

from __future__ import annotations

from sqlmodel import select

from chatbot.intent.models import Intent, IntentConversation
from tests.conftest import Bot
from tests.factories import reply as _answer
from tests.factories import start_guided


def test_guided_conversation_end_to_end(bot: Bot) -> None:
    root = start_guided(bot, "Refunds in one click")
    asks = bot.fake.of("chat.postMessage")
    assert asks[-1].params["thread_ts"] == root and "Outcome" in asks[-1].params["text"]
    _answer(bot, root, "Support agents can refund an order in one click so customers wait less")
    _answer(bot, root, "Refund tickets take 20 minutes today", user="U3")
    _answer(bot, root, "- p95 refund API under 300 ms\n- only agents with the refund role")
    _answer(
        bot,
        root,
        "When an agent clicks Refund on a paid order, "
        "then the customer receives the money within 1 minute\n"
        "When a user without the refund role calls the API, then they get 403",
    )
    _answer(bot, root, "skip")
    _answer(bot, root, "skip")
    card = bot.fake.wait_for("chat.postMessage", lambda c: bool(c.params.get("blocks")))[-1]
    blocks = card.params["blocks"]
    text = str(blocks)
    assert "I-1" in text and "Refunds in one click" in text
    assert "intent_save" in text and "intent_jira_create" in text and "intent_jira_link" in text
    with bot.services.db.session() as s:
        intent = s.exec(select(Intent)).one()
        assert intent.why == "Refund tickets take 20 minutes today"
        assert intent.constraints == [
            "p95 refund API under 300 ms",
            "only agents with the refund role",
        ]
        conv = s.exec(select(IntentConversation)).one()
        assert conv.state == "finished"


def test_intent_remembers_team_and_private_channel(bot: Bot) -> None:
    from chatbot.teams.service import TeamService

    team = TeamService(bot.services.db, bot.services.clock).add("payments", "CPRIV1")
    bot.fake.private_channels.add("CPRIV1")
    start_guided(bot, "Private plans", channel="CPRIV1")
    with bot.services.db.session() as s:
        intent = s.exec(select(Intent)).one()
    assert intent.channel_is_private is True and intent.team_id == team.id


def test_a_channels_privacy_is_asked_once_not_for_every_intent(bot: Bot) -> None:
    # Bolt hands each request a new client: the answer must be kept per workspace, not per
    # client object. (The first intent may find it kept from an earlier test run.)
    start_guided(bot, "First plan", channel="CPRIVACY1")
    asked = len(bot.fake.of("conversations.info"))
    start_guided(bot, "Second plan", channel="CPRIVACY1")
    start_guided(bot, "Third plan", channel="CPRIVACY1")
    assert len(bot.fake.of("conversations.info")) == asked <= 1


def test_listing_an_empty_channel_says_how_to_start(bot: Bot) -> None:
    assert bot.slack.command("/intent", "list", channel="CEMPTY1").status == 200
    bot.settle()
    listing = bot.fake.wait_for("respond")[-1].params
    assert listing["text"] == "0 open intents"
    assert "No open intents in this channel yet" in str(listing["blocks"])
