"""The SQLite engine's writer queue: threads of one process take SQLite's write lock in turn,
and a transaction that ends in any way (commit, rollback, a connection closed or dropped without
either) passes it on."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from chatbot.db.engine import make_engine


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
