"""App Home and an agent's proposed-decision card while Slack's Web API is down: both go
through the outbox like every other message (stored first, sent once when Slack answers),
so a person opening the tab or an agent proposing a decision loses nothing and gets no error.

Through the real Bolt app (signed requests) and the real MCP endpoint against the fake Slack;
the outbox is run by hand after moving the frozen clock.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from chatbot.agents.tokens import TokenService
from chatbot.background import TrackedExecutor
from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.decisions.models import Decision
from chatbot.intent.service import IntentService
from chatbot.outbox import store
from chatbot.outbox.latest import owe_latest_in
from chatbot.outbox.models import OutboxMessage, OutboxStatus
from chatbot.root import build_root, build_web
from chatbot.services import build_services
from chatbot.slack.ids import AgentId
from tests.cli_helpers import free_port
from tests.conftest import Bot, make_settings
from tests.factories import make_intent, make_team, settle
from tests.mcp_helpers import http_client, run, tool_json
from tests.slack_driver import AppServer, SlackDriver

DOWN = 1000  # answers refused: longer than any test runs


def home_rows(bot: Bot) -> list[OutboxMessage]:
    with bot.services.db.session() as s:
        query = select(OutboxMessage).where(OutboxMessage.kind == "slack.home")
        return list(s.exec(query).all())


def open_home(bot: Bot, user: str = "U5") -> None:
    answer = bot.slack.event({"type": "app_home_opened", "user": user, "channel": "D1"})
    assert answer.status == 200
    settle(bot)


def published(bot: Bot) -> list[Any]:
    return bot.fake.of("views.publish", ok=True)


def test_home_opened_while_slack_is_down_is_published_once_when_it_is_back(
    bot: Bot, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The tab opened during an outage: no error, no traceback, one pending row; an intent
    made meanwhile is on the tab published when Slack is back (the view is built at send
    time), and it is published once."""
    caplog.set_level(logging.INFO)
    bot.fake.fail_next("views.publish", "service_unavailable", times=DOWN)
    open_home(bot)
    (row,) = home_rows(bot)
    assert row.status == OutboxStatus.PENDING and row.dedupe_key == "slack-home:U5"
    assert row.last_error == "service_unavailable" and not published(bot)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"

    make_intent(bot.services.db, bot.services.clock, "Made while Slack was down", user="U5")
    bot.fake.reset()  # Slack is back
    clock.advance(minutes=5)
    bot.root.outbox.run_due()
    (publish,) = published(bot)
    assert publish.params["user_id"] == "U5"
    assert "Made while Slack was down" in json.dumps(publish.params["view"])
    assert home_rows(bot)[0].status == OutboxStatus.SENT
    clock.advance(minutes=5)
    assert bot.root.outbox.run_due() == 0 and len(published(bot)) == 1


def test_home_opened_while_slack_is_unreachable_waits_without_a_traceback(
    db_url: str, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens where Slack should be: the event is acknowledged, the row waits with
    the reason, and the log has no traceback."""
    caplog.set_level(logging.INFO)
    dead = f"http://127.0.0.1:{free_port()}/api/"
    services = build_services(make_settings(db_url, dead), clock=clock, migrate=False)
    executor = TrackedExecutor(max_workers=2)
    server = AppServer(build_web(build_root(services, executor))[0])
    try:
        driver = SlackDriver(server.url, dead + "respond/x")
        opened = {"type": "app_home_opened", "user": "U5", "channel": "D1", "tab": "home"}
        assert driver.event(opened).status == 200
        assert executor.wait_idle(30)
        with services.db.session() as s:
            (row,) = s.exec(select(OutboxMessage)).all()
        assert row.kind == "slack.home" and row.status == OutboxStatus.PENDING
        assert (row.last_error or "").startswith("Slack unreachable")
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    finally:
        executor.wait_idle(10)
        server.close()
        executor.shutdown(wait=True)
        services.db.engine.dispose()


def test_two_opens_while_down_are_one_row_and_one_publish(bot: Bot, clock: FrozenClock) -> None:
    bot.fake.fail_next("views.publish", "service_unavailable", times=DOWN)
    open_home(bot)
    open_home(bot)
    open_home(bot, "U6")
    rows = home_rows(bot)
    assert sorted(r.dedupe_key for r in rows) == ["slack-home:U5", "slack-home:U6"]
    assert all(r.status == OutboxStatus.PENDING for r in rows)
    bot.fake.reset()
    clock.advance(minutes=5)
    bot.root.outbox.run_due()
    assert sorted(c.params["user_id"] for c in published(bot)) == ["U5", "U6"]

    # Opened again once sent: the same row is re-armed and published again, at once.
    open_home(bot)
    assert len(home_rows(bot)) == 2 and len(published(bot)) == 3


def test_a_request_during_a_send_publishes_again_with_the_newer_version(
    db: Database, clock: FrozenClock
) -> None:
    """Asked again while a send holds the row (another thread, even of this process): the
    asker does not send it too, and the send in flight finds its version stale when it
    settles, so the row is sent once more rather than marked sent with an older view."""
    me = "host:1"
    with db.transaction() as conn:
        first = owe_latest_in(conn, clock.now(), "slack.home", "slack-home:U1", {"u": 1}, me)
    assert first.row is not None and first.row.attempts == 1
    with db.transaction() as conn:
        again = owe_latest_in(conn, clock.now(), "slack.home", "slack-home:U1", {"u": 1}, me)
    assert again.row is None and again.row_id == first.row_id
    sent, follow = store.settle_sent(db, clock, first.row)
    assert not sent
    row = store.get(db, first.row_id)
    assert row is not None and row.status == OutboxStatus.PENDING and row.locked_by is None
    # Free again: the next request claims it (a sent row too).
    with db.transaction() as conn:
        third = owe_latest_in(conn, clock.now(), "slack.home", "slack-home:U1", {"u": 1}, me)
    assert third.row is not None and third.row.version == 3
    assert store.settle_sent(db, clock, third.row)[0]
    with db.transaction() as conn:
        fourth = owe_latest_in(conn, clock.now(), "slack.home", "slack-home:U1", {"u": 1}, me)
    assert fourth.row is not None and fourth.row.status == OutboxStatus.PENDING
    # A claim that ran out unsettled (its process died) is taken over and marked, as
    # `store.claim` marks it, so a handler that must look before sending again does.
    assert not fourth.row.claim_lapsed
    clock.advance(seconds=store.LEASE.total_seconds() + 1)
    with db.transaction() as conn:
        fifth = owe_latest_in(conn, clock.now(), "slack.home", "slack-home:U1", {"u": 1}, "host:2")
    assert fifth.row is not None and fifth.row.locked_by == "host:2" and fifth.row.claim_lapsed
    with db.session() as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1


def test_owing_the_home_is_one_statement(bot: Bot) -> None:
    """Storing (or re-arming) and claiming the row is one statement; the send settles it in
    one more transaction."""
    counted: list[str] = []

    def count(_c: Any, _cur: Any, sql: str, *_rest: Any) -> None:
        if not sql.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE: the transaction itself
            counted.append(sql)

    engine = bot.services.db.engine
    open_home(bot)  # the row exists: the next open re-arms it
    event.listen(engine, "before_cursor_execute", count)
    try:
        with bot.services.db.transaction() as conn:
            owe_latest_in(
                conn, bot.services.clock.now(), "slack.home", "slack-home:U5", {"user": "U5"}, "w"
            )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(counted) == 1, counted


# --- an agent's proposed decision ------------------------------------------------------------
def test_mcp_propose_while_slack_is_down_is_stored_and_its_card_posted_once_later(
    bot: Bot, clock: FrozenClock
) -> None:
    db = bot.services.db
    make_team(db, clock, "payments", "CPAY1")
    bot.fake.channel_members["CPAY1"] = {"U1"}
    token = TokenService(db, clock).create("U1", "laptop-claude").secret
    bot.fake.fail_next("chat.postMessage", "service_unavailable", times=DOWN)
    args = {"request_id": "r-1", "decision": "Cache refund eligibility for 5 minutes"}

    async def work(client: Any) -> Any:
        return await client.call_tool("log_decision", args)

    answer = tool_json(run(http_client(bot.server.url + "/mcp", token), work))
    assert answer["posted"] is False and answer["pending"] is True
    assert "when Slack is back" in answer["note"]
    with db.session() as s:
        (d,) = s.exec(select(Decision)).all()
        (row,) = s.exec(select(OutboxMessage)).all()
    assert d.status == "proposed" and d.card_ts is None and row.status == OutboxStatus.PENDING

    bot.fake.reset()
    clock.advance(minutes=5)
    bot.root.outbox.run_due()
    (card,) = [
        c for c in bot.fake.of("chat.postMessage", ok=True) if c.params["channel"] == "CPAY1"
    ]
    text = json.dumps(card.params["blocks"])
    assert "Proposed by <@U1> via laptop-claude" in text and AgentId.ACCEPT_DECISION in text
    with db.session() as s:
        stored = s.get(Decision, d.id)
        assert stored is not None and stored.card_ts == card.response["ts"]
        assert stored.card_channel == "CPAY1"
    clock.advance(minutes=5)
    assert bot.root.outbox.run_due() == 0
    assert len(bot.fake.of("chat.postMessage", ok=True)) == 1


def test_mcp_progress_while_slack_is_down_waits_and_is_posted_in_the_thread(
    bot: Bot, clock: FrozenClock
) -> None:
    db = bot.services.db
    make_team(db, clock, "payments", "CPAY1")
    bot.fake.channel_members["CPAY1"] = {"U1"}
    intent = make_intent(db, clock, "Refunds in one click", channel="CPAY1")
    thread = "1700000000.000100"
    IntentService(db, clock).set_card(intent.intent.id or 0, thread)
    token = TokenService(db, clock).create("U1", "laptop-claude").secret
    bot.fake.fail_next("chat.postMessage", "service_unavailable", times=DOWN)
    args = {"request_id": "p-1", "intent": intent.ref, "text": "API done"}

    async def work(client: Any) -> Any:
        return await client.call_tool("post_progress", args)

    answer = tool_json(run(http_client(bot.server.url + "/mcp", token), work))
    assert answer["posted"] is False and answer["pending"] is True and answer["ts"] is None
    bot.fake.reset()
    clock.advance(minutes=5)
    bot.root.outbox.run_due()
    (posted,) = bot.fake.of("chat.postMessage", ok=True)
    assert posted.params["thread_ts"] == thread and "API done" in posted.params["text"]


def test_accept_while_slack_is_down_updates_the_card_once_when_it_is_back(
    bot: Bot, clock: FrozenClock
) -> None:
    """The Accept click is stored at once; the card's update waits for Slack and lands once."""
    db = bot.services.db
    make_team(db, clock, "payments", "CPAY1")
    bot.fake.channel_members["CPAY1"] = {"U1", "U2"}
    token = TokenService(db, clock).create("U1", "laptop-claude").secret
    args = {"request_id": "a-1", "decision": "Cache refund eligibility for 5 minutes"}

    async def work(client: Any) -> Any:
        return await client.call_tool("log_decision", args)

    assert tool_json(run(http_client(bot.server.url + "/mcp", token), work))["posted"] is True
    with db.session() as s:
        (d,) = s.exec(select(Decision)).all()
    bot.fake.fail_next("chat.update", "service_unavailable", times=DOWN)
    assert bot.slack.action(AgentId.ACCEPT_DECISION, str(d.id), "U2", "CPAY1", d.card_ts).status
    settle(bot)
    with db.session() as s:
        assert s.get(Decision, d.id).status == "accepted"  # type: ignore[union-attr]
    assert not bot.fake.of("chat.update", ok=True)
    bot.fake.reset()
    clock.advance(minutes=5)
    bot.root.outbox.run_due()
    (update,) = bot.fake.of("chat.update", ok=True)
    assert update.params["ts"] == d.card_ts and "Accepted by <@U2>" in json.dumps(
        update.params["blocks"]
    )
