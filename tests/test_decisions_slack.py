"""Decision log over signed HTTP against the fake Slack API: /decision, the form, Edit and
Supersede, the message shortcut, the reaction, /context and the pack upload, App Home."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from chatbot.clock import FrozenClock
from chatbot.decisions.models import Decision, DecisionRevision, DecisionStatus
from chatbot.prompts import Prompts
from chatbot.settings import DEFAULT_PROMPTS_DIR
from chatbot.slack.blockkit import problems
from chatbot.slack.blocks.decision import decision_card
from chatbot.teams.service import TeamService
from tests.conftest import Bot
from tests.slack_driver import TEAM

PRIVATE = "GPRIV01"


@pytest.fixture(autouse=True)
def _private_channel(bot: Bot) -> Iterator[None]:
    bot.fake.private_channels.add(PRIVATE)
    yield
    bot.fake.private_channels.discard(PRIVATE)


def _decisions(bot: Bot) -> list[Decision]:
    with bot.services.db.session() as s:
        return list(s.exec(select(Decision).order_by(Decision.id)).all())


def _said(bot: Bot, method: str = "respond") -> list[dict[str, Any]]:
    return [c.params for c in bot.fake.of(method)]


def _text_of(params: dict[str, Any]) -> str:
    return str(params.get("text", "")) + json.dumps(params.get("blocks") or "")


def _cards(bot: Bot) -> list[dict[str, Any]]:
    return [p for p in _said(bot, "chat.postMessage") if "decision_edit" in json.dumps(p)]


def _command(bot: Bot, name: str, text: str = "", **kw: Any) -> None:
    assert bot.slack.command(name, text, **kw).status == 200
    bot.settle()


def _opened_view(bot: Bot) -> dict[str, Any]:
    view = bot.fake.of("views.open")[-1].params["view"]
    return json.loads(view) if isinstance(view, str) else view


def _shortcut(bot: Bot, message: dict[str, Any], channel: str = "C1", user: str = "U5") -> None:
    payload = {
        "type": "message_action",
        "callback_id": "log_decision",
        "team": {"id": TEAM},
        "user": {"id": user, "team_id": TEAM},
        "channel": {"id": channel, "name": "general"},
        "message": {"type": "message", **message},
        "message_ts": message.get("ts"),
        "trigger_id": "trig-s",
        "response_url": bot.slack.response_url + "-s",
        "token": "x",
        "api_app_id": "A1",
    }
    assert bot.slack.interactive(payload).status == 200
    bot.settle()


def _react(
    bot: Bot, channel: str, ts: str, user: str = "U2", emoji: str = "memo", event_id: str = ""
) -> None:
    event = {
        "type": "reaction_added",
        "user": user,
        "reaction": emoji,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "item_user": "U1",
        "event_ts": "1.2",
    }
    assert bot.slack.event(event, event_id=event_id or None).status == 200
    bot.settle()


# --- /decision -----------------------------------------------------------------------------------
def test_decision_command_logs_at_once_and_posts_the_card(bot: Bot) -> None:
    _command(bot, "/decision", "Use Postgres for PAY-12 #storage because we need row locks")
    [d] = _decisions(bot)
    assert d.decision == "Use Postgres for PAY-12 #storage" and d.why == "we need row locks"
    assert d.jira_keys == ["PAY-12"] and d.tags == ["storage"] and not d.is_private
    [card] = _cards(bot)
    assert card["channel"] == "C1" and "D-1" in json.dumps(card["blocks"])
    assert "decision_supersede" in json.dumps(card["blocks"])
    assert d.card_ts and d.permalink and d.permalink.startswith("https://test.slack.com/")


def test_empty_decision_opens_the_form(bot: Bot) -> None:
    _command(bot, "/decision", "   ")
    view = _opened_view(bot)
    assert view["callback_id"] == "decision_form" and not _decisions(bot)
    assert json.loads(view["private_metadata"])["channel"] == "C1"


def test_five_thousand_characters_are_kept_and_the_card_fits(bot: Bot) -> None:
    text = ("We keep every ledger entry forever. " * 140)[:5000]
    _command(bot, "/decision", text)
    [d] = _decisions(bot)
    assert len(d.decision) == len(text.strip()) and len(d.title) <= 120
    [card] = _cards(bot)
    assert not problems(card["blocks"]) and "kept in full" in json.dumps(card["blocks"])


def test_far_too_long_decision_is_refused_with_the_text_echoed(bot: Bot) -> None:
    _command(bot, "/decision", "z" * 10_500)
    assert not _decisions(bot)
    reply = _said(bot)[-1]["text"]
    assert "at most 10,000" in reply and "zzzz" in reply


def test_a_nul_character_is_dropped_not_a_failure_on_either_database(bot: Bot) -> None:
    # PostgreSQL refuses NUL in text (SQLite keeps it): Slack never sends one, a forged request can.
    _command(bot, "/decision", "Keep\x00 the ledger forever")
    [d] = _decisions(bot)
    assert d.decision == "Keep the ledger forever"
    assert "\x00" not in json.dumps(_cards(bot)[0]["blocks"])


def test_a_command_without_a_channel_is_answered_and_not_run(bot: Bot) -> None:
    answer = bot.slack.command("/decision", "Use Postgres", channel="")
    bot.settle()
    assert answer.status == 200
    assert "didn't say which channel" in json.loads(answer.body)["text"]
    assert not _decisions(bot)
    assert [c.method for c in bot.fake.calls if c.method != "auth.test"] == []


def test_decision_text_is_escaped_on_the_card(bot: Bot) -> None:
    _command(bot, "/decision", "Ping <!channel> & <@U9> on release")
    card = _cards(bot)[0]
    mrkdwn = [b["text"]["text"] for b in card["blocks"] if b["type"] == "section"]
    assert all("<!channel>" not in t for t in mrkdwn) and "<!channel>" not in card["text"]
    assert any("&lt;!channel&gt;" in t for t in mrkdwn)  # header is plain_text: never pings


def test_not_in_channel_still_saves_and_explains(bot: Bot) -> None:
    bot.fake.not_member.add("C7")
    _command(bot, "/decision", "Adopt trunk based development", channel="C7")
    assert len(_decisions(bot)) == 1
    assert any("/invite" in p["text"] and "D-1" in p["text"] for p in _said(bot))


# --- the form, Edit and Supersede ----------------------------------------------------------------
def test_form_errors_inline_then_saves(bot: Bot) -> None:
    _command(bot, "/decision")
    view = _opened_view(bot)
    resp = bot.slack.view_submission(view, {"decision": "", "links": "PAY-12 banana"})
    assert resp.json()["response_action"] == "errors"
    assert set(resp.json()["errors"]) == {"decision", "links"}
    resp = bot.slack.view_submission(
        view,
        {
            "decision": "Store money as integer cents",
            "why": "floats round",
            "alternatives": "Decimal strings",
            "links": "pay-7, I-99",
            "tags": "money",
            "status": "proposed",
        },
    )
    assert resp.status == 200
    bot.settle()
    [d] = _decisions(bot)
    assert d.alternatives == "Decimal strings" and d.jira_keys == ["PAY-7"]
    assert d.intent_id is None  # I-99 does not exist
    assert d.status == DecisionStatus.PROPOSED and d.tags == ["money"]
    assert _cards(bot)


def test_edit_keeps_history_and_updates_the_card(bot: Bot) -> None:
    _command(bot, "/decision", "Deploy on Tuesdays because quiet")
    d = _decisions(bot)[0]
    bot.slack.action("decision_edit", str(d.id), message_ts=d.card_ts or "")
    bot.settle()
    view = _opened_view(bot)
    assert "Deploy on Tuesdays" in json.dumps(view)
    bot.slack.view_submission(view, {"why": "quiet, and the on-call is rested"})
    bot.settle()
    [edited] = _decisions(bot)
    assert edited.why == "quiet, and the on-call is rested" and edited.revision == 2
    update = bot.fake.of("chat.update")[-1].params
    assert update["ts"] == d.card_ts and "on-call is rested" in json.dumps(update["blocks"])
    with bot.services.db.session() as s:
        assert len(s.exec(select(DecisionRevision)).all()) == 2


def test_supersede_links_old_and_new(bot: Bot) -> None:
    _command(bot, "/decision", "Use REST for the ledger API")
    old = _decisions(bot)[0]
    bot.slack.action("decision_supersede", str(old.id), message_ts=old.card_ts or "")
    bot.settle()
    view = _opened_view(bot)
    assert "Replaces *D-1*" in json.dumps(view)
    bot.slack.view_submission(view, {"decision": "Use gRPC for the ledger API"})
    bot.settle()
    old, new = _decisions(bot)
    assert old.status == DecisionStatus.SUPERSEDED and old.superseded_by_id == new.id
    assert new.supersedes_id == old.id and new.channel_id == "C1"
    update = bot.fake.of("chat.update")[-1].params
    assert "Superseded by D-2" in json.dumps(update["blocks"])
    assert "decision_edit" not in json.dumps(update["blocks"])
    # the old card's buttons now say where the current decision is
    bot.slack.action("decision_edit", str(old.id))
    bot.settle()
    assert any("superseded by D-2" in _text_of(p) for p in _said(bot, "chat.postEphemeral"))


# --- message shortcut ----------------------------------------------------------------------------
def test_shortcut_prefills_and_links_the_message(bot: Bot) -> None:
    _shortcut(
        bot, {"ts": "1700000001.000100", "text": "Go with Kafka because replay", "user": "U3"}
    )
    view = _opened_view(bot)
    assert "Go with Kafka" in json.dumps(view) and "replay" in json.dumps(view)
    bot.slack.view_submission(view, {}, user="U5")
    bot.settle()
    [d] = _decisions(bot)
    assert d.author == "U3" and d.logged_by == "U5" and d.source == "shortcut"
    assert d.source_ts == "1700000001.000100" and "p1700000001000100" in (d.permalink or "")
    assert _cards(bot)[0]["thread_ts"] == "1700000001.000100"
    # the same message again: told it is logged already, nothing new
    _shortcut(bot, {"ts": "1700000001.000100", "text": "Go with Kafka", "user": "U3"})
    assert len(_decisions(bot)) == 1 and "already decision D-1" in _said(bot)[-1]["text"]


def test_shortcut_on_bot_file_only_and_unreadable_messages(bot: Bot) -> None:
    _shortcut(bot, {"ts": "1700000002.1", "text": "Deploy finished", "bot_id": "B9"})
    view = _opened_view(bot)
    assert "Deploy finished" in json.dumps(view)
    bot.slack.view_submission(view, {}, user="U5")
    bot.settle()
    assert _decisions(bot)[0].author == "U5"  # a bot is nobody's author
    _shortcut(bot, {"ts": "1700000003.1", "text": "", "files": [{"name": "arch.pdf"}]})
    view = _opened_view(bot)
    assert "File: arch.pdf" in json.dumps(view) and "no text" in json.dumps(view)
    # a private channel the bot is not in: saved, private, and the user is told in a DM
    bot.fake.not_member.add(PRIVATE)
    _shortcut(bot, {"ts": "1700000004.1", "text": "Rotate keys monthly", "user": "U3"}, PRIVATE)
    bot.slack.view_submission(_opened_view(bot), {}, user="U5")
    bot.settle()
    secret = _decisions(bot)[-1]
    assert secret.is_private and secret.channel_id == PRIVATE
    assert any(
        p["channel"] == "U5" and "/invite" in p["text"] for p in _said(bot, "chat.postMessage")
    )


def test_shortcut_on_a_decision_card(bot: Bot) -> None:
    _command(bot, "/decision", "Pin dependencies")
    d = _decisions(bot)[0]
    _shortcut(bot, {"ts": d.card_ts, "text": "Decision D-1", "bot_id": "BBOT0001"})
    assert "already decision D-1" in _said(bot)[-1]["text"] and not bot.fake.of("views.open")


# --- reaction ------------------------------------------------------------------------------------
def test_reaction_logs_once_however_often(bot: Bot) -> None:
    bot.fake.add_message(
        "C1", "1700000010.000200", "Freeze deploys on Fridays because weekends", user="U3"
    )
    for _ in range(3):  # the same event delivered three times
        _react(bot, "C1", "1700000010.000200", user="U2", event_id="EvSame01")
    _react(bot, "C1", "1700000010.000200", user="U4")  # someone else reacts too
    _react(bot, "C1", "1700000010.000200", user="U6", emoji="memo::skin-tone-2")
    [d] = _decisions(bot)
    assert d.author == "U3" and d.logged_by == "U2" and d.why == "weekends"
    assert d.source == "reaction" and d.permalink
    cards = _cards(bot)
    assert len(cards) == 1 and cards[0]["thread_ts"] == "1700000010.000200"
    # The same event again is silent; each other person is told, in a DM, where it is logged.
    posts = _said(bot, "chat.postMessage")
    assert [p.get("thread_ts") for p in posts] == ["1700000010.000200", None, None]
    assert [p["channel"] for p in posts[1:]] == ["U4", "U6"]
    assert all(p["text"] == "That message in <#C1> is already logged as D-1." for p in posts[1:])


def test_a_reaction_whose_first_read_failed_is_logged_by_the_outbox_not_by_slacks_retry(
    bot: Bot, clock: FrozenClock
) -> None:
    """The first delivery is acked and Slack's read fails: the reaction is kept with the
    delivery's claim, so Slack's retry of the same event is a duplicate and the outbox reads
    the message again when its wait is over."""
    bot.fake.add_message("C1", "1700000016.1", "Pin the SDK to 4.2 because 4.3 leaks", user="U3")
    bot.fake.fail_next("conversations.history", "internal_error")
    _react(bot, "C1", "1700000016.1", event_id="EvRetry01")
    assert not _decisions(bot)
    _react(bot, "C1", "1700000016.1", event_id="EvRetry01")  # Slack's retry, same event id
    assert not _decisions(bot)
    clock.advance(seconds=bot.services.settings.outbox_backoff_seconds)
    bot.root.outbox.run_due()
    [d] = _decisions(bot)
    assert d.decision == "Pin the SDK to 4.2" and len(_cards(bot)) == 1


def test_reaction_emoji_is_per_team(bot: Bot) -> None:
    TeamService(bot.services.db, bot.services.clock).add(
        "core", "CCORE1", decision_reaction="pushpin"
    )
    bot.fake.add_message("CCORE1", "1700000011.1", "Use feature flags", user="U3")
    bot.fake.add_message("C1", "1700000012.1", "Use canaries", user="U3")
    _react(bot, "CCORE1", "1700000011.1", emoji="memo")
    _react(bot, "C1", "1700000012.1", emoji="pushpin")
    assert not _decisions(bot)
    _react(bot, "CCORE1", "1700000011.1", emoji="pushpin")
    _react(bot, "C1", "1700000012.1", emoji="memo")
    assert [d.decision for d in _decisions(bot)] == ["Use feature flags", "Use canaries"]


def test_reaction_in_a_thread_reply(bot: Bot) -> None:
    # The reaction event names only the reply's ts, not its thread; Slack answers
    # `conversations.replies` for a reply's ts with the thread's parent first.
    bot.fake.add_message("C1", "1700000013.1", "How long do we cache prices?", user="U2")
    for ts, text in (("1700000013.2", "An hour?"), ("1700000013.3", "Cache for 5 minutes")):
        bot.fake.add_message("C1", ts, text, user="U3", thread_ts="1700000013.1")
    bot.fake.add_message("C1", "1700000013.4", "Agreed", user="U2", thread_ts="1700000013.1")
    _react(bot, "C1", "1700000013.3")
    [d] = _decisions(bot)
    assert d.decision == "Cache for 5 minutes" and d.author == "U3"
    assert d.source_ts == "1700000013.3"
    assert _cards(bot)[0]["thread_ts"] == "1700000013.1"  # the card goes into that thread


def test_reaction_where_the_bot_cannot_read(bot: Bot) -> None:
    bot.fake.not_member.add("C8")
    _react(bot, "C8", "1700000014.1", user="U2")
    assert not _decisions(bot)
    dm = [p for p in _said(bot, "chat.postMessage") if p["channel"] == "U2"]
    assert dm and "can't read messages in <#C8>" in dm[0]["text"]
    bot.fake.add_message("C1", "1700000015.1", "", user="U3", files=[{"name": "x.png"}])
    _react(bot, "C1", "1700000015.1", user="U2")
    assert not _decisions(bot) and "no text" in _said(bot, "chat.postMessage")[-1]["text"]


def test_reaction_on_a_decision_card_does_nothing(bot: Bot) -> None:
    _command(bot, "/decision", "Pin dependencies")
    d = _decisions(bot)[0]
    bot.fake.add_message("C1", d.card_ts or "", "Decision D-1: Pin dependencies", user="UBOT0001")
    posts_before = len(bot.fake.of("chat.postMessage"))
    _react(bot, "C1", d.card_ts or "")
    _react(bot, "C1", d.card_ts or "", user="U5")
    assert len(_decisions(bot)) == 1
    assert len(bot.fake.of("chat.postMessage")) == posts_before  # no second card, no reply
    assert len(_cards(bot)) == 1


# --- privacy -------------------------------------------------------------------------------------
def test_private_decisions_stay_in_their_channel(bot: Bot) -> None:
    _command(bot, "/decision", "Acquire Initech for PAY-12", channel=PRIVATE)
    _command(bot, "/decision", "Initech salary bands", channel="DUSER1")
    _command(bot, "/decision", "Initech public roadmap for PAY-12", channel="C1")
    secret, dm, public = _decisions(bot)
    assert secret.is_private and dm.is_private and not public.is_private
    _command(bot, "/context", "initech", channel="C1")
    found = _text_of(_said(bot)[-1])
    assert "public roadmap" in found and "Acquire" not in found and "salary" not in found
    _command(bot, "/context", "initech", channel=PRIVATE)
    found = _text_of(_said(bot)[-1])
    assert "Acquire" in found and "salary" not in found
    _command(bot, "/context", "PAY-12", channel="C1")
    assert "Acquire" not in _text_of(_said(bot)[-1])
    _command(bot, "/context", "D-1", channel="C1")
    assert "No decision" in _said(bot)[-1]["text"]
    _command(bot, "/context", "pack PAY-12", channel="C1")
    upload = list(bot.fake.uploads.values())[-1].decode()
    assert "public roadmap" in upload and "Acquire" not in upload
    _command(bot, "/context", "pack PAY-12", channel=PRIVATE)
    assert "Acquire" in list(bot.fake.uploads.values())[-1].decode()
    # the Edit button of a private card does nothing elsewhere
    bot.slack.action("decision_edit", str(secret.id), channel="C1")
    bot.settle()
    assert not bot.fake.of("views.open")


# --- /context ------------------------------------------------------------------------------------
def test_context_search_shows_first_lines_author_date_channel_link(bot: Bot) -> None:
    _command(bot, "/decision", "Retry webhooks with backoff\nsecond line\nthird line", user="U3")
    _command(bot, "/context", "webhook retry")
    blocks = json.dumps(_said(bot)[-1]["blocks"])
    assert "D-1" in blocks and "second line" in blocks and "third line" not in blocks
    assert "<@U3>" in blocks and "2026-11-18" in blocks and "<#C1>" in blocks
    assert "|message>" in blocks


@pytest.mark.parametrize(
    ("query", "finds"),
    [
        ('"webhook', True),
        ("webhook*", True),
        ("NEAR(webhook retry)", True),
        ("-webhook", True),
        ("title:webhook", True),
        ("'; DROP TABLE decision; --", False),
    ],
)
def test_context_search_syntax_is_harmless(bot: Bot, query: str, finds: bool) -> None:
    _command(bot, "/decision", "Retry webhooks with backoff")
    _command(bot, "/context", query)
    assert bot.fake.of("respond") and len(_decisions(bot)) == 1
    reply = _said(bot)[-1]
    blocks = json.dumps(reply.get("blocks"))
    if finds:
        assert "D-1" in blocks and "Retry webhooks with backoff" in blocks
    else:
        assert "Nothing found" in reply["text"] and "D-1" not in blocks


def test_context_for_a_key_and_an_intent(bot: Bot) -> None:
    from chatbot.intent.service import IntentFields

    intents = bot.root.slack.intents.intents
    view = intents.create(
        IntentFields(title="Refunds", outcome="One click", checks=["When X, then Y"]), "C1", "U1"
    )
    intents.link(view.intent.id, "PAY-12", "U1")
    _command(bot, "/decision", "Use Stripe for refunds PAY-12")
    _command(bot, "/decision", "Refund limit 500 EUR for I-1")
    for ref in ("PAY-12", "pay-12", "I-1"):
        _command(bot, "/context", ref)
        blocks = json.dumps(_said(bot)[-1]["blocks"])
        assert "I-1" in blocks and "Refunds" in blocks and "When X, then Y" in blocks
        assert "Use Stripe" in blocks and "Refund limit" in blocks and "Linked" in blocks
    _command(bot, "/context", "NOPE-9")
    assert "Nothing found" in _said(bot)[-1]["text"]


def test_context_pack_is_uploaded_as_markdown(bot: Bot) -> None:
    TeamService(bot.services.db, bot.services.clock).add("payments", "CPAY1", jira_project="PAY")
    bot.fake.user_names["U1"] = "Ada Lovelace"
    bot.fake.channel_names["CPAY1"] = "payments"
    _command(bot, "/decision", "Use Stripe for refunds because API", channel="CPAY1")
    _command(bot, "/context", "pack", channel="CPAY1")
    complete = bot.fake.wait_for("files.completeUploadExternal")[-1].params
    assert "context-pack-team-payments.md" in json.dumps(bot.fake.files)
    assert complete["channel_id"] == "CPAY1"
    content = list(bot.fake.uploads.values())[-1].decode()
    assert content.startswith("# Context pack: team payments") and "D-1 · Use Stripe" in content
    assert "- By: @Ada Lovelace" in content and "- Channel: #payments" in content
    assert "- Channels: #payments" in content and "Channel: CPAY1" not in content


def test_context_pack_where_the_bot_is_not_in_the_channel(bot: Bot) -> None:
    bot.fake.not_member.add("C9")
    _command(bot, "/decision", "Use Stripe for refunds", channel="C9")
    _command(bot, "/context", "pack", channel="C9")
    [refused] = bot.fake.of("files.completeUploadExternal")
    assert refused.params["channel_id"] == "C9" and refused.response["error"] == "not_in_channel"
    told = _said(bot)[-1]["text"]
    assert "couldn't upload the context pack here (not_in_channel)" in told and "/invite" in told


def test_context_usage_and_empty_words(bot: Bot) -> None:
    _command(bot, "/context", "")
    assert "Usage" in _said(bot)[-1]["text"]
    _command(bot, "/context", '"*:-')
    assert "no words" in _said(bot)[-1]["text"]


# --- App Home and card limits --------------------------------------------------------------------
def test_home_shows_recent_decisions(bot: Bot) -> None:
    _command(bot, "/decision", "Public thing", user="U1")
    _command(bot, "/decision", "My private thing", user="U1", channel=PRIVATE)
    _command(bot, "/decision", "Their private thing", user="U2", channel=PRIVATE)
    bot.slack.event({"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "D1"})
    bot.settle()
    view = json.dumps(bot.fake.of("views.publish")[-1].params["view"])
    assert "Recent decisions" in view and "Public thing" in view and "My private thing" in view
    assert "Their private thing" not in view


def test_card_stays_within_block_kit_limits() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    d = Decision(
        id=1,
        title="t" * 200,
        decision="x" * 10_000,
        why="y" * 10_000,
        alternatives="z" * 9_000,
        consequences="c" * 9_000,
        author="U1",
        logged_by="U2",
        channel_id="C1",
        created_at=now,
        updated_at=now,
        jira_keys=["PAY-1"] * 20,
        tags=["a"] * 20,
    )
    assert problems(decision_card(Prompts(DEFAULT_PROMPTS_DIR), d, "https://jira.example")) == []


def test_private_intents_stay_in_their_channel(bot: Bot) -> None:
    from tests.factories import start_guided

    start_guided(bot, "Initech merger plan", channel=PRIVATE)
    start_guided(bot, "Initech public launch", channel="C1")
    _command(bot, "/context", "initech", channel="C1")
    found = _text_of(_said(bot)[-1])
    assert "public launch" in found and "merger" not in found
    _command(bot, "/context", "initech", channel=PRIVATE)
    assert "merger" in _text_of(_said(bot)[-1])
    _command(bot, "/context", "I-1", channel="C1")
    assert "merger" not in _text_of(_said(bot)[-1])
    _command(bot, "/intent", "show I-1", channel="C1")
    assert "No intent `I-1`" in _said(bot, "respond")[-1]["text"]
    _command(bot, "/intent", "show I-1", channel=PRIVATE)
    assert "merger" in _text_of(_said(bot, "respond")[-1])
