"""Storing, claiming and settling outbox rows; every step is one short transaction."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.outbox.models import OutboxMessage, OutboxStatus

LEASE = timedelta(minutes=2)


def enqueue(
    db: Database,
    clock: Clock,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    notify: dict[str, Any] | None = None,
    reset_state: bool = False,
) -> int:
    """Store a write (or re-arm the row with this key) and return its id.

    Re-arming keeps `state` (what was already done in the other system) unless told not to,
    keeps an untold `notify`, and bumps `version` so a send in flight knows it is stale.
    """
    for _ in range(3):
        now = clock.now()
        try:
            with db.session() as s:
                row = s.exec(
                    select(OutboxMessage)
                    .where(OutboxMessage.dedupe_key == dedupe_key)
                    .with_for_update()
                ).first()
                if row is None:
                    row = OutboxMessage(
                        kind=kind,
                        dedupe_key=dedupe_key,
                        payload=payload,
                        next_attempt_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                    s.add(row)
                else:
                    row.payload = {**row.payload, **payload}
                    row.version += 1
                    row.status = OutboxStatus.PENDING
                    row.next_attempt_at = now
                    row.attempts = 0
                    row.last_error = None
                    row.delay_told = False if notify else row.delay_told
                    row.updated_at = now
                    if reset_state:
                        row.state = {}
                if notify:
                    row.notify = notify
                    row.notify_token = uuid.uuid4().hex
                s.flush()
                return int(row.id or 0)
        except IntegrityError:
            continue  # another process inserted the same key first: re-arm that row
    raise RuntimeError(f"could not enqueue {dedupe_key!r}")


def get(db: Database, row_id: int) -> OutboxMessage | None:
    with db.session() as s:
        return s.get(OutboxMessage, row_id)


def by_key(db: Database, dedupe_key: str) -> OutboxMessage | None:
    with db.session() as s:
        return s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)).first()


def due_ids(db: Database, now: datetime, limit: int = 50) -> list[int]:
    with db.session() as s:
        return list(
            s.exec(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now,
                    or_(
                        col(OutboxMessage.locked_until).is_(None),
                        col(OutboxMessage.locked_until) < now,
                    ),
                )
                .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
                .limit(limit)
            ).all()
        )


def claim(db: Database, clock: Clock, row_id: int, worker: str) -> OutboxMessage | None:
    """Take the lease on a due row; None when it is not due or another process holds it."""
    now = clock.now()
    with db.session() as s:
        result = s.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == row_id,
                col(OutboxMessage.status) == OutboxStatus.PENDING,
                col(OutboxMessage.next_attempt_at) <= now,
                or_(
                    col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) < now
                ),
            )
            .values(locked_until=now + LEASE, locked_by=worker, attempts=OutboxMessage.attempts + 1)
        )
        if result.rowcount != 1:
            return None
    return get(db, row_id)


def save_state(db: Database, row_id: int, state: dict[str, Any]) -> None:
    """Record progress at once, so a crash or retry never repeats a finished step."""
    with db.session() as s:
        row = s.get(OutboxMessage, row_id)
        if row is not None:
            row.state = dict(state)


def _settle_version(db: Database, clock: Clock, row: OutboxMessage, **values: Any) -> bool:
    """Apply `values` if the row still holds the version that was sent; otherwise it was
    re-armed meanwhile: release it, due at once, and return False."""
    now = clock.now()
    with db.session() as s:
        settled = (
            s.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == row.id, col(OutboxMessage.version) == row.version)
                .values(locked_until=None, locked_by=None, updated_at=now, **values)
            ).rowcount
            == 1
        )
        if not settled:
            s.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == row.id)
                .values(locked_until=None, locked_by=None, next_attempt_at=now)
            )
    return settled


def settle_sent(db: Database, clock: Clock, row: OutboxMessage) -> bool:
    """Mark sent unless re-armed meanwhile (then it stays pending and is sent again at once)."""
    return _settle_version(
        db, clock, row, status=OutboxStatus.SENT, sent_at=clock.now(), last_error=None
    )


def settle_retry(
    db: Database, clock: Clock, row: OutboxMessage, delay: timedelta, error: str
) -> None:
    now = clock.now()
    with db.session() as s:
        s.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row.id)
            .values(
                next_attempt_at=now + delay,
                locked_until=None,
                locked_by=None,
                last_error=error[:2000],
                updated_at=now,
            )
        )


def settle_failed(db: Database, clock: Clock, row: OutboxMessage, error: str) -> bool:
    """Give up on this version; False when the row was re-armed meanwhile (then it is retried)."""
    return _settle_version(db, clock, row, status=OutboxStatus.FAILED, last_error=error[:2000])


def take_notice(db: Database, row: OutboxMessage) -> dict[str, Any] | None:
    """The pending notice, to exactly one caller across processes (then it is gone)."""
    if not row.notify_token:
        return None
    with db.session() as s:
        taken = (
            s.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == row.id,
                    col(OutboxMessage.notify_token) == row.notify_token,
                )
                .values(notify_token=None)
            ).rowcount
            == 1
        )
    return row.notify if taken else None


def take_delay_notice(db: Database, row: OutboxMessage) -> dict[str, Any] | None:
    """The 'Jira is slow, I will keep trying' notice: once per request that asked to be told."""
    if not row.notify_token or row.delay_told:
        return None
    with db.session() as s:
        taken = (
            s.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == row.id,
                    col(OutboxMessage.notify_token) == row.notify_token,
                    col(OutboxMessage.delay_told).is_(False),
                )
                .values(delay_told=True)
            ).rowcount
            == 1
        )
    return row.notify if taken else None
