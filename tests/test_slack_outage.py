"""Slack's Web API slow or down, in process: acks never wait on it, every message the bot owes
goes through the outbox (sent once, each conversation in order, Retry-After honoured, a
refusal recorded and told), a person is told once that a reply is late, a reply past the
response_url's life goes to their DM, and an outage is one log line, not a traceback.

The real-process drills (`chatbot serve` against a slow and a dead Slack) are in
test_slack_outage_drills.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from chatbot.background import TrackedExecutor
from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.decisions.models import Decision
from chatbot.outbox.models import OutboxMessage, OutboxStatus
from chatbot.root import build_root, build_web
from chatbot.services import build_services
from chatbot.slack.owed import Message
from tests.cli_helpers import free_port
from tests.conftest import Bot, make_settings
from tests.factories import settle
from tests.fakes.slack_api import FakeSlack
from tests.slack_driver import AppServer, SlackDriver

LATE = "Slack is slow to answer"


def rows(bot: Bot) -> list[OutboxMessage]:
    with bot.services.db.session() as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())  # type: ignore[arg-type]


def cards(fake: FakeSlack, words: str) -> list[Any]:
    return [c for c in fake.of("chat.postMessage", ok=True) if words in c.params.get("text", "")]


def late_notices(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.calls if LATE in str(c.params.get("text", ""))]


def test_acks_do_not_wait_for_slack(bot: Bot) -> None:
    """While Slack answers nothing at all, /intent, /decision and an event are acknowledged:
    nothing on the way to the ack (authorization included) calls the Web API."""
    gate = bot.fake.hold()
    try:
        assert bot.slack.command("/intent", "Held intent").status == 200
        assert bot.slack.command("/decision", "Held decision because reasons").status == 200
        event = {"type": "app_mention", "user": "U1", "text": "<@UBOT0001> help", "channel": "C1"}
        assert bot.slack.event({**event, "ts": "1700000000.000100"}).status == 200
    finally:
        gate.set()
    settle(bot)
    assert cards(bot.fake, "Held intent") and cards(bot.fake, "Held decision")


def test_outage_waits_in_order_and_sends_each_message_once(bot: Bot, clock: FrozenClock) -> None:
    """Slack is unavailable: both decisions are stored at once, their cards wait in the outbox
    (the second behind the first: same channel), the person is told once that the reply is
    late; when Slack is back, each card is posted once, in order."""
    bot.fake.fail_next("chat.postMessage", "service_unavailable", times=1000)
    bot.slack.command("/decision", "First call because one")
    settle(bot)
    bot.slack.command("/decision", "Second call because two")
    settle(bot)
    with bot.services.db.session() as s:
        assert len(s.exec(select(Decision)).all()) == 2  # what was typed is stored
    waiting = rows(bot)
    assert [r.status for r in waiting] == [OutboxStatus.PENDING] * 2
    assert waiting[0].lane == waiting[1].lane and waiting[1].attempts == 0
    assert not late_notices(bot.fake)  # not late yet

    clock.advance(seconds=bot.services.settings.slack_late_notice_seconds + 1)
    bot.root.outbox.run_due()
    clock.advance(minutes=5)
    bot.root.outbox.run_due()
    notices = late_notices(bot.fake)
    assert len(notices) == 1 and notices[0].method == "respond"  # once, through response_url
    assert "D-1" in notices[0].params["text"]

    bot.fake.reset()  # Slack is back
    clock.advance(minutes=5)
    bot.root.outbox.run_due()
    first, second = cards(bot.fake, "First call"), cards(bot.fake, "Second call")
    assert len(first) == 1 and len(second) == 1
    assert float(first[0].response["ts"]) < float(second[0].response["ts"])
    assert all(r.status == OutboxStatus.SENT for r in rows(bot))
    clock.advance(minutes=5)
    assert bot.root.outbox.run_due() == 0 and len(bot.fake.of("chat.postMessage")) == 2
    assert not late_notices(bot.fake)


def test_ratelimited_waits_retry_after(bot: Bot, clock: FrozenClock) -> None:
    bot.fake.fail_next("chat.postMessage", "ratelimited", retry_after=45)
    bot.slack.command("/decision", "Rate limited because busy")
    settle(bot)
    (row,) = rows(bot)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=45)
    clock.advance(seconds=44)
    assert bot.root.outbox.run_due() == 0
    clock.advance(seconds=1)
    assert bot.root.outbox.run_due() == 1 and len(cards(bot.fake, "Rate limited")) == 1


def test_a_refusal_is_recorded_not_retried_and_told(bot: Bot, clock: FrozenClock) -> None:
    bot.fake.not_member.add("CNOPE")
    bot.slack.command("/decision", "Nowhere to post because uninvited", channel="CNOPE")
    settle(bot)
    card = rows(bot)[0]
    assert card.status == OutboxStatus.FAILED and card.last_error == "not_in_channel"
    told = [c for c in bot.fake.of("respond") if "D-1" in c.params.get("text", "")]
    assert len(told) == 1 and "/invite" in told[0].params["text"]
    clock.advance(hours=1)
    assert bot.root.outbox.run_due() == 0
    assert len(bot.fake.of("chat.postMessage", ok=False)) == 1


def test_a_lost_answer_is_found_not_posted_twice(bot: Bot, clock: FrozenClock) -> None:
    """Slack posted the card but its answer was an error: the retry finds the card by the
    metadata it carries instead of posting a second one."""
    bot.fake.fail_next("chat.postMessage", "internal_error", landed=True)
    bot.slack.command("/decision", "Posted once because metadata")
    settle(bot)
    assert rows(bot)[0].state.get("maybe_posted") is True
    clock.advance(minutes=1)
    bot.root.outbox.run_due()
    assert len(bot.fake.messages) == 1  # one card in the channel
    posted = next(iter(bot.fake.messages.values()))
    with bot.services.db.session() as s:
        decision = s.exec(select(Decision)).one()
    assert decision.card_ts == posted["ts"] and rows(bot)[0].status == OutboxStatus.SENT


def test_a_reply_past_the_response_urls_life_goes_to_the_dm(bot: Bot, clock: FrozenClock) -> None:
    dead_hook = f"http://127.0.0.1:{free_port()}/respond/late"
    owed = bot.root.slack.outbox
    sent = owed.say(Message("C1", "Your search results", user="U1", response_url=dead_hook))
    assert sent.waiting
    clock.advance(seconds=bot.services.settings.slack_response_url_seconds + 1)
    bot.root.outbox.run_due()
    (dm,) = bot.fake.of("chat.postMessage")
    assert dm.params["channel"] == "U1" and dm.params["text"] == "Your search results"
    assert not bot.fake.of("chat.postEphemeral")


@pytest.fixture
def dead_slack_bot(
    db_url: str, clock: FrozenClock
) -> Iterator[tuple[SlackDriver, TrackedExecutor, Database]]:
    """The real app with SLACK_API_URL pointing where nothing listens."""
    dead = f"http://127.0.0.1:{free_port()}/api/"
    services = build_services(make_settings(db_url, dead), clock=clock, migrate=False)
    executor = TrackedExecutor(max_workers=4)
    root = build_root(services, executor)
    router, _app = build_web(root)
    server = AppServer(router)
    try:
        yield SlackDriver(server.url, dead + "respond/x"), executor, services.db
    finally:
        executor.wait_idle(30)
        server.close()
        executor.shutdown(wait=True)
        services.db.engine.dispose()


def test_an_unreachable_slack_is_one_log_line_not_a_traceback(
    dead_slack_bot: tuple[SlackDriver, TrackedExecutor, Database],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With Slack unreachable a reaction is kept (its read waits in the outbox) and a
    /decision typed meanwhile is stored, its card owed; one line per retry, no traceback."""
    driver, executor, db = dead_slack_bot
    caplog.set_level(logging.INFO)
    event = {
        "type": "reaction_added",
        "user": "U1",
        "reaction": "memo",
        "item": {"type": "message", "channel": "C1", "ts": "1700000000.000200"},
    }
    assert driver.event(event).status == 200
    assert driver.command("/decision", "Typed while Slack is down").status == 200
    assert executor.wait_idle(30)
    with db.session() as s:
        assert s.exec(select(Decision)).one().decision == "Typed while Slack is down"
        owed = s.exec(select(OutboxMessage)).all()
    # The reaction and the card: both wait for Slack.
    assert [r.status for r in owed] == [OutboxStatus.PENDING] * 2
    assert sorted(r.kind for r in owed) == ["slack.message", "slack.reaction"]
    retries = [r for r in caplog.records if "(slack.reaction) retry in" in r.getMessage()]
    assert len(retries) == 1 and "Slack unreachable" in retries[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
