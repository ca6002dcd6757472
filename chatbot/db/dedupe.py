"""Exactly-once guard for deliveries that may arrive more than once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from chatbot.clock import Clock
from chatbot.db.core_models import ProcessedEvent
from chatbot.db.engine import Database


def first_delivery(db: Database, clock: Clock, key: str) -> bool:
    """True the first time `key` is seen (in any process), False for every repeat."""
    try:
        with db.session() as session:
            session.add(ProcessedEvent(key=key[:255], seen_at=clock.now()))
    except IntegrityError:
        return False
    return True


def forget_deliveries_before(db: Database, before: datetime) -> int:
    """Drop delivery records old enough that no sender retries them any more."""
    with db.session() as session:
        result = session.exec(delete(ProcessedEvent).where(ProcessedEvent.seen_at < before))  # type: ignore[call-overload]
        return int(result.rowcount or 0)
