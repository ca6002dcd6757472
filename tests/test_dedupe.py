"""Exactly-once delivery records, on SQLite and PostgreSQL."""

from __future__ import annotations

from chatbot.clock import FrozenClock
from chatbot.db.dedupe import first_delivery, forget_deliveries_before
from chatbot.db.engine import Database


def test_first_delivery_once_then_forgotten_after_a_week(db: Database, clock: FrozenClock) -> None:
    assert first_delivery(db, clock, "slack:Ev1") is True
    assert first_delivery(db, clock, "slack:Ev1") is False
    clock.advance(days=8)
    assert forget_deliveries_before(db, clock.now().replace(day=clock.now().day - 7)) == 1
    assert first_delivery(db, clock, "slack:Ev1") is True
