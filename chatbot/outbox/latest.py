"""Owing "the latest" of something: one row per key, re-armed in place, in one statement.

For a write whose content is made at send time from the database (a person's App Home), what
is owed is "send it again once more", never a queue of versions: while a row with the key is
unsent, asking again reuses it. The row is stored, re-armed and (when no send holds it)
claimed for the caller by a single upsert, so an owed refresh costs one statement before its
send. A send in flight when the row is re-armed finds its version stale when it settles and
sends once more (`store._settle_version`), so the last thing sent is never older than the
last request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, literal, or_
from sqlalchemy.dialects import postgresql, sqlite

from chatbot.outbox.models import OutboxStatus
from chatbot.outbox.store import LEASE, TABLE, Enqueued, new_row, row_of


def owe_latest_in(
    conn: Connection,
    now: datetime,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    claim_for: str | None = None,
    lease: timedelta = LEASE,
) -> Enqueued:
    """Store the row with `dedupe_key` or re-arm it (pending, due now, a new version), in the
    caller's transaction; with `claim_for`, claimed for that worker unless a send holds it.

    `Enqueued.row` is the claimed row (the caller sends it); None when a send in flight
    holds it (that send goes again with this version) or nobody asked for a claim.
    """
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    claimed = claim_for is not None
    values = new_row(now, kind, dedupe_key, payload, claimed_by=claim_for, lease=lease)
    statement = insert(TABLE).values(**values)
    current = TABLE.c
    again: dict[str, Any] = {
        "payload": statement.excluded.payload,
        "version": current.version + 1,
        "status": OutboxStatus.PENDING,
        "next_attempt_at": now,
        "last_error": None,
        "updated_at": now,
    }
    if claimed:
        free = or_(current.locked_until.is_(None), current.locked_until < now)
        # A claim counts as the version's first attempt; a row a send holds is left to it,
        # with its attempts at 0: that is how the caller tells the two apart below (the
        # sender holding it may be another thread of this very process, same worker name).
        again["locked_until"] = case(
            (free, literal(now + lease, current.locked_until.type)), else_=current.locked_until
        )
        again["locked_by"] = case(
            (free, literal(claim_for, current.locked_by.type)), else_=current.locked_by
        )
        again["attempts"] = case((free, 1), else_=0)
        # As `store.claim` does: a lease still recorded when the row is taken is one that ran
        # out unsettled, so the handler is told to look before sending again.
        again["claim_lapsed"] = case(
            (free, or_(current.claim_lapsed, current.locked_until.is_not(None))),
            else_=current.claim_lapsed,
        )
    else:
        again["attempts"] = 0
    upsert = statement.on_conflict_do_update(index_elements=["dedupe_key"], set_=again)
    row = conn.execute(upsert.returning(*TABLE.c)).one()
    fields = dict(row._mapping)
    mine = claimed and fields["locked_by"] == claim_for and fields["attempts"] == 1
    return Enqueued(int(fields["id"]), row_of(fields) if mine else None)
