"""GET /healthz: the database is checked (503 with a reason when down); the clock's last tick."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from chatbot.clock import FrozenClock
from chatbot.root import build_root, build_web
from chatbot.scheduler import Job, JobClock
from chatbot.services import Services, build_services
from tests.conftest import Bot, make_settings
from tests.fakes.slack_api import FakeSlackServer
from tests.slack_driver import AppServer, SlackDriver


def test_health_without_an_embedded_clock(bot: Bot) -> None:
    result = bot.slack.get("/healthz")
    assert result.status == 200
    assert result.json() == {
        "ok": True,
        "database": "ok",
        "clock": {"embedded": False, "last_tick": None},
        "jobs": {},
    }


def test_health_reports_the_embedded_clocks_last_tick_and_each_jobs_last_run(
    bot: Bot, clock: FrozenClock
) -> None:
    services = bot.services
    ticker = JobClock(services.db, clock, [Job("hourly", 3600, lambda: None)], 5.0)
    router, _app = build_web(bot.root, ticker)
    server = AppServer(router)
    try:
        web = SlackDriver(server.url, "")
        assert web.get("/healthz").json()["clock"] == {"embedded": True, "last_tick": None}
        ran_at = clock.now()
        ticker.tick()
        clock.advance(minutes=5)
        ticker.tick()  # looks again; nothing is due
        report = web.get("/healthz").json()
    finally:
        server.close()
    assert report["clock"] == {"embedded": True, "last_tick": clock.now().isoformat()}
    assert report["jobs"] == {"hourly": ran_at.isoformat()}


@pytest.fixture
def unreachable(slack_server: FakeSlackServer, clock: FrozenClock) -> Iterator[SlackDriver]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"
    services: Services = build_services(
        make_settings(url, slack_server.api_url), clock=clock, migrate=False
    )
    router, _app = build_web(build_root(services))
    server = AppServer(router)
    try:
        yield SlackDriver(server.url, slack_server.response_url("health"))
    finally:
        server.close()
        services.db.engine.dispose()


def test_health_is_503_with_the_reason_when_the_database_is_down(
    unreachable: SlackDriver,
) -> None:
    result = unreachable.get("/healthz")
    assert result.status == 503
    report = result.json()
    assert report["ok"] is False
    assert report["database"].startswith("unreachable: ") and "refused" in report["database"]
    assert report["clock"] == {"embedded": False, "last_tick": None}
