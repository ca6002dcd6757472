"""Exactly-once guard for deliveries that may arrive more than once (Slack retries, webhook
redeliveries).

`claim_delivery` claims a key inside the caller's transaction, so the claim commits with the
work it guards: a delivery whose work never committed (the process died, the database went
away) is done on the next delivery instead of being taken for a duplicate. Work that has
nothing to commit (a reply alone) asks `delivered` first and claims only after it is done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from chatbot.clock import Clock
from chatbot.db.core_models import ProcessedEvent
from chatbot.db.engine import Database

PROCESSED = ProcessedEvent.__table__  # type: ignore[attr-defined]
KEY_MAX = 255
# One statement per dialect, built once: webhooks claim hundreds of keys a second.
_CLAIMS: dict[str, Any] = {}


def _claim_statement(conn: Connection) -> Any:
    dialect = conn.dialect.name
    statement = _CLAIMS.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = _CLAIMS[dialect] = (
            insert(PROCESSED)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(PROCESSED.c.key)
        )
    return statement


class AlreadyDelivered(Exception):
    """The delivery's key was claimed before: its work is done (or being done) elsewhere."""


def claim_delivery(conn: Connection, key: str, now: datetime) -> bool:
    """True the first time `key` is claimed (in any process), inside `conn`'s transaction."""
    return (
        conn.execute(_claim_statement(conn), {"key": key[:KEY_MAX], "seen_at": now}).first()
        is not None
    )


def first_delivery(db: Database, clock: Clock, key: str) -> bool:
    """`claim_delivery` in a transaction of its own, for work that cannot share one."""
    with db.engine.begin() as conn:
        return claim_delivery(conn, key, clock.now())


def delivered(db: Database, key: str) -> bool:
    """Whether `key` was claimed already; for work that claims only once it is done."""
    with db.engine.connect() as conn:
        found = conn.execute(select(PROCESSED.c.key).where(PROCESSED.c.key == key[:KEY_MAX]))
        return found.first() is not None


def forget_deliveries_before(db: Database, before: datetime) -> int:
    """Drop delivery records old enough that no sender retries them any more."""
    with db.session() as session:
        result = session.exec(delete(ProcessedEvent).where(ProcessedEvent.seen_at < before))  # type: ignore[call-overload]
        return int(result.rowcount or 0)
