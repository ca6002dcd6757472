"""A reaction that logs a decision while Slack's Web API cannot be read: kept with the event's
delivery claim, logged once when Slack answers again, in the channel's order; a second
person, a deleted message and the end of the waiting window are each told by DM.

Every test drives the real Bolt app with signed events; the fake Slack fails the calls.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from chatbot.clock import FrozenClock
from chatbot.db.core_models import ProcessedEvent
from chatbot.decisions.models import Decision
from chatbot.outbox.models import OutboxMessage, OutboxStatus
from chatbot.slack.reaction_flow import REACTION_KIND
from tests.conftest import Bot
from tests.factories import settle

# What reading and logging a reacted message asks Slack.
READS = ("conversations.history", "conversations.replies", "conversations.info")
WRITES = ("chat.getPermalink", "chat.postMessage", "chat.postEphemeral")
MESSAGES = {
    "1700000030.1": ("Move billing to Postgres because of row locks", "U3"),
    "1700000031.1": ("Keep the old API until June", "U5"),
}


def _slack_down(bot: Bot, methods: tuple[str, ...] = READS + WRITES) -> None:
    for method in methods:
        bot.fake.fail_next(method, "service_unavailable", times=100_000)


def _slack_back(bot: Bot, deleted: tuple[str, ...] = ()) -> None:
    bot.fake.reset()
    for ts, (text, author) in MESSAGES.items():
        if ts not in deleted:
            bot.fake.add_message("C1", ts, text, user=author)


def _react(bot: Bot, ts: str, user: str, event_id: str, retry: int | None = None) -> float:
    event = {
        "type": "reaction_added",
        "user": user,
        "reaction": "memo",
        "item": {"type": "message", "channel": "C1", "ts": ts},
        "event_ts": "1700000040.1",
    }
    answer = bot.slack.event(event, event_id=event_id, retry=retry)
    assert answer.status == 200
    return answer.elapsed


def _decisions(bot: Bot) -> list[Decision]:
    with bot.services.db.session() as s:
        return list(s.exec(select(Decision).order_by(col(Decision.id))).all())


def _reactions(bot: Bot) -> list[OutboxMessage]:
    with bot.services.db.session() as s:
        query = select(OutboxMessage).where(OutboxMessage.kind == REACTION_KIND)
        return list(s.exec(query.order_by(col(OutboxMessage.id))).all())


def _cards(bot: Bot) -> list[Any]:
    return [
        c for c in bot.fake.of("chat.postMessage", ok=True) if "Decision D-" in c.params["text"]
    ]


def _dms(bot: Bot, user: str) -> list[str]:
    return [
        str(c.params["text"])
        for c in bot.fake.of("chat.postMessage", ok=True)
        if c.params["channel"] == user
    ]


def _back_and_run(bot: Bot, clock: FrozenClock, deleted: tuple[str, ...] = ()) -> None:
    _slack_back(bot, deleted)
    clock.advance(minutes=5)
    bot.root.outbox.run_due()


def test_a_reaction_while_slack_is_down_is_kept_and_logged_once_when_slack_is_back(
    bot: Bot, clock: FrozenClock
) -> None:
    _slack_back(bot)
    _slack_down(bot)
    gate = bot.fake.hold()  # Slack does not even answer while the event is acknowledged
    try:
        first = _react(bot, "1700000030.1", "U2", "EvDown01")
        again = _react(bot, "1700000030.1", "U2", "EvDown01", retry=1)  # Slack's retry
    finally:
        gate.set()
    settle(bot)
    assert first < 1.0 and again < 1.0
    assert _decisions(bot) == []
    [kept] = _reactions(bot)  # kept once, with its delivery's claim
    assert kept.status == OutboxStatus.PENDING and kept.payload["user"] == "U2"
    with bot.services.db.session() as s:
        assert s.get(ProcessedEvent, "slack:EvDown01") is not None

    clock.advance(minutes=30)  # still down: tried again, still kept
    bot.root.outbox.run_due()
    assert _decisions(bot) == [] and _reactions(bot)[0].status == OutboxStatus.PENDING

    _back_and_run(bot, clock)
    [d] = _decisions(bot)
    assert d.decision == "Move billing to Postgres" and d.why == "of row locks"
    assert d.author == "U3" and d.logged_by == "U2" and d.source_ts == "1700000030.1"
    [card] = _cards(bot)
    assert card.params["thread_ts"] == "1700000030.1"
    assert _reactions(bot)[0].status == OutboxStatus.SENT
    assert _dms(bot, "U2") == []  # nothing to tell: it is logged
    _react(bot, "1700000030.1", "U2", "EvDown01", retry=2)  # a late retry changes nothing
    settle(bot)
    clock.advance(minutes=5)
    bot.root.outbox.run_due()
    assert len(_decisions(bot)) == 1 and len(_cards(bot)) == 1 and _dms(bot, "U2") == []


def test_reactions_kept_during_an_outage_are_logged_in_order_and_once_per_message(
    bot: Bot, clock: FrozenClock
) -> None:
    _slack_back(bot)
    _slack_down(bot)
    # Each event's listener runs after its ack on a pool: let each store before the next.
    for ts, user, event_id in (
        ("1700000030.1", "U2", "EvOrder1"),
        ("1700000031.1", "U4", "EvOrder2"),
        ("1700000030.1", "U6", "EvOrder3"),  # a second person, the first message
    ):
        _react(bot, ts, user, event_id)
        settle(bot)
    assert _decisions(bot) == [] and len(_reactions(bot)) == 3
    _back_and_run(bot, clock)
    first, second = _decisions(bot)
    assert (first.source_ts, first.logged_by) == ("1700000030.1", "U2")
    assert (second.source_ts, second.logged_by) == ("1700000031.1", "U4")
    assert len(_cards(bot)) == 2
    assert _dms(bot, "U6") == ["That message in <#C1> is already logged as D-1."]
    assert _dms(bot, "U2") == [] and _dms(bot, "U4") == []
    assert {r.status for r in _reactions(bot)} == {OutboxStatus.SENT}


def test_a_rate_limited_read_waits_exactly_retry_after(bot: Bot, clock: FrozenClock) -> None:
    _slack_back(bot)
    bot.fake.fail_next("conversations.history", "ratelimited", retry_after=45)
    _react(bot, "1700000030.1", "U2", "EvRate01")
    settle(bot)
    [kept] = _reactions(bot)
    assert kept.next_attempt_at == clock.now() + timedelta(seconds=45)
    clock.advance(seconds=44)
    assert bot.root.outbox.run_due() == 0 and _decisions(bot) == []
    clock.advance(seconds=1)
    bot.root.outbox.run_due()
    assert len(_decisions(bot)) == 1 and len(_cards(bot)) == 1


def test_a_message_deleted_during_the_outage_is_told_by_dm(bot: Bot, clock: FrozenClock) -> None:
    _slack_back(bot)
    _slack_down(bot)
    _react(bot, "1700000030.1", "U2", "EvGone01")
    settle(bot)
    _back_and_run(bot, clock, deleted=("1700000030.1",))
    assert _decisions(bot) == []
    [dm] = _dms(bot, "U2")
    assert "reacted to with :memo: in <#C1> was deleted" in dm and "/decision" in dm
    assert _reactions(bot)[0].status == OutboxStatus.SENT
    clock.advance(hours=1)
    assert bot.root.outbox.run_due() == 0 and len(_dms(bot, "U2")) == 1


def test_a_reaction_unread_for_the_whole_window_is_given_up_with_a_dm(
    bot: Bot, clock: FrozenClock
) -> None:
    _slack_back(bot)
    _slack_down(bot, READS)  # Slack will not let the bot read; it can still post
    _react(bot, "1700000030.1", "U2", "EvLate01")
    settle(bot)
    window = bot.services.settings.slack_reaction_give_up_seconds
    clock.advance(seconds=window - 60)
    bot.root.outbox.run_due()
    assert _reactions(bot)[0].status == OutboxStatus.PENDING and _dms(bot, "U2") == []
    clock.advance(seconds=60)
    bot.root.outbox.run_due()
    [kept] = _reactions(bot)
    assert kept.status == OutboxStatus.FAILED and "service_unavailable" in (kept.last_error or "")
    [dm] = _dms(bot, "U2")
    assert "Slack didn't answer for 24 hours" in dm and "add it again" in dm
    assert _decisions(bot) == []
    clock.advance(hours=1)
    assert bot.root.outbox.run_due() == 0 and len(_dms(bot, "U2")) == 1


def test_a_read_slack_refuses_for_good_is_told_and_holds_up_nothing(
    bot: Bot, clock: FrozenClock
) -> None:
    """A refusal that will not change is told at once, not waited on for a day in front of
    the channel's other reactions."""
    _slack_back(bot)
    bot.fake.fail_next("conversations.history", "access_denied")
    _react(bot, "1700000030.1", "U2", "EvNo0001")
    settle(bot)
    _react(bot, "1700000031.1", "U4", "EvNo0002")
    settle(bot)
    [dm] = _dms(bot, "U2")
    assert "Slack refused to show me" in dm and "(access_denied)" in dm
    [d] = _decisions(bot)
    assert d.source_ts == "1700000031.1" and d.logged_by == "U4"
    assert {r.status for r in _reactions(bot)} == {OutboxStatus.SENT}


def test_a_later_reaction_in_the_channel_waits_for_an_earlier_one(
    bot: Bot, clock: FrozenClock
) -> None:
    """The first to react logs the message even when Slack answers the second first: a
    channel's reactions are worked in the order they were kept."""
    _slack_back(bot)
    bot.fake.fail_next("conversations.history", "ratelimited", retry_after=120)
    _react(bot, "1700000030.1", "U2", "EvWait01")
    settle(bot)
    _react(bot, "1700000030.1", "U6", "EvWait02")  # Slack would answer this one now
    settle(bot)
    assert _decisions(bot) == []
    clock.advance(seconds=120)
    bot.root.outbox.run_due()
    [d] = _decisions(bot)
    assert d.logged_by == "U2" and _dms(bot, "U2") == []
    assert _dms(bot, "U6") == ["That message in <#C1> is already logged as D-1."]
