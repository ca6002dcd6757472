"""The SQLite engine's writer queue: threads of one process take SQLite's write lock in turn,
and a transaction that ends in any way (commit, rollback, a connection closed or dropped without
either) passes it on. `Database.holding()`: one connection for a thread's transactions in a
row, each still committing on its own (both databases)."""

from __future__ import annotations

import gc
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from chatbot.db.deadlock import again_after_deadlock
from chatbot.db.dedupe import claim_delivery, delivered
from chatbot.db.engine import Database, make_engine
from tests.conftest import _empty

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE row_written (writer INTEGER, n INTEGER)"))
    return engine


def _write_in_another_thread(engine: Engine, writer: int) -> bool:
    """Whether another thread could write within 10 s (the lock waits up to 30 s)."""

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO row_written VALUES (:w, 0)"), {"w": writer})

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    thread.join(timeout=10)
    return not thread.is_alive()


def _rows(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT writer, n FROM row_written"))]


def test_threads_writing_at_once_all_commit(engine: Engine) -> None:
    def writer(number: int) -> None:
        for _ in range(15):
            with engine.begin() as conn:
                # Read-modify-write: without the lock at BEGIN two threads would interleave.
                count = conn.execute(text("SELECT count(*) FROM row_written")).scalar_one()
                conn.execute(
                    text("INSERT INTO row_written VALUES (:w, :n)"), {"w": number, "n": count}
                )

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    rows = _rows(engine)
    assert len(rows) == 8 * 15
    # Each transaction saw every row committed before it: the counts are 0..119, once each.
    assert sorted(n for _w, n in rows) == list(range(8 * 15))


def test_a_rolled_back_transaction_passes_the_lock_on(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO row_written VALUES (1, 1)"))
        raise RuntimeError("the caller failed")
    assert _write_in_another_thread(engine, 2)
    assert _rows(engine) == [(2, 0)]


def test_a_connection_closed_mid_transaction_passes_the_lock_on(engine: Engine) -> None:
    conn = engine.connect()
    conn.execute(text("INSERT INTO row_written VALUES (1, 1)"))
    conn.close()  # neither commit nor rollback called by the caller
    assert _write_in_another_thread(engine, 2)
    assert _rows(engine) == [(2, 0)]


def test_a_connection_dropped_mid_transaction_passes_the_lock_on(engine: Engine) -> None:
    def abandon() -> None:
        conn = engine.connect()
        conn.execute(text("INSERT INTO row_written VALUES (1, 1)"))
        # Dropped without close(): the pool rolls the DBAPI connection back when the
        # connection is collected, with no Connection-level rollback event.
        del conn

    abandon()
    gc.collect()
    assert _write_in_another_thread(engine, 2)
    assert _rows(engine) == [(2, 0)]


# --- Database.holding(): one connection for a thread's transactions in a row -------------------


def _checkouts(db: Database) -> list[int]:
    """The connections this thread checks out from now on."""
    seen: list[int] = []
    me = threading.get_ident()

    def checkout(raw: object, _record: object, _proxy: object) -> None:
        if threading.get_ident() == me:
            seen.append(id(raw))

    event.listen(db.engine.pool, "checkout", checkout)
    return seen


def test_held_transactions_share_one_checkout_and_each_commits(db: Database) -> None:
    seen = _checkouts(db)
    with db.holding():
        for n in range(3):
            with db.transaction() as conn:
                assert claim_delivery(conn, f"held-{n}", NOW)
            # Committed at the block's end, not the holding's: another thread sees it now.
            assert _delivered_elsewhere(db, f"held-{n}")
    assert len(seen) == 1


@pytest.fixture
def pg_db(_engines: dict[str, tuple[str, Engine]]) -> Database:
    """PostgreSQL alone: on SQLite every transaction takes the one write lock at BEGIN, so a
    writing transaction cannot nest inside another there, held connection or not."""
    _url, engine = _engines["postgresql"]
    _empty(engine)
    return Database(engine)


@pytest.mark.postgresql
def test_a_nested_transaction_while_holding_gets_its_own_connection(pg_db: Database) -> None:
    db = pg_db
    seen = _checkouts(db)
    with db.holding(), pytest.raises(RuntimeError), db.transaction() as outer:
        claim_delivery(outer, "outer", NOW)
        with db.transaction() as inner:
            assert inner is not outer
            claim_delivery(inner, "inner", NOW)
        raise RuntimeError("the outer one rolls back")
    assert len(seen) == 2
    assert delivered(db, "inner") and not delivered(db, "outer")


@pytest.mark.parametrize("next_use", ["transaction", "autocommit"])
def test_a_held_connection_that_breaks_is_replaced_at_its_next_use(
    db: Database, next_use: str
) -> None:
    with db.holding():
        with pytest.raises(DBAPIError), db.transaction() as conn:
            conn.connection.dbapi_connection.close()  # type: ignore[union-attr]
            conn.execute(text("SELECT 1"))
        with getattr(db, next_use)() as conn:
            assert claim_delivery(conn, "after", NOW)
    assert delivered(db, "after")


def test_an_autocommit_statement_commits_by_itself_and_leaves_transactions_as_they_were(
    db: Database,
) -> None:
    with db.holding():
        with db.autocommit() as conn:
            assert claim_delivery(conn, "alone", NOW)
        assert _delivered_elsewhere(db, "alone")
        # The held connection's transactions are transactions again: a failure rolls back.
        with pytest.raises(RuntimeError), db.transaction() as conn:
            claim_delivery(conn, "rolled back", NOW)
            raise RuntimeError("undo")
    assert not delivered(db, "rolled back")


def _delivered_elsewhere(db: Database, key: str) -> bool:
    found: list[bool] = []
    thread = threading.Thread(target=lambda: found.append(delivered(db, key)))
    thread.start()
    thread.join(timeout=10)
    return found == [True]


# --- a deadlock's victim runs again (chatbot/db/deadlock.py) ------------------------------------


@pytest.mark.postgresql
def test_a_deadlocks_victim_is_run_again_and_both_sides_land(pg_db: Database) -> None:
    """Two transactions claim the same two keys in opposite orders, each waiting for the other
    at the second: PostgreSQL rolls one back (deadlock_detected), which is run again."""
    db = pg_db
    for key in ("left", "right"):
        with db.transaction() as conn:
            conn.execute(
                text("INSERT INTO processed_event (key, seen_at) VALUES (:k, :t)"),
                {"k": key, "t": NOW},
            )
    both_hold_one = threading.Barrier(2, timeout=10)
    attempts: dict[str, int] = {"a": 0, "b": 0}
    errors: list[BaseException] = []

    def touch(conn: object, key: str) -> None:
        conn.execute(  # type: ignore[attr-defined]
            text("UPDATE processed_event SET seen_at = :t WHERE key = :k"), {"k": key, "t": NOW}
        )

    def side(name: str, first: str, second: str) -> None:
        def work() -> None:
            attempts[name] += 1
            with db.transaction() as conn:
                touch(conn, first)
                if attempts[name] == 1:
                    both_hold_one.wait()
                touch(conn, second)

        try:
            again_after_deadlock(work)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=side, args=("a", "left", "right")),
        threading.Thread(target=side, args=("b", "right", "left")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    # A victim was run again until it landed. Its new try may take the row back before the
    # other side wakes, and deadlock once more (either side): both still land.
    assert max(attempts.values()) >= 2, attempts


def test_only_a_deadlock_is_run_again() -> None:
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise OperationalError("UPDATE", {}, psycopg.errors.ConnectionTimeout("no answer"))

    with pytest.raises(OperationalError):
        again_after_deadlock(refused)
    assert len(calls) == 1

    def always_a_victim() -> None:
        calls.append(1)
        raise OperationalError("UPDATE", {}, psycopg.errors.DeadlockDetected("deadlock"))

    calls.clear()
    with pytest.raises(OperationalError):
        again_after_deadlock(always_a_victim, tries=3)
    assert len(calls) == 3
