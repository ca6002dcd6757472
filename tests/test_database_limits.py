"""Every wait on the database is bounded: the limits reach the connections, a server that stops
answering ends the wait in time, migrations run without them, and an outage is told from a bug.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from chatbot.db.engine import DatabaseLimits, make_engine, without_time_limits
from chatbot.db.outage import is_outage, outage_reason
from chatbot.settings import Settings, SettingsError, load_settings
from tests.conftest import PG_ADMIN
from tests.fakes.tcp_proxy import TcpProxy
from tests.outage_helpers import through_proxy

LIMITS = DatabaseLimits(
    connect_seconds=2, statement_seconds=0.5, pool_seconds=1, keepalive_seconds=9
)


def _raised_within(seconds: float, call: Callable[[], object]) -> BaseException:
    """What `call` raised, which it must do within `seconds` (a wait without a limit would
    hang the test, so it runs on a thread of its own)."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting on the database after {seconds:g} s"
    assert raised, "it did not fail"
    return raised[0]


@pytest.fixture
def pg_url(_engines: dict[str, tuple[str, Engine]]) -> str:
    return _engines["postgresql"][0]


@pytest.fixture
def proxied(pg_url: str) -> Iterator[tuple[TcpProxy, Engine]]:
    target = make_url(PG_ADMIN)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    engine = make_engine(through_proxy(pg_url, proxy.port), LIMITS)
    try:
        yield proxy, engine
    finally:
        proxy.forward()
        engine.dispose()
        proxy.close()


@pytest.mark.postgresql
def test_postgresql_connections_carry_the_limits(pg_url: str) -> None:
    engine = make_engine(pg_url, LIMITS)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "500ms"
            dsn = conn.connection.dbapi_connection.info.dsn  # type: ignore[union-attr]
        for part in (
            "connect_timeout=2",
            "keepalives=1",
            "keepalives_idle=9",
            "keepalives_interval=3",
            "keepalives_count=3",
            "tcp_user_timeout=18000",
        ):
            assert part in dsn.split(), (part, dsn)
        assert engine.pool.timeout() == 1  # type: ignore[attr-defined]
    finally:
        engine.dispose()


@pytest.mark.postgresql
def test_what_the_url_says_wins_over_the_limits(pg_url: str) -> None:
    engine = make_engine(str(make_url(pg_url).update_query_dict({"connect_timeout": "7"})), LIMITS)
    try:
        with engine.connect() as conn:
            dsn = conn.connection.dbapi_connection.info.dsn  # type: ignore[union-attr]
        assert "connect_timeout=7" in dsn.split()
    finally:
        engine.dispose()


@pytest.mark.postgresql
def test_a_statement_longer_than_its_limit_is_cancelled_by_the_server(pg_url: str) -> None:
    engine = make_engine(pg_url, LIMITS)
    try:
        with pytest.raises(OperationalError) as caught, engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
        assert "statement timeout" in str(caught.value)
        with engine.connect() as conn:  # the connection stays usable
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.postgresql
def test_a_server_that_stops_answering_mid_statement_ends_the_wait(
    proxied: tuple[TcpProxy, Engine],
) -> None:
    proxy, engine = proxied
    waited: list[float] = []

    def black_holed_mid_transaction() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            proxy.black_hole()
            started = time.monotonic()
            try:
                conn.execute(text("SELECT 2"))
            finally:
                waited.append(time.monotonic() - started)

    raised = _raised_within(LIMITS.answer_seconds + 2, black_holed_mid_transaction)
    assert isinstance(raised, OperationalError)
    assert LIMITS.answer_seconds <= waited[0] < LIMITS.answer_seconds + 1
    assert f"did not answer within {LIMITS.answer_seconds:g} s" in str(raised)
    assert is_outage(raised)
    proxy.forward()
    with engine.connect() as conn:  # the dead connection was dropped, a new one answers
        assert conn.execute(text("SELECT 3")).scalar_one() == 3


@pytest.mark.postgresql
def test_a_pooled_connection_that_stops_answering_costs_at_most_a_ping_and_a_connect(
    proxied: tuple[TcpProxy, Engine],
) -> None:
    proxy, engine = proxied
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # one connection, back in the pool
    proxy.black_hole()

    def use_it() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 2"))

    raised = _raised_within(2 * LIMITS.connect_seconds + 1, use_it)
    assert isinstance(raised, OperationalError) and is_outage(raised)
    assert "timeout" in outage_reason(raised)
    proxy.forward()
    started = time.monotonic()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 3")).scalar_one() == 3
    assert time.monotonic() - started < 1


@pytest.mark.postgresql
def test_a_refused_database_fails_at_once(proxied: tuple[TcpProxy, Engine]) -> None:
    proxy, engine = proxied
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    proxy.refuse()
    started = time.monotonic()
    with pytest.raises(OperationalError) as caught, engine.connect() as conn:
        conn.execute(text("SELECT 2"))
    assert time.monotonic() - started < 1
    assert is_outage(caught.value) and "refused" in outage_reason(caught.value)


@pytest.mark.postgresql
def test_migrations_run_without_the_statement_limit(pg_url: str) -> None:
    engine = make_engine(pg_url, LIMITS)
    try:
        with engine.connect() as conn:
            with without_time_limits(conn):
                conn.execute(text("SELECT pg_sleep(0.8)"))  # longer than the 0.5 s limit
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "500ms"
            with pytest.raises(OperationalError):
                conn.execute(text("SELECT pg_sleep(0.8)"))
    finally:
        engine.dispose()


def test_sqlite_waits_for_the_write_lock_as_long_as_its_statement_limit(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}", DatabaseLimits(statement_seconds=0.3))
    try:
        with engine.begin() as conn:
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 300
            conn.execute(text("CREATE TABLE note (body TEXT)"))
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        with pytest.raises(OperationalError) as caught, engine.begin() as conn:
            conn.execute(text("INSERT INTO note VALUES ('kept?')"))
        assert 0.3 <= time.monotonic() - started < 3
        assert is_outage(caught.value) and "locked" in outage_reason(caught.value)
        holder.rollback()
        holder.close()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO note VALUES ('kept')"))
    finally:
        engine.dispose()


def test_an_unopenable_sqlite_file_is_an_outage_and_a_missing_table_a_bug(tmp_path: Path) -> None:
    gone = make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    here = make_engine(f"sqlite:///{tmp_path / 'here.db'}")
    try:
        with pytest.raises(SQLAlchemyError) as unopenable, gone.connect():
            pass
        assert is_outage(unopenable.value)
        with pytest.raises(SQLAlchemyError) as missing, here.connect() as conn:
            conn.execute(text("SELECT * FROM nowhere"))
        assert not is_outage(missing.value)
        with here.begin() as conn:
            conn.execute(text("CREATE TABLE one (id INTEGER PRIMARY KEY)"))
            conn.execute(text("INSERT INTO one VALUES (1)"))
        with pytest.raises(IntegrityError) as duplicate, here.begin() as conn:
            conn.execute(text("INSERT INTO one VALUES (1)"))
        assert not is_outage(duplicate.value)
    finally:
        gone.dispose()
        here.dispose()


def test_no_free_pooled_connection_in_time_is_an_outage(tmp_path: Path) -> None:
    engine = make_engine(
        f"sqlite:///{tmp_path / 'pool.db'}",
        DatabaseLimits(pool_seconds=0.2),
        pool_size=1,
        max_overflow=0,
    )
    try:
        with engine.connect(), pytest.raises(PoolTimeout) as caught, engine.connect():
            pass
        assert is_outage(caught.value)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "variable",
    [
        "DB_CONNECT_TIMEOUT_SECONDS",
        "DB_STATEMENT_TIMEOUT_SECONDS",
        "DB_POOL_TIMEOUT_SECONDS",
        "HEALTHZ_TIMEOUT_SECONDS",
        "DB_OUTAGE_LOG_SECONDS",
    ],
)
def test_a_limit_of_zero_is_refused_naming_its_variable(variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(_env_file=None, **{variable.lower(): 0})


def test_the_pool_holds_a_connection_for_every_thread_that_may_use_it(db_url: str) -> None:
    """A burst of commands (64 after-ack threads by default) queues on the database, not on a
    pool of 20 whose 3 s timeout would tell each person the database is unreachable."""
    settings = Settings(_env_file=None, database_url=db_url)  # type: ignore[call-arg]
    limits = DatabaseLimits.from_settings(settings)
    assert limits.threads == settings.web_threads + settings.listener_threads + 4
    engine = make_engine(db_url, limits)
    try:
        pool: Any = engine.pool
        assert pool.size() + pool._max_overflow >= limits.threads
    finally:
        engine.dispose()
