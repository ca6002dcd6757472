"""The database unreachable, in process: the real app over HTTP while its database is down.

On PostgreSQL the app reaches the database through a TCP proxy that refuses or black-holes
it; on SQLite another connection holds the write lock, so every write waits out the busy
timeout (a setting, half a second here) and fails. Either way a person gets the ack and one
message that gives back what they typed (nothing was stored), each webhook a 503 with a reason,
`/healthz` a 503 in time, and the log one line per failure, never a traceback.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine, make_url
from sqlmodel import select

from chatbot.background import TrackedExecutor
from chatbot.clock import FrozenClock
from chatbot.intent.models import Intent
from chatbot.root import build_root, build_web
from chatbot.services import build_services
from tests.conftest import PG_ADMIN, Bot, make_settings
from tests.factories import start_guided
from tests.fakes.slack_api import FakeSlack, FakeSlackServer
from tests.fakes.tcp_proxy import TcpProxy
from tests.outage_helpers import (
    ACK_LIMIT,
    DEPLOY_TOKEN,
    GITHUB_SECRET,
    HEALTHZ_LIMIT,
    JIRA_SECRET,
    WEBHOOK_LIMIT,
    healthz,
    through_proxy,
    webhooks,
)
from tests.slack_driver import AppServer, SlackDriver

LIMITS = {
    "db_connect_timeout_seconds": 2.0,
    "db_statement_timeout_seconds": 0.5,
    "db_pool_timeout_seconds": 1.0,
    "healthz_timeout_seconds": 1.0,
}


@dataclass
class Down:
    """The bot, and the switch that takes its database away and brings it back."""

    bot: Bot
    dialect: str
    proxy: TcpProxy | None
    sqlite_path: str | None
    _lock: sqlite3.Connection | None = None

    def refuse(self) -> None:
        if self.proxy is not None:
            self.proxy.refuse()
            return
        assert self.sqlite_path is not None
        self._lock = sqlite3.connect(self.sqlite_path, isolation_level=None)
        self._lock.execute("BEGIN EXCLUSIVE")

    def restore(self) -> None:
        if self.proxy is not None:
            self.proxy.forward()
        if self._lock is not None:
            self._lock.rollback()
            self._lock.close()
            self._lock = None

    def intents(self) -> int:
        with self.bot.services.db.session() as session:
            return int(session.exec(select(func.count()).select_from(Intent)).one())


@contextmanager
def _down(
    db_url: str,
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    clock: FrozenClock,
    **extra: Any,
) -> Iterator[Down]:
    dialect = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    proxy = None
    url = db_url
    if dialect == "postgresql":
        target = make_url(PG_ADMIN)
        proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
        url = through_proxy(db_url, proxy.port)
    settings = make_settings(
        url,
        slack_server.api_url,
        github_webhook_secret=GITHUB_SECRET,
        deploy_webhook_token=DEPLOY_TOKEN,
        jira_webhook_secret=JIRA_SECRET,
        **(LIMITS | extra),
    )
    services = build_services(settings, clock=clock, migrate=False)
    executor = TrackedExecutor(max_workers=8)
    root = build_root(services, executor)
    router, _app = build_web(root)
    server = AppServer(router)
    driver = SlackDriver(server.url, slack_server.response_url("down"))
    bot = Bot(root, driver, fake_slack, executor, server)
    switch = Down(bot, dialect, proxy, make_url(db_url).database if dialect == "sqlite" else None)
    try:
        yield switch
    finally:
        switch.restore()
        executor.wait_idle(10)
        server.close()
        executor.shutdown(wait=True)
        root.slack.forms.wait_idle(10)
        root.slack.forms.shutdown()
        services.db.engine.dispose()
        if proxy is not None:
            proxy.close()


@pytest.fixture
def down(
    db_url: str, slack_server: FakeSlackServer, fake_slack: FakeSlack, clock: FrozenClock
) -> Iterator[Down]:
    """The bot on each database in turn."""
    with _down(db_url, slack_server, fake_slack, clock) as switch:
        yield switch


@pytest.fixture
def pg_down(
    _engines: dict[str, tuple[str, Engine]],
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    clock: FrozenClock,
) -> Iterator[Down]:
    """The bot on PostgreSQL behind the proxy (a black hole needs a network in between)."""
    url, _engine = _engines["postgresql"]
    with _down(url, slack_server, fake_slack, clock) as switch:
        yield switch


def _failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_commands_during_an_outage_are_acked_and_give_the_text_back(
    down: Down, caplog: pytest.LogCaptureFixture
) -> None:
    bot = down.bot
    down.refuse()
    typed = [f"Refunds <!channel> & co {n}" for n in range(5)]
    acks = [bot.slack.command("/intent", text) for text in typed]
    assert [a.status for a in acks] == [200] * 5
    assert max(a.elapsed for a in acks) < ACK_LIMIT
    bot.settle(30)
    told = [c.params["text"] for c in bot.fake.of("respond")]
    assert len(told) == 5, told
    for n in range(len(typed)):
        [mine] = [t for t in told if f"co {n}" in t]
        assert f"/intent Refunds &lt;!channel&gt; &amp; co {n}" in mine
        assert "<!channel>" not in mine and "nothing was stored" in mine
    assert not bot.fake.of("chat.postMessage")
    records = _failures(caplog)
    assert len(records) == 5 and all(r.exc_info is None for r in records), records
    assert all("database is unreachable" in r.getMessage() for r in records)
    down.restore()
    assert down.intents() == 0
    start_guided(bot, "Back again")  # the next command works
    assert down.intents() == 1


def test_a_form_submitted_during_an_outage_comes_back_in_the_message(down: Down) -> None:
    bot = down.bot
    assert bot.slack.command("/intent", "").status == 200
    bot.settle()
    form = bot.fake.wait_for("views.open")[-1].params["view"]
    down.refuse()
    values = {
        "title": "Refunds in one click",
        "outcome": "Agents refund <b> in 1 click",
        "checks": "When an agent clicks Refund, then the order shows Refunded",
    }
    assert bot.slack.view_submission(form, values).status == 200
    bot.settle(30)
    [dm] = bot.fake.of("chat.postMessage")
    text = dm.params["text"]
    assert dm.params["channel"] == "U1"
    assert "Refunds in one click" in text and "Agents refund &lt;b&gt; in 1 click" in text
    assert "then the order shows Refunded" in text and "nothing was stored" in text
    down.restore()
    assert down.intents() == 0


def test_a_thread_reply_during_an_outage_is_given_back_in_the_thread(
    down: Down, caplog: pytest.LogCaptureFixture
) -> None:
    bot = down.bot
    root = start_guided(bot, "Refunds in one click")
    down.refuse()
    answer = "Agents refund an order in one click & customers wait less"
    assert bot.slack.thread_reply("C1", root, answer).status == 200
    bot.settle(30)
    [told] = bot.fake.of("chat.postEphemeral")
    assert told.params["thread_ts"] == root and told.params["user"] == "U2"
    assert "one click &amp; customers wait less" in told.params["text"]
    assert all(r.exc_info is None for r in _failures(caplog))


def test_webhooks_answer_503_with_a_reason_in_time(
    down: Down, caplog: pytest.LogCaptureFixture
) -> None:
    base = down.bot.server.url
    assert all(a.status < 300 for a in webhooks(base, 1).values())
    down.refuse()
    for name, answer in webhooks(base, 2).items():
        assert answer.status == 503, (name, answer)
        assert "database" in answer.body["error"], (name, answer)
        assert answer.seconds < WEBHOOK_LIMIT
    assert all(r.exc_info is None for r in _failures(caplog))
    down.restore()
    assert all(a.status < 300 for a in webhooks(base, 3).values())


@pytest.mark.postgresql
@pytest.mark.parametrize("outage", ["refuse", "black_hole"])
def test_healthz_answers_503_in_time_and_asks_one_at_a_time(pg_down: Down, outage: str) -> None:
    assert pg_down.proxy is not None
    base = pg_down.bot.server.url
    assert healthz(base).status == 200
    getattr(pg_down.proxy, outage)()
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(healthz(base))) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [a.status for a in answers] == [503] * 5
    assert max(a.seconds for a in answers) < HEALTHZ_LIMIT
    assert all(str(a.body["database"]).startswith("unreachable: ") for a in answers)
    asking = [t for t in threading.enumerate() if t.name == "healthz-database"]
    assert len(asking) <= 1
    pg_down.restore()
    started = time.monotonic()
    while healthz(base).status != 200:
        assert time.monotonic() - started < 10, "healthz stays 503 after the database is back"
