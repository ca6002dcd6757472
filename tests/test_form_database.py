"""Forms whose opening or submission needs the database answer within Slack's 3 s whatever
the database does (issue 17).

`/digest setup` reads the channel's team before `views.open` (its trigger_id lives 3 s); the
setup form and the Connect an agent form write before their `response_action`. On PostgreSQL
behind a proxy that black-holes it (connections accepted, nothing answered) each waits out a
ping and a new connection; on SQLite another connection holding the write lock stands in for a
database that refuses at once. The time each request takes to be answered is printed (pytest
`-s`); docs/reliability.md quotes it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from chatbot.agents.tokens import TokenService
from chatbot.clock import FrozenClock
from chatbot.decisions.service import DecisionService
from chatbot.outbox.models import OutboxMessage
from chatbot.slack.ids import AgentId, DecisionId
from chatbot.teams.service import TeamService
from tests.cli_helpers import free_port
from tests.conftest import Bot, _empty
from tests.fakes.slack_api import FakeSlack, FakeSlackServer
from tests.outage_helpers import ACK_LIMIT
from tests.slack_driver import SlackDriver
from tests.test_database_outage import Down, _down

# The database limits of production (a black-holed pooled connection: a 3 s ping, then a
# 3 s connect), so the waits are the ones a person would meet.
PRODUCTION = {"db_connect_timeout_seconds": 3.0, "db_pool_timeout_seconds": 3.0}


@pytest.fixture
def pg_hole(
    _engines: dict[str, tuple[str, Engine]],
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    clock: FrozenClock,
) -> Iterator[Down]:
    url, engine = _engines["postgresql"]
    _empty(engine)
    with _down(url, slack_server, fake_slack, clock, **PRODUCTION) as switch:
        yield switch


@pytest.fixture
def sqlite_slow(
    _engines: dict[str, tuple[str, Engine]],
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    clock: FrozenClock,
) -> Iterator[Down]:
    """SQLite whose writes wait (up to 10 s) while another connection holds the write lock:
    a database slower than the form budget that answers in the end."""
    url, engine = _engines["sqlite"]
    _empty(engine)
    with _down(url, slack_server, fake_slack, clock, db_statement_timeout_seconds=10.0) as switch:
        yield switch


def _settle(bot: Bot, timeout: float = 30) -> None:
    bot.settle(timeout)
    forms = getattr(bot.root.slack, "forms", None)
    if forms is not None:
        assert forms.wait_idle(timeout), "form work did not finish"


def _black_holed(down: Down) -> float:
    """Let the bot's work settle, then drop every packet to PostgreSQL; when that began."""
    _settle(down.bot)
    assert down.proxy is not None
    down.proxy.black_hole()
    return time.perf_counter()


def _view(call: Any) -> dict[str, Any]:
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


def _open_setup(bot: Bot) -> dict[str, Any]:
    assert bot.slack.command("/digest", "setup").status == 200
    return _view(bot.fake.wait_for("views.open")[-1])


def _open_connect(bot: Bot) -> dict[str, Any]:
    bot.slack.action(AgentId.CONNECT, "connect", user="U1")
    return _view(bot.fake.wait_for("views.open")[-1])


def _quiet(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


NEW_TEAM = {"name": "payments", "channel_id": "C1", "wip_limit": "4", "repos": "acme/pay"}


@pytest.mark.postgresql
def test_digest_setup_with_the_database_black_holed_tells_the_person_in_time(
    pg_hole: Down, caplog: pytest.LogCaptureFixture
) -> None:
    bot = pg_hole.bot
    started = _black_holed(pg_hole)
    assert bot.slack.command("/digest", "setup").status == 200
    [told] = bot.fake.wait_for("respond", timeout=10)
    seconds = time.perf_counter() - started
    print(f"\n/digest setup, database black-holed: told after {seconds:.2f} s")
    assert seconds < ACK_LIMIT
    assert "database isn't answering" in told.params["text"]
    assert not bot.fake.of("views.open")
    pg_hole.restore()
    _settle(bot)
    records = _quiet(caplog)
    assert len(records) == 1 and records[0].exc_info is None, records
    assert "/digest" in records[0].getMessage()
    _open_setup(bot)  # back: the form opens


@pytest.mark.postgresql
def test_a_decision_card_edit_with_the_database_black_holed_tells_the_person_in_time(
    pg_hole: Down,
) -> None:
    bot = pg_hole.bot
    assert bot.slack.command("/decision", "Deploy on Tuesdays because quiet").status == 200
    _settle(bot)
    [d] = DecisionService(bot.services.db, bot.services.clock).recent_for_user("U1")
    started = _black_holed(pg_hole)
    bot.slack.action(DecisionId.EDIT, str(d.id), message_ts=d.card_ts or "")
    [told] = bot.fake.wait_for("respond", timeout=10)
    seconds = time.perf_counter() - started
    print(f"\ndecision Edit, database black-holed: told after {seconds:.2f} s")
    assert seconds < ACK_LIMIT and "database isn't answering" in told.params["text"]
    assert not bot.fake.of("views.open")
    pg_hole.restore()


@pytest.mark.postgresql
def test_show_the_work_with_the_database_black_holed_tells_the_person_in_time(
    pg_hole: Down,
) -> None:
    bot = pg_hole.bot
    TeamService(bot.services.db, bot.services.clock).add("payments", "C1", orchestrators=["U1"])
    value = json.dumps({"team": "payments", "week": "2026-W46", "metric": "orchestration"})
    started = _black_holed(pg_hole)
    bot.slack.action("digest_explain_orchestration", value)
    [told] = bot.fake.wait_for("respond", timeout=10)
    seconds = time.perf_counter() - started
    print(f"\nShow the work, database black-holed: told after {seconds:.2f} s")
    assert seconds < ACK_LIMIT and "couldn't gather that in time" in told.params["text"]
    assert not bot.fake.of("views.open")
    pg_hole.restore()


@pytest.fixture
def pg_hole_one_thread(
    _engines: dict[str, tuple[str, Engine]],
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    clock: FrozenClock,
) -> Iterator[Down]:
    url, engine = _engines["postgresql"]
    _empty(engine)
    with _down(url, slack_server, fake_slack, clock, slack_form_threads=1, **PRODUCTION) as sw:
        yield sw


@pytest.mark.postgresql
def test_when_every_form_thread_waits_on_the_database_the_next_is_told_at_once(
    pg_hole_one_thread: Down, caplog: pytest.LogCaptureFixture
) -> None:
    bot = pg_hole_one_thread.bot
    started = _black_holed(pg_hole_one_thread)
    with ThreadPoolExecutor(3) as pool:
        acks = list(pool.map(lambda n: bot.slack.command("/digest", "setup"), range(3)))
    assert [a.status for a in acks] == [200] * 3
    told = bot.fake.wait_for("respond", count=3, timeout=10)
    seconds = time.perf_counter() - started
    print(f"\n3 x /digest setup on 1 form thread, black-holed: all told after {seconds:.2f} s")
    assert seconds < ACK_LIMIT
    assert all("database isn't answering" in c.params["text"] for c in told)
    reasons = [r.getMessage() for r in _quiet(caplog)]
    assert sum("every form thread is waiting" in r for r in reasons) == 2, reasons
    assert sum("no answer within the budget" in r for r in reasons) == 1, reasons
    pg_hole_one_thread.restore()


@pytest.mark.postgresql
def test_the_setup_form_submitted_into_a_black_hole_is_answered_then_reported(
    pg_hole: Down, caplog: pytest.LogCaptureFixture
) -> None:
    bot = pg_hole.bot
    form = _open_setup(bot)
    started = _black_holed(pg_hole)
    answer = bot.slack.view_submission(form, NEW_TEAM)
    print(f"\nsetup form, database black-holed: answered after {answer.elapsed:.2f} s")
    assert answer.status == 200 and answer.elapsed < ACK_LIMIT
    body = answer.json()
    assert body["response_action"] == "update"
    assert "still being saved" in json.dumps(body["view"])
    assert body["view"]["close"]["text"] == "Close" and "submit" not in body["view"]
    # The write gives up (a ping, then a connect) and the person hears so.
    [dm] = bot.fake.wait_for("chat.postMessage", timeout=20)
    dm_after = time.perf_counter() - started
    print(f"setup form, database black-holed: outcome by DM after {dm_after:.2f} s")
    _settle(bot)
    text = dm.params["text"]
    assert dm.params["channel"] == "U1" and "nothing was stored" in text
    assert "payments" in text and "acme/pay" in text
    pg_hole.restore()
    assert TeamService(bot.services.db, bot.services.clock).get("payments") is None
    records = _quiet(caplog)
    assert len(records) == 1 and records[0].exc_info is None, records


def test_the_setup_form_saved_late_says_so_by_dm(sqlite_slow: Down) -> None:
    bot = sqlite_slow.bot
    form = _open_setup(bot)
    _settle(bot)
    sqlite_slow.refuse()
    answer = bot.slack.view_submission(form, NEW_TEAM)
    assert answer.status == 200 and answer.elapsed < ACK_LIMIT
    assert answer.json()["response_action"] == "update"
    sqlite_slow.restore()  # the lock is let go: the write goes through after the answer
    _settle(bot)
    [dm] = bot.fake.of("chat.postMessage")
    assert dm.params["channel"] == "U1" and "Saved the settings of payments" in dm.params["text"]
    assert TeamService(bot.services.db, bot.services.clock).get("payments") is not None


def test_the_setup_form_refused_by_the_database_stays_open_with_an_error(
    down: Down, caplog: pytest.LogCaptureFixture
) -> None:
    bot = down.bot
    form = _open_setup(bot)
    _settle(bot)
    down.refuse()
    answer = bot.slack.view_submission(form, NEW_TEAM)
    print(f"\nsetup form, database refusing ({down.dialect}): {answer.elapsed:.2f} s")
    assert answer.status == 200 and answer.elapsed < ACK_LIMIT
    body = answer.json()
    assert body["response_action"] == "errors", body
    [message] = body["errors"].values()
    assert "database isn't answering" in message and len(message) <= 150
    down.restore()
    _settle(bot)
    assert TeamService(bot.services.db, bot.services.clock).get("payments") is None
    assert all(r.exc_info is None for r in _quiet(caplog))
    # Submitted again (the form kept what was typed), it is saved.
    assert bot.slack.view_submission(form, NEW_TEAM).json() is None
    assert TeamService(bot.services.db, bot.services.clock).get("payments") is not None


@pytest.mark.postgresql
def test_the_connect_form_submitted_into_a_black_hole_is_answered_then_reported(
    pg_hole: Down, caplog: pytest.LogCaptureFixture
) -> None:
    bot = pg_hole.bot
    form = _open_connect(bot)
    _black_holed(pg_hole)
    answer = bot.slack.view_submission(form, {"name": "laptop <b>"})
    print(f"\nconnect form, database black-holed: answered after {answer.elapsed:.2f} s")
    assert answer.status == 200 and answer.elapsed < ACK_LIMIT
    body = answer.json()
    assert body["response_action"] == "update" and "still being saved" in json.dumps(body)
    _settle(bot)
    [dm] = bot.fake.of("chat.postMessage")
    assert "nothing was stored" in dm.params["text"] and "laptop &lt;b&gt;" in dm.params["text"]
    assert not bot.fake.of("views.update")
    pg_hole.restore()
    assert TokenService(bot.services.db, bot.services.clock).all("U1") == []
    records = _quiet(caplog)
    assert len(records) == 1 and records[0].exc_info is None, records


def test_a_token_made_late_is_shown_in_the_form_once_stored(sqlite_slow: Down) -> None:
    bot = sqlite_slow.bot
    form = _open_connect(bot)
    _settle(bot)
    sqlite_slow.refuse()
    answer = bot.slack.view_submission(form, {"name": "laptop <b>"})
    print(f"\nconnect form, SQLite write lock held: answered after {answer.elapsed:.2f} s")
    assert answer.status == 200 and answer.elapsed < ACK_LIMIT
    body = answer.json()
    assert body["response_action"] == "update" and "thr_" not in json.dumps(body)
    sqlite_slow.restore()  # the lock is let go: the token is stored after the answer
    _settle(bot)
    [shown] = bot.fake.of("views.update")
    assert shown.params["view_id"] == "V1" and "thr_" in json.dumps(_view(shown))
    [token] = TokenService(bot.services.db, bot.services.clock).all("U1")
    assert token.revoked_at is None and token.name == "laptop <b>"
    assert not bot.fake.of("chat.postMessage")  # the secret is never put in a message


def test_a_token_that_cannot_be_shown_is_revoked(sqlite_slow: Down) -> None:
    bot = sqlite_slow.bot
    form = _open_connect(bot)
    _settle(bot)
    bot.fake.fail_next("views.update", "not_found")  # the person closed the form meanwhile
    sqlite_slow.refuse()
    answer = bot.slack.view_submission(form, {"name": "laptop"})
    assert answer.status == 200 and answer.elapsed < ACK_LIMIT
    sqlite_slow.restore()
    _settle(bot)
    [token] = TokenService(bot.services.db, bot.services.clock).all("U1")
    assert token.revoked_at is not None
    [dm] = bot.fake.of("chat.postMessage")
    assert "revoked" in dm.params["text"] and "thr_" not in dm.params["text"]


def test_the_connect_form_refused_by_the_database_stays_open(down: Down) -> None:
    bot = down.bot
    form = _open_connect(bot)
    _settle(bot)
    down.refuse()
    answer = bot.slack.view_submission(form, {"name": "laptop"})
    assert answer.status == 200 and answer.elapsed < ACK_LIMIT
    body = answer.json()
    assert body["response_action"] == "errors" and "name" in body["errors"]
    assert "database isn't answering" in body["errors"]["name"]
    down.restore()
    assert TokenService(bot.services.db, bot.services.clock).all("U1") == []


@pytest.fixture
def down(
    db_url: str, slack_server: FakeSlackServer, fake_slack: FakeSlack, clock: FrozenClock
) -> Iterator[Down]:
    with _down(db_url, slack_server, fake_slack, clock) as switch:
        yield switch


def _outbox_text(bot: Bot) -> str:
    with bot.services.db.session() as s:
        return json.dumps([row.model_dump(mode="json") for row in s.exec(select(OutboxMessage))])


def test_context_connect_on_a_slow_database_shows_the_token_once_stored(
    sqlite_slow: Down,
) -> None:
    bot = sqlite_slow.bot
    sqlite_slow.refuse()
    started = time.perf_counter()
    assert bot.slack.command("/context", "connect laptop", user="U1").status == 200
    [note] = bot.fake.wait_for("respond", timeout=10)
    seconds = time.perf_counter() - started
    print(f"\n/context connect, SQLite write lock held: told after {seconds:.2f} s")
    assert seconds < ACK_LIMIT and "still being made" in note.params["text"]
    sqlite_slow.restore()
    _settle(bot)
    shown = bot.fake.wait_for("respond", count=2)[-1].params
    assert "thr_" in json.dumps(shown["blocks"])
    [token] = TokenService(bot.services.db, bot.services.clock).all("U1")
    assert token.revoked_at is None
    assert "thr_" not in _outbox_text(bot)  # the secret is never stored to be sent later


def test_context_connect_refused_by_the_database_gives_the_text_back(down: Down) -> None:
    bot = down.bot
    down.refuse()
    started = time.perf_counter()
    assert bot.slack.command("/context", "connect laptop <b>", user="U1").status == 200
    [told] = bot.fake.wait_for("respond", timeout=10)
    assert time.perf_counter() - started < ACK_LIMIT
    text = told.params["text"]
    assert "nothing was stored" in text and "/context connect laptop &lt;b&gt;" in text
    down.restore()
    assert TokenService(bot.services.db, bot.services.clock).all("U1") == []


def test_context_connect_whose_token_cannot_be_shown_revokes_it(bot: Bot) -> None:
    # The response_url does not answer, and chat.postEphemeral is refused: the person never
    # saw the token.
    dead_url = SlackDriver(bot.server.url, f"http://127.0.0.1:{free_port()}/respond/x")
    bot.fake.fail_next("chat.postEphemeral", "channel_not_found")
    assert dead_url.command("/context", "connect laptop", user="U1").status == 200
    _settle(bot)
    [token] = TokenService(bot.services.db, bot.services.clock).all("U1")
    assert token.revoked_at is not None
    [dm] = bot.fake.of("chat.postMessage")
    assert "revoked" in dm.params["text"] and "thr_" not in dm.params["text"]
