"""Drills: `chatbot serve` (a real process, its clock inside) while its PostgreSQL is refused or
black-holed by a TCP proxy, then back.

During the outage every request still gets its answer within its limit: `/intent` its ack
within Slack's 3 s and then one honest message that echoes what was typed (it was not stored),
`/healthz` a 503 with the reason within 2 s, each webhook a 503 with a reason within 10 s; the
log has one line per failure and no traceback, and the clock says the database is gone once,
not once per job per tick. When the database is back, the next request works at once.

The database's timeouts are settings, so the drills run in seconds (`DB_*` below). Figures
(ack, healthz, recovery) are printed; docs/reliability.md quotes them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from chatbot.db.engine import make_engine
from chatbot.db.migrate import upgrade
from tests.cli_helpers import START_DEADLINE, free_port
from tests.conftest import PG_ADMIN, _pg_schema_url
from tests.fakes.slack_api import FakeSlack, FakeSlackServer
from tests.fakes.tcp_proxy import TcpProxy
from tests.outage_helpers import (
    ACK_LIMIT,
    DEPLOY_TOKEN,
    GITHUB_SECRET,
    HEALTHZ_LIMIT,
    JIRA_SECRET,
    WEBHOOK_LIMIT,
    Timed,
    healthz,
    through_proxy,
    webhooks,
)
from tests.slack_driver import SIGNING_SECRET, SlackDriver

pytestmark = [pytest.mark.postgresql, pytest.mark.drill]

COMMANDS = 10
# Short database limits so a drill takes seconds (production defaults: docs/operations.md).
DRILL_SETTINGS = {
    "DB_CONNECT_TIMEOUT_SECONDS": "2",
    "DB_STATEMENT_TIMEOUT_SECONDS": "3",
    "DB_POOL_TIMEOUT_SECONDS": "2",
    "CLOCK_TICK_SECONDS": "1",
    # Longer than any drill's outage: the clock says "unreachable" once and "back" once.
    "DB_OUTAGE_LOG_SECONDS": "120",
}
# How long the clock must have ticked into the outage before it ends (several ticks of 1 s).
OUTAGE_TICKS = 4.0


@dataclass
class Served:
    base: str
    proxy: TcpProxy
    log: Path
    db_url: str
    process: subprocess.Popen[str]

    def log_from(self, offset: int) -> str:
        with self.log.open("r", encoding="utf-8", errors="replace") as fh:
            fh.seek(offset)
            return fh.read()

    def log_size(self) -> int:
        return self.log.stat().st_size


def _wait(what: str, done: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, slack_server: FakeSlackServer
) -> Iterator[Served]:
    url, schema = _pg_schema_url()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    target = make_url(PG_ADMIN)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    folder = tmp_path_factory.mktemp("drill")
    log = folder / "serve.log"
    ours = ("SLACK_", "DATABASE_", "PORT", "JIRA_", "GITHUB_", "DEPLOY_", "CONTEXT_", "WEB_", "DB_")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(ours)},
        "SLACK_BOT_TOKEN": "xoxb-drill",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_server.api_url,
        "DATABASE_URL": through_proxy(url, proxy.port),
        "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
        "DEPLOY_WEBHOOK_TOKEN": DEPLOY_TOKEN,
        "JIRA_WEBHOOK_SECRET": JIRA_SECRET,
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        **DRILL_SETTINGS,
    }
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "chatbot", "serve", "--host", "127.0.0.1"],
            env=env,
            cwd=folder,
            stderr=sink,
            text=True,
        )
    served = Served(f"http://127.0.0.1:{port}", proxy, log, url, process)
    try:
        _wait_healthy(served, START_DEADLINE)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        proxy.close()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _wait_healthy(served: Served, timeout: float) -> float:
    def healthy() -> bool:
        if served.process.poll() is not None:
            raise AssertionError(f"chatbot serve stopped: {served.log_from(0)}")
        try:
            return healthz(served.base).status == 200
        except OSError:
            return False

    return _wait("chatbot serve answers /healthz with 200", healthy, timeout)


def _intents_titled(served: Served, prefix: str) -> int:
    engine = make_engine(served.db_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM intent WHERE title LIKE :p"), {"p": prefix + "%"}
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _last_tick(report: Timed) -> datetime | None:
    tick = (report.body.get("clock") or {}).get("last_tick")
    return datetime.fromisoformat(tick) if tick else None


def _drill(
    served: Served, fake: FakeSlack, slack_server: FakeSlackServer, outage: str
) -> dict[str, float]:
    """One outage from start to recovery; returns the figures measured."""
    served.proxy.forward()
    _wait_healthy(served, 30)
    before = webhooks(served.base, 0)
    assert all(answer.status < 300 for answer in before.values()), before
    driver = SlackDriver(served.base, slack_server.response_url(outage.replace(" ", "-")))
    offset = served.log_size()

    getattr(served.proxy, outage.replace(" ", "_"))()

    health = healthz(served.base)
    assert health.status == 503, health
    assert health.seconds < HEALTHZ_LIMIT, health
    assert str(health.body["database"]).startswith("unreachable"), health

    title = f"Drill {outage} & <b>"
    with ThreadPoolExecutor(COMMANDS) as pool:
        acks = list(pool.map(lambda n: driver.command("/intent", f"{title} {n}"), range(COMMANDS)))
    assert [a.status for a in acks] == [200] * COMMANDS, [(a.status, a.elapsed) for a in acks]
    assert max(a.elapsed for a in acks) < ACK_LIMIT, [a.elapsed for a in acks]

    def told(call: object) -> bool:
        return "Drill" in str(getattr(call, "params", {}).get("text", ""))

    told_all = _wait(  # since the last ack
        "every person is told",
        lambda: len([c for c in fake.of("respond") if told(c)]) >= COMMANDS,
        30,
    )

    answers = webhooks(served.base, 1)
    for name, answer in answers.items():
        assert answer.status == 503, (name, answer)
        assert answer.seconds < WEBHOOK_LIMIT, (name, answer)
        assert "database" in str(answer.body.get("error")), (name, answer)

    # The clock ticks on into the outage (its last tick is in /healthz even while it is 503).
    first_tick = _last_tick(health)
    assert first_tick is not None, health

    def ticked_on() -> bool:
        tick = _last_tick(healthz(served.base))
        return tick is not None and (tick - first_tick).total_seconds() >= OUTAGE_TICKS

    _wait("the clock ticks into the outage", ticked_on, 60)

    served.proxy.forward()
    recovery = _wait_healthy(served, 30)
    back = driver.command("/intent", f"Back after the {outage}")
    assert back.status == 200
    first_write = time.monotonic()
    fake.wait_for("chat.postMessage", lambda c: "Back after" in str(c.params.get("text")))
    first_write = time.monotonic() - first_write
    clock_back = _wait(
        "the clock says the database answers again",
        lambda: "answers again" in served.log_from(offset),
        30,
    )

    messages = [c for c in fake.of("respond") if told(c)]
    for n in range(COMMANDS):
        echo = f"Drill {outage} &amp; &lt;b&gt; {n}"
        mine = [c for c in messages if echo in str(c.params["text"])]
        assert len(mine) == 1, (n, [c.params["text"] for c in messages])
        assert "lost" not in mine[0].params["text"]
    assert not [c for c in fake.of("chat.postMessage") if told(c)]
    assert _intents_titled(served, f"Drill {outage}") == 0

    log = served.log_from(offset)
    assert "Traceback" not in log, log
    listener_lines = [line for line in log.splitlines() if "/intent" in line or "listener" in line]
    assert len(listener_lines) == COMMANDS, log
    clock_lines = [line for line in log.splitlines() if "clock" in line]
    assert len(clock_lines) == 2, log  # unreachable, then answers again
    assert "unreachable" in clock_lines[0] and "answers again" in clock_lines[1], log
    figures = {
        "ack_max": max(a.elapsed for a in acks),
        "healthz": health.seconds,
        "webhook_max": max(a.seconds for a in answers.values()),
        "told_all": told_all,
        "recovery_healthz": recovery,
        "recovery_first_intent": first_write,
        "clock_back": clock_back,
        "log_lines": len(log.splitlines()),
    }
    print(f"\n{outage}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    return figures


def test_database_refused(
    served: Served, fake_slack: FakeSlack, slack_server: FakeSlackServer
) -> None:
    _drill(served, fake_slack, slack_server, "refuse")


def test_database_black_holed(
    served: Served, fake_slack: FakeSlack, slack_server: FakeSlackServer
) -> None:
    _drill(served, fake_slack, slack_server, "black hole")
