"""Engine and sessions for SQLite (WAL, foreign keys) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, create_engine

# How long a transaction waits for SQLite's write lock before giving up.
_BUSY_TIMEOUT_SECONDS = 30.0


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_SECONDS},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN handling defers locks; take the write lock at BEGIN instead
        # so concurrent read-modify-write transactions serialize rather than deadlock.
        writer = _SqliteWriter()
        event.listen(engine, "begin", writer.begin)
        event.listen(engine, "commit", writer.commit)
        event.listen(engine, "rollback", writer.rollback)
        event.listen(engine.pool, "reset", writer.reset)
        event.listen(engine.pool, "invalidate", writer.reset)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _postgresql_session)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_SECONDS * 1000)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # SQLite's default page cache is 2 MB; a digest reads a few thousand rows scattered over
    # years of history, so every lookup would be a read from the OS. Up to 64 MB of cache
    # per connection, and reads through a memory map of up to 256 MB.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


def _postgresql_session(dbapi_connection: Any, _record: Any) -> None:
    # The metrics' statements carry many correlated lookups, which PostgreSQL's cost model
    # prices high enough to compile them with JIT: two seconds of compiling for a query that
    # runs in a few milliseconds. Nothing here runs long enough to win it back.
    dbapi_connection.execute("SET jit = off")
    dbapi_connection.commit()


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

    def __init__(self, wait_seconds: float = _BUSY_TIMEOUT_SECONDS) -> None:
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


class Database:
    """Owns the engine; hands out sessions that commit on success and roll back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
        for hot paths that need no ORM unit of work (no Session to build, flush and close)."""
        with self.engine.begin() as connection:
            yield connection
