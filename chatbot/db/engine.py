"""Engine and sessions for SQLite (WAL, foreign keys) and PostgreSQL (psycopg 3).

Every wait on the database is bounded (`DatabaseLimits`, each a setting): opening a connection,
waiting for a free one in the pool, one statement, and, on PostgreSQL, any wait for the server's
answer. A server that stopped answering (a partition, a hung host) ends the wait with an
`OperationalError` instead of holding a request, a health check or a clock job forever.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine

from chatbot.settings import Settings

_T = TypeVar("_T")

# A statement the server cancels at its statement_timeout still takes a moment to say so; the
# client stops waiting for any answer this much later.
_ANSWER_GRACE_SECONDS = 2.0
# TCP keepalive probes after the idle time: this many, this far apart (a fraction of it).
_KEEPALIVE_PROBES = 3


@dataclass(frozen=True)
class DatabaseLimits:
    """How long the bot waits on its database before it gives up (each a setting).

    `connect_seconds`: opening a connection, and the ping of a pooled one before use
    (PostgreSQL counts whole seconds, at least 2). `statement_seconds`: one statement
    (PostgreSQL's statement_timeout; on SQLite, the wait for the write lock). `pool_seconds`:
    waiting for a free pooled connection. `keepalive_seconds`: idle time before TCP keepalive
    probes start on a PostgreSQL connection, so a dead peer is noticed within about twice this.
    `threads`: how many threads of the process may use the database at once; the pool holds
    that many connections, so a burst of work queues on the database, not on the pool (whose
    short timeout reads as an outage).
    """

    connect_seconds: float = 3.0
    statement_seconds: float = 15.0
    pool_seconds: float = 3.0
    keepalive_seconds: float = 10.0
    threads: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> DatabaseLimits:
        return cls(
            connect_seconds=settings.db_connect_timeout_seconds,
            statement_seconds=settings.db_statement_timeout_seconds,
            pool_seconds=settings.db_pool_timeout_seconds,
            keepalive_seconds=settings.db_keepalive_seconds,
            # the web threads, the after-ack pool, and the clock's jobs beside them
            threads=settings.web_threads + settings.listener_threads + 4,
        )

    @property
    def answer_seconds(self) -> float:
        """How long the client waits for any answer from PostgreSQL before it drops the
        connection: the server cancels a statement at `statement_seconds`, so an answer that
        has not come shortly after that will not come."""
        return self.statement_seconds + _ANSWER_GRACE_SECONDS

    def postgresql_connect_args(self) -> dict[str, Any]:
        interval = max(1, math.ceil(self.keepalive_seconds / _KEEPALIVE_PROBES))
        idle = max(1, math.ceil(self.keepalive_seconds))
        return {
            "connect_timeout": max(2, math.ceil(self.connect_seconds)),
            "keepalives": 1,
            "keepalives_idle": idle,
            "keepalives_interval": interval,
            "keepalives_count": _KEEPALIVE_PROBES,
            # Data the peer has not acknowledged within the keepalive window: it is gone.
            "tcp_user_timeout": (idle + interval * _KEEPALIVE_PROBES) * 1000,
        }


def make_engine(url: str, limits: DatabaseLimits | None = None, **kwargs: Any) -> Engine:
    limits = limits or DatabaseLimits()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_timeout", limits.pool_seconds)
    if url.startswith("sqlite"):
        # Writers queue for the write lock (below) holding their connection.
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", max(10, limits.threads - 10))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": limits.statement_seconds},
            **kwargs,
        )
        event.listen(engine, "connect", partial(_sqlite_pragmas, limits.statement_seconds))
        # pysqlite's own BEGIN handling defers locks; take the write lock at BEGIN instead
        # so concurrent read-modify-write transactions serialize rather than deadlock.
        writer = _SqliteWriter(limits.statement_seconds)
        event.listen(engine, "begin", writer.begin)
        event.listen(engine, "commit", writer.commit)
        event.listen(engine, "rollback", writer.rollback)
        event.listen(engine.pool, "reset", writer.reset)
        event.listen(engine.pool, "invalidate", writer.reset)
        return engine
    # A pooled connection is pinged before use, within the connect timeout (below), instead of
    # SQLAlchemy's pre-ping, which would wait for the answer as long as for a statement.
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", max(10, limits.threads - 10))
    # What the URL itself says (e.g. `?connect_timeout=10`) wins over the limits.
    given = set(make_url(url).query)
    connect_args = {
        k: v for k, v in limits.postgresql_connect_args().items() if k not in given
    } | kwargs.pop("connect_args", {})
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    event.listen(engine, "do_connect", partial(_connect_answering, limits))
    event.listen(engine, "connect", partial(_postgresql_session, limits))
    event.listen(engine, "checkout", partial(_ping_before_use, limits))
    return engine


def _sqlite_pragmas(busy_seconds: float, dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # SQLite's default page cache is 2 MB; a digest reads a few thousand rows scattered over
    # years of history, so every lookup would be a read from the OS. Up to 64 MB of cache
    # per connection, and reads through a memory map of up to 256 MB.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


def _postgresql_session(limits: DatabaseLimits, dbapi_connection: Any, _record: Any) -> None:
    # The metrics' statements carry many correlated lookups, which PostgreSQL's cost model
    # prices high enough to compile them with JIT: two seconds of compiling for a query that
    # runs in a few milliseconds. Nothing here runs long enough to win it back.
    statement_ms = max(1, int(limits.statement_seconds * 1000))
    dbapi_connection.execute(f"SET jit = off; SET statement_timeout = {statement_ms}")
    dbapi_connection.commit()


def _connect_answering(
    limits: DatabaseLimits, _dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]
) -> AnsweringConnection:
    cparams.setdefault("cursor_factory", _AnsweringCursor)
    connection = AnsweringConnection.connect(*cargs, **cparams)
    connection.answer_seconds = limits.answer_seconds
    connection.fresh = True
    return connection


def _ping_before_use(
    limits: DatabaseLimits, dbapi_connection: Any, _record: Any, _proxy: Any
) -> None:
    """Is a pooled connection still answering? Raising DisconnectionError makes the pool drop it
    and open a new one (which the connect timeout bounds)."""
    if not isinstance(dbapi_connection, AnsweringConnection):
        return
    if dbapi_connection.fresh:  # just opened: it has answered already
        dbapi_connection.fresh = False
        return
    try:
        dbapi_connection.ping(limits.connect_seconds)
    except psycopg.Error as exc:
        raise DisconnectionError(
            f"the pooled connection did not answer: {_first_line(exc)}"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Watchdog:
    """Ends a wait on PostgreSQL that outlasts its deadline.

    psycopg waits for the server's answer without a limit of its own. A connection that waits
    is armed here with a deadline; if the answer has not come by then, the watchdog shuts the
    connection's socket down, the wait ends with an OperationalError at once, and the broken
    connection is dropped from the pool. One daemon thread for the process looks every tenth
    of a second; arming and disarming is a dictionary write under a lock, so a statement does
    not wake it (waking it for each statement cost more than the statement's round trip).
    """

    _CHECK_EVERY = 0.1

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[int, tuple[float, AnsweringConnection]] = {}
        self._thread: threading.Thread | None = None

    def arm(self, connection: AnsweringConnection, seconds: float) -> None:
        with self._lock:
            self._armed[id(connection)] = (time.monotonic() + seconds, connection)
            connection.timed_out = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, connection: AnsweringConnection) -> None:
        with self._lock:
            self._armed.pop(id(connection), None)

    def _run(self) -> None:
        while True:
            time.sleep(self._CHECK_EVERY)
            if not self._armed:
                continue
            now = time.monotonic()
            with self._lock:
                for key, (deadline, connection) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[key]
                        # Under the lock: the connection is still inside its wait, so its
                        # socket is still its own.
                        connection.timed_out = True
                        _shut_down(connection)


def _shut_down(connection: psycopg.Connection[Any]) -> None:
    try:
        # A duplicate of the descriptor: shutting it down ends the connection itself, closing
        # it leaves psycopg's own descriptor to psycopg.
        sock = socket.socket(fileno=os.dup(connection.fileno()))
    except (OSError, psycopg.Error):
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


_WATCHDOG = _Watchdog()


class AnsweringConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every wait for the server (statements, commit, rollback,
    the ping) ends after `answer_seconds` (None: no limit, e.g. for migrations)."""

    answer_seconds: float | None = None
    timed_out: bool = False
    fresh: bool = False

    def answered(self, seconds: float | None, call: Callable[[], _T]) -> _T:
        """`call()`, which waits for the server at most `seconds` (None: no limit)."""
        if seconds is None:
            return call()
        _WATCHDOG.arm(self, seconds)
        try:
            return call()
        except psycopg.Error as exc:
            if not self.timed_out:
                raise
            self.close()  # its socket is shut: the pool must not hand it out again
            raise psycopg.OperationalError(
                f"the database did not answer within {seconds:g} s"
            ) from exc
        finally:
            _WATCHDOG.disarm(self)

    def commit(self) -> None:
        self.answered(self.answer_seconds, super().commit)

    def rollback(self) -> None:
        self.answered(self.answer_seconds, super().rollback)

    def ping(self, seconds: float) -> None:
        """An empty round trip outside any transaction, waiting at most `seconds`."""
        self.answered(seconds, self._empty_round_trip)

    def _empty_round_trip(self) -> None:
        autocommit = self.autocommit
        self.autocommit = True
        try:
            psycopg.Cursor(self).execute(";")
        finally:
            if not self.closed:
                self.autocommit = autocommit


class _AnsweringCursor(psycopg.Cursor[Any]):
    def execute(self, *args: Any, **kwargs: Any) -> Any:
        connection = self.connection
        run = partial(super().execute, *args, **kwargs)
        if isinstance(connection, AnsweringConnection):
            return connection.answered(connection.answer_seconds, run)
        return run()

    def executemany(self, *args: Any, **kwargs: Any) -> None:
        connection = self.connection
        run = partial(super().executemany, *args, **kwargs)
        if isinstance(connection, AnsweringConnection):
            connection.answered(connection.answer_seconds, run)
        else:
            run()


@contextmanager
def without_time_limits(connection: Connection) -> Iterator[None]:
    """Lift the statement limits on one connection while a long job holds it (migrations wait
    for each other's lock and may rewrite large tables)."""
    raw = connection.connection.dbapi_connection
    if not isinstance(raw, AnsweringConnection):
        yield
        return
    answer_seconds = raw.answer_seconds
    statement_timeout = connection.exec_driver_sql("SHOW statement_timeout").scalar_one()
    connection.exec_driver_sql("SET statement_timeout = 0")
    connection.commit()
    raw.answer_seconds = None
    try:
        yield
    finally:
        raw.answer_seconds = answer_seconds
        if not raw.closed and not connection.invalidated:
            connection.execute(
                text("SELECT set_config('statement_timeout', :value, false)"),
                {"value": statement_timeout},
            )
            connection.commit()


class _SqliteWriter:
    """Hands SQLite's write lock from thread to thread inside one process.

    Every transaction takes the write lock at `BEGIN IMMEDIATE`. A thread that finds it taken
    is left to SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries
    and is not woken when the lock is freed: under load (a few transactions per Slack command,
    tens of listener threads) the lock sat free while its waiters slept, and that waiting was
    most of the time an `/intent` took. Here the threads of one engine queue on a Python lock
    and run `BEGIN IMMEDIATE` the moment the previous transaction has ended; other processes
    (several gunicorn workers, the CLI) still meet SQLite's busy handler.

    SQLite's own lock stays what keeps transactions apart; this one only orders the waiters.
    So it never waits longer than the busy timeout (then SQLite decides, as before), and the
    transaction is ended on the DBAPI connection before the lock is passed on (SQLAlchemy's
    commit and rollback events fire before it commits; its own commit then finds nothing open
    and reports any error as usual).
    """

    def __init__(self, wait_seconds: float) -> None:
        self._lock = threading.Lock()
        self._wait_seconds = wait_seconds
        # DBAPI connections whose transaction holds the lock: only their end releases it.
        self._holders: set[int] = set()

    def begin(self, conn: Connection) -> None:
        raw = conn.connection.dbapi_connection
        held = self._lock.acquire(timeout=self._wait_seconds)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if held:
                self._lock.release()
            raise
        if held:
            self._holders.add(id(raw))

    def commit(self, conn: Connection) -> None:
        self._end(conn.connection.dbapi_connection, commit=True)

    def rollback(self, conn: Connection) -> None:
        if conn.invalidated:
            return  # the pool's invalidate event (`reset`) has passed the lock on already
        self._end(conn.connection.dbapi_connection, commit=False)

    def reset(self, dbapi_connection: Any, *_args: Any) -> None:
        # A connection returned to the pool (or dropped) without its Connection ending the
        # transaction: the pool rolls it back, and the lock goes with it.
        self._end(dbapi_connection, commit=False)

    def _end(self, raw: Any, commit: bool) -> None:
        if raw is None or id(raw) not in self._holders:
            return
        self._holders.discard(id(raw))
        try:
            if commit:
                raw.commit()
            else:
                raw.rollback()
        except Exception:  # SQLAlchemy's own commit or rollback right after reports it
            pass
        finally:
            self._lock.release()


def _broken(connection: Connection) -> bool:
    """Closed, or known broken (the next use would fail before reaching the server)."""
    if connection.closed or connection.invalidated:
        return True
    raw = connection.connection.dbapi_connection
    return raw is None or bool(getattr(raw, "closed", False))


@contextmanager
def _autocommit(connection: Connection) -> Iterator[Connection]:
    """The connection's statements committed each by itself (psycopg's autocommit), and its
    transactions back as they were afterwards. SQLAlchemy's transaction around the block
    sends nothing: psycopg starts none and its commit of none is no round trip."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.autocommit = True
    try:
        with connection.begin():
            yield connection
    finally:
        if not raw.closed:
            raw.autocommit = False


class Database:
    """Owns the engine; hands out sessions that commit on success and roll back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._held = threading.local()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A Core connection in one transaction that commits on success and rolls back on error,
        for hot paths that need no ORM unit of work (no Session to build, flush and close).
        Inside `holding()` it runs on the held connection (unless that one is already in a
        transaction: a nested one gets a connection of its own, as without holding)."""
        held: Connection | None = getattr(self._held, "connection", None)
        if held is None or held.in_transaction() or held.closed:
            with self.engine.begin() as connection:
                yield connection
            return
        try:
            with held.begin():
                yield held
        except BaseException:
            if held.in_transaction():
                # Not even rolled back (a broken connection): the rest of the block uses fresh
                # connections, and `holding()` closes this one.
                self._held.connection = None
            raise

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A connection whose statements each commit by themselves, for statements that need
        not be atomic together (each one is atomic on its own).

        On PostgreSQL it runs in psycopg's autocommit: without BEGIN and COMMIT a statement is
        one round trip instead of three (each round trip costs the process about as much CPU
        as the statement). Elsewhere, or when this thread's held connection is inside a
        transaction, the block is `transaction()`."""
        if self.dialect != "postgresql":
            with self.transaction() as connection:
                yield connection
            return
        held: Connection | None = getattr(self._held, "connection", None)
        if held is None or held.in_transaction() or _broken(held):
            with self.engine.connect() as connection, _autocommit(connection):
                yield connection
            return
        try:
            with _autocommit(held):
                yield held
        except BaseException:
            if held.invalidated or held.in_transaction():
                self._held.connection = None  # as in `transaction()`: `holding()` closes it
            raise

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Keep one pooled connection for this thread's `transaction()`s until the block ends.

        A command's work after the ack is a few short transactions in a row (store it with
        what it owes, record each message as sent); each checkout and return of a pooled
        connection (and on PostgreSQL the ping before use) cost about as much as a statement.
        Each transaction still commits on its own, so nothing waits on the connection being
        held; a connection that breaks meanwhile is replaced on its next use (and pinged).
        Nested `holding()` is the outer one."""
        if getattr(self._held, "connection", None) is not None:
            yield
            return
        with self.engine.connect() as connection:
            self._held.connection = connection
            try:
                yield
            finally:
                self._held.connection = None
