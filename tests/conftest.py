"""Shared fixtures: both databases, the fake Slack API and the real app served over HTTP.

Every test that uses `db_url` or `db` runs once per database. `TEST_DATABASES` picks which:
`sqlite,postgresql` (the default, and what CI runs), or `sqlite` alone for a machine without
PostgreSQL. `TEST_PG_URL` is the PostgreSQL server the tests may create schemas in
(default `postgresql://postgres@127.0.0.1:5432/test`); each test process uses its own schema.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import Engine

from chatbot.background import TrackedExecutor
from chatbot.clock import FrozenClock
from chatbot.crashpoints import CRASH_AT
from chatbot.db.engine import Database, make_engine
from chatbot.db.migrate import upgrade
from chatbot.root import Root, build_root, build_web
from chatbot.schema import metadata
from chatbot.services import Services, build_services
from chatbot.settings import Settings
from tests.fakes.slack_api import FakeSlack, FakeSlackServer
from tests.slack_driver import SIGNING_SECRET, AppServer, SlackDriver

PG_ADMIN = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
KNOWN_DATABASES = ("sqlite", "postgresql")


def _databases(choice: str | None) -> list[str]:
    """The databases named in `choice` (comma-separated), in a fixed order; both when None."""
    wanted = [name.strip().lower() for name in (choice or ",".join(KNOWN_DATABASES)).split(",")]
    wanted = [name for name in wanted if name]
    unknown = sorted(set(wanted) - set(KNOWN_DATABASES))
    if unknown or not wanted:
        raise pytest.UsageError(
            f"databases {choice!r}: use a comma-separated list of {', '.join(KNOWN_DATABASES)}"
        )
    return [name for name in KNOWN_DATABASES if name in wanted]


# What TEST_DATABASES asks for; `--databases` on the command line overrides it (see below).
DATABASES = _databases(os.environ.get("TEST_DATABASES"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--databases",
        default=None,
        help="comma-separated databases the storage tests run on: sqlite, postgresql "
        "(default: TEST_DATABASES, else both)",
    )


def pytest_configure(config: pytest.Config) -> None:
    chosen = config.getoption("--databases", default=None)
    if chosen:
        DATABASES[:] = _databases(chosen)
    config.addinivalue_line(
        "markers",
        "postgresql: needs a PostgreSQL server (TEST_PG_URL); left out when TEST_DATABASES "
        "leaves PostgreSQL out",
    )


# Modules whose every test starts real chatbot processes; tests elsewhere that do carry
# `@pytest.mark.drill` themselves.
REAL_PROCESS_MODULES = ("test_clock_processes.py", "test_serve_process.py", "test_mcp_stdio.py")
# Fixtures that start `chatbot serve`: every test using one is a drill too.
REAL_PROCESS_FIXTURES = frozenset({"served"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks the real-process modules `drill`. Without PostgreSQL, leaves out (deselects, not
    skips) the tests that need it: those marked `postgresql` and those parametrized with the
    value "postgresql" themselves."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.path.name in REAL_PROCESS_MODULES or fixtures & REAL_PROCESS_FIXTURES:
            item.add_marker(pytest.mark.drill)
    if "postgresql" in DATABASES:
        return
    keep: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        needs_pg = item.get_closest_marker("postgresql") is not None or "postgresql" in params
        (left_out if needs_pg else keep).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = keep


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" in metafunc.fixturenames:
        metafunc.parametrize("db_url", DATABASES, indirect=True)


FROZEN_AT = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def _pg_schema_url() -> tuple[str, str]:
    """A new schema of its own, and the URL whose connections use it. Those connections do not
    wait for the server to flush each commit to disk (`synchronous_commit=off`): a test never
    outlives a crash of the server, and the waits were most of a storage test's time."""
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    base = PG_ADMIN.replace("postgresql://", "postgresql+psycopg://")
    return f"{base}?options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff", schema


@pytest.fixture(scope="session")
def _engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, Engine]]]:
    engines: dict[str, tuple[str, Engine]] = {}
    sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    engines["sqlite"] = (sqlite_url, make_engine(sqlite_url))
    schema = None
    if "postgresql" in DATABASES:
        pg_url, schema = _pg_schema_url()
        # At most two idle connections kept between tests (the default pool keeps ten), with
        # the same ceiling for a test's threads: the PostgreSQL server is shared by every test
        # process and ran out of connections under parallel runs.
        engines["postgresql"] = (pg_url, make_engine(pg_url, pool_size=2, max_overflow=18))
    for _url, engine in engines.values():
        upgrade(engine)
    yield engines
    for _url, engine in engines.values():
        emptier = _EMPTIERS.pop(engine, None)
        if emptier is not None:
            emptier.close()
        engine.dispose()
    if schema is not None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


class _Emptier:
    """Empties one test database in a single round trip: every table's DELETE (children first)
    and the restart of every id sequence, sent together as one script on a connection of its
    own, outside the engine's pool (whose checkout ping, BEGIN and COMMIT were round trips of
    their own). DELETE rather than TRUNCATE: on PostgreSQL a TRUNCATE of every table took
    0.75 s per test against 18 ms for row-by-row deletes, and 1 ms for this script."""

    def __init__(self, engine: Engine) -> None:
        deletes = [f'DELETE FROM "{t.name}";' for t in reversed(metadata.sorted_tables)]
        self.postgresql = engine.dialect.name == "postgresql"
        self.conn: Any
        if self.postgresql:
            cargs, cparams = engine.dialect.create_connect_args(engine.url)
            self.conn = psycopg.connect(*cargs, **cparams, autocommit=True)
            sequences = [
                row[0]
                for row in self.conn.execute(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n"
                    " ON n.oid = c.relnamespace"
                    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
                )
            ]
            restarts = [f"setval('\"{name}\"', 1, false)" for name in sequences]
            # One simple query: PostgreSQL runs its statements as one transaction.
            self.script = "".join(deletes) + (f"SELECT {', '.join(restarts)};" if restarts else "")
        else:
            self.conn = sqlite3.connect(
                engine.url.database or "", isolation_level=None, check_same_thread=False
            )
            self.conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            has_seq = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'"
            ).fetchone()
            seq = "DELETE FROM sqlite_sequence;" if has_seq else ""
            self.script = f"BEGIN IMMEDIATE;{''.join(deletes)}{seq}COMMIT;"

    def __call__(self) -> None:
        if self.postgresql:
            self.conn.execute(self.script)
        else:
            self.conn.executescript(self.script)

    def close(self) -> None:
        self.conn.close()


_EMPTIERS: dict[Engine, _Emptier] = {}
# How long emptying SQLite waits for a writer a previous test left behind.
BUSY_MS = 15_000


def _empty(engine: Engine) -> None:
    """Delete every row of the test database `engine` reaches and restart its ids."""
    emptier = _EMPTIERS.get(engine)
    if emptier is None:
        emptier = _EMPTIERS[engine] = _Emptier(engine)
    emptier()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, _engines: dict[str, tuple[str, Engine]]) -> str:
    url, engine = _engines[request.param]
    _empty(engine)
    return url


@pytest.fixture
def db(db_url: str, _engines: dict[str, tuple[str, Engine]]) -> Database:
    for url, engine in _engines.values():
        if url == db_url:
            return Database(engine)
    raise AssertionError("unknown db")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(FROZEN_AT)


@pytest.fixture(scope="session")
def slack_server() -> Iterator[FakeSlackServer]:
    with FakeSlackServer() as server:
        yield server


@pytest.fixture
def fake_slack(slack_server: FakeSlackServer) -> Iterator[FakeSlack]:
    """The fake Slack, emptied for each test; a test fails if the bot called a method or
    passed an argument Slack's published API does not have (a test that sends one on purpose
    reads and clears `violations`)."""
    slack_server.fake.reset()
    yield slack_server.fake
    violations = list(slack_server.fake.violations)
    assert not violations, f"the bot called Slack outside its published API: {violations[0]}"


def make_settings(db_url: str, slack_api_url: str, **extra: Any) -> Settings:
    # A test may override the signing secret too (None: a server where it is not set).
    extra = {"slack_signing_secret": SIGNING_SECRET} | extra
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token="xoxb-test-token",
        slack_api_url=slack_api_url,
        database_url=db_url,
        **extra,
    )


@dataclass
class Bot:
    root: Root
    slack: SlackDriver
    fake: FakeSlack
    executor: TrackedExecutor
    server: AppServer

    @property
    def services(self) -> Services:
        return self.root.services

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until all work started after acks has finished."""
        assert self.executor.wait_idle(timeout), "listener work did not finish"
        assert self.root.slack.forms.wait_idle(timeout), "form work did not finish"


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    """Tests override this to add settings (Jira URL, tokens, ...)."""
    return {}


@pytest.fixture
def bot(
    db_url: str,
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    clock: FrozenClock,
    bot_settings: dict[str, Any],
) -> Iterator[Bot]:
    settings = make_settings(db_url, slack_server.api_url, **bot_settings)
    services = build_services(settings, clock=clock, migrate=False)
    executor = TrackedExecutor(max_workers=8)
    root = build_root(services, executor)
    router, _app = build_web(root)
    server = AppServer(router)
    driver = SlackDriver(server.url, slack_server.response_url("cmd"))
    try:
        yield Bot(root, driver, fake_slack, executor, server)
        executor.wait_idle(10)
        broken = [
            c
            for c in fake_slack.calls
            if c.response.get("error") in {"invalid_blocks", "invalid_arguments"}
            and not getattr(fake_slack, "expect_invalid", False)
        ]
        assert not broken, f"the bot sent blocks Slack would refuse: {broken[0].response}"
    finally:
        executor.wait_idle(10)
        server.close()
        executor.shutdown(wait=True)
        root.slack.forms.wait_idle(10)
        root.slack.forms.shutdown()
        services.db.engine.dispose()


@pytest.fixture
def crash_at(monkeypatch: pytest.MonkeyPatch) -> Any:
    """`crash_at("point")`: every pass through the crash point `point` raises
    (`chatbot.crashpoints`); `crash_at(None)`: none."""

    def arm(point: str | None) -> None:
        if point is None:
            monkeypatch.delenv(CRASH_AT, raising=False)
        else:
            monkeypatch.setenv(CRASH_AT, f"{point}=raise")

    return arm
