"""A message the bot owes Slack is posted once across a crash of its sender, in process.

Each test stops a send at a named crash point (THROUGHLINE_TEST_CRASH_AT, raising
`SimulatedCrash` in this process): `slack_outbox.before_send` (claimed, nothing sent yet) or
`slack_outbox.after_send` (Slack accepted the post, the row does not say so yet). The row's
lease then runs out on the frozen clock; the next claim marks it `claim_lapsed`, so the sender
looks for the message by the metadata it carries before posting: a message Slack has is
adopted (its ts recorded and what follows from it owed, as a normal send does), one it has
not is posted. Either way it is in Slack once. `tests/test_crash_drills.py` kills a real
`chatbot serve` at these points.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlmodel import col, select

from chatbot.clock import FrozenClock
from chatbot.crashpoints import SimulatedCrash
from chatbot.outbox.models import OutboxMessage, OutboxStatus
from chatbot.outbox.worker import OutboxWorker
from chatbot.slack.owed import Message
from tests.conftest import Bot
from tests.factories import reply, settle, start_guided, stored_intent
from tests.fakes.slack_api import FakeSlack, im_of

POINTS = ("before_send", "after_send")


def _rows(bot: Bot) -> list[OutboxMessage]:
    with bot.services.db.session() as s:
        return list(s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def _in_slack(fake: FakeSlack, words: str) -> list[dict[str, Any]]:
    """The messages Slack holds (top level or in a thread) whose text has `words`."""
    return [m for m in fake.messages.values() if words in str(m.get("text", ""))]


def _lease_runs_out(bot: Bot, clock: FrozenClock) -> None:
    clock.advance(seconds=bot.services.settings.outbox_lease_seconds + 1)


def _all_sent_with_ts(bot: Bot) -> None:
    for row in _rows(bot):
        assert row.status == OutboxStatus.SENT, (row.id, row.status, row.last_error)
        assert not row.claim_lapsed and row.locked_until is None
        if not row.payload.get("user") and not row.payload.get("reply"):
            assert row.state.get("ts"), row  # what Slack answered is recorded


@pytest.mark.parametrize("point", POINTS)
def test_a_root_post_killed_mid_send_is_in_slack_once_with_its_thread(
    point: str, bot: Bot, clock: FrozenClock, crash_at: Any
) -> None:
    """/intent: the thread's root is owed with the intent; its send dies. Once the lease has
    run out the clock sends it: the root is in the channel once, the intent holds its ts, and
    the first question (owed by the root's settle) is in its thread once."""
    crash_at(f"slack_outbox.{point}")
    assert bot.slack.command("/intent", "Refunds in one click").status == 200
    settle(bot)
    crash_at(None)
    assert len(_in_slack(bot.fake, "Drafting intent")) == (1 if point == "after_send" else 0)
    assert not _in_slack(bot.fake, "Outcome")
    [root_row] = _rows(bot)
    assert root_row.status == OutboxStatus.PENDING and root_row.locked_until is not None

    assert bot.root.outbox.run_due() == 0  # the dead claim's lease still holds the row
    _lease_runs_out(bot, clock)
    assert bot.root.outbox.run_due() == 1
    settle(bot)

    [root] = _in_slack(bot.fake, "Drafting intent")
    [question] = _in_slack(bot.fake, "Outcome")
    assert question["thread_ts"] == root["ts"]
    assert stored_intent(bot.services.db).thread_ts == root["ts"]
    assert _rows(bot)[0].state["ts"] == root["ts"]
    _all_sent_with_ts(bot)
    # The sender looked before posting (and, after Slack had it, did not post at all).
    looked = bot.fake.of("conversations.history", ok=True)
    assert len(looked) == 1 and looked[0].params.get("include_all_metadata") in (True, "true", "1")
    posts = [c for c in bot.fake.of("chat.postMessage", ok=True) if "Drafting" in str(c.params)]
    assert len(posts) == 1

    _lease_runs_out(bot, clock)
    assert bot.root.outbox.run_due() == 0
    assert len(_in_slack(bot.fake, "Drafting intent")) == 1


@pytest.mark.parametrize("point", POINTS)
def test_a_thread_reply_killed_mid_send_is_in_the_thread_once(
    point: str, bot: Bot, clock: FrozenClock, crash_at: Any
) -> None:
    """The guided conversation's next question, owed with the answer, dies mid-send: it is
    found in the thread (conversations.replies) or posted, once."""
    root = start_guided(bot, "Refunds in one click")
    settle(bot)
    crash_at(f"slack_outbox.{point}")
    reply(bot, root, "Support agents can refund an order in one click so customers wait less")
    settle(bot)
    crash_at(None)
    asked = _in_slack(bot.fake, "Why now")
    assert len(asked) == (1 if point == "after_send" else 0)

    _lease_runs_out(bot, clock)
    bot.root.outbox.run_due()
    settle(bot)
    [question] = _in_slack(bot.fake, "Why now")
    assert question["thread_ts"] == root
    _all_sent_with_ts(bot)
    assert bot.fake.of("conversations.replies", ok=True)  # looked in the thread first


def test_many_clocks_after_a_crash_adopt_the_post_once(
    bot: Bot, clock: FrozenClock, crash_at: Any
) -> None:
    """Four clock threads find the lapsed row at the same instant: one claims it and adopts
    the post; the others find it held, then sent."""
    crash_at("slack_outbox.after_send")
    assert bot.slack.command("/intent", "Refunds in one click").status == 200
    settle(bot)
    crash_at(None)
    _lease_runs_out(bot, clock)
    # One process's outbox on four clock threads (a second process would owe what follows
    # under its own name; the real-process drill has that).
    clocks = [bot.root.outbox] * 4
    start = threading.Barrier(len(clocks))
    ran: list[int] = []

    def run(worker: OutboxWorker) -> None:
        start.wait()
        ran.append(worker.run_due())

    threads = [threading.Thread(target=run, args=(w,)) for w in clocks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    settle(bot)
    assert sum(ran) == 1
    assert len(_in_slack(bot.fake, "Drafting intent")) == 1
    assert len(_in_slack(bot.fake, "Outcome")) == 1
    _all_sent_with_ts(bot)


def test_a_failed_look_is_retried_not_posted_blindly(
    bot: Bot, clock: FrozenClock, crash_at: Any
) -> None:
    """Slack accepted the post, the sender died, and the look after the lease answers
    `internal_error`: the row waits and looks again, rather than posting a second root."""
    crash_at("slack_outbox.after_send")
    assert bot.slack.command("/intent", "Refunds in one click").status == 200
    settle(bot)
    crash_at(None)
    bot.fake.fail_next("conversations.history", "internal_error")
    _lease_runs_out(bot, clock)
    bot.root.outbox.run_due()
    [row] = _rows(bot)
    assert row.status == OutboxStatus.PENDING and row.claim_lapsed
    assert len(_in_slack(bot.fake, "Drafting intent")) == 1
    clock.advance(minutes=5)
    bot.root.outbox.run_due()
    settle(bot)
    assert len(_in_slack(bot.fake, "Drafting intent")) == 1
    assert len(_in_slack(bot.fake, "Outcome")) == 1
    _all_sent_with_ts(bot)


def test_a_dm_killed_after_slack_accepted_it_is_found_in_the_dm(
    bot: Bot, clock: FrozenClock, crash_at: Any
) -> None:
    """A message posted to a person's id lands in their DM with the bot, which is read by its
    own id (conversations.open), not by the person's."""
    crash_at("slack_outbox.after_send")
    with pytest.raises(SimulatedCrash):
        bot.root.slack.outbox.say(Message("U2", "A note for you"))
    crash_at(None)
    _lease_runs_out(bot, clock)
    assert bot.root.outbox.run_due() == 1
    [note] = _in_slack(bot.fake, "A note for you")
    assert (im_of("U2"), note["ts"]) in bot.fake.messages
    [row] = _rows(bot)
    assert row.status == OutboxStatus.SENT and row.state["ts"] == note["ts"]
    [looked] = bot.fake.of("conversations.history", ok=True)
    assert looked.params["channel"] == im_of("U2")


def test_the_look_reads_past_a_busy_channels_first_page(
    bot: Bot, clock: FrozenClock, crash_at: Any
) -> None:
    """250 messages were posted in the channel after the dead sender's root: the look pages
    on (conversations.history is newest first, 200 a page) and still finds it."""
    crash_at("slack_outbox.after_send")
    assert bot.slack.command("/intent", "Refunds in one click").status == 200
    settle(bot)
    crash_at(None)
    for n in range(250):
        bot.fake.add_message("C1", bot.fake.next_ts(), f"chatter {n}", user="U3")
    _lease_runs_out(bot, clock)
    bot.root.outbox.run_due()
    settle(bot)
    assert len(_in_slack(bot.fake, "Drafting intent")) == 1
    assert len(bot.fake.of("conversations.history", ok=True)) == 2
    _all_sent_with_ts(bot)
