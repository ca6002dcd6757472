"""Storing, claiming and settling outbox rows; every step is one short transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    bindparam,
    case,
    exists,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers
from sqlmodel import col
from sqlmodel import select as orm_select

from chatbot.clock import Clock
from chatbot.db.deadlock import again_after_deadlock
from chatbot.db.engine import Database
from chatbot.outbox.models import OutboxMessage, OutboxStatus

#: How long a claim holds a row (the default of `OUTBOX_LEASE_SECONDS`). A claim that runs
#: out without settling the row marks it `claim_lapsed`: its process died, maybe after the
#: other side accepted the write, so the next sender looks before writing again.
LEASE = timedelta(minutes=2)
TABLE: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
#: What a settle stores with the row's new status, in the same transaction; the rows it
#: enqueued, to send next.
Record = Callable[[Connection], "list[int | OutboxMessage]"]


# The statements of every owed message, built once: building, coercing and cache-keying a
# statement anew costs more than running it.
_INSERT = insert(TABLE).returning(TABLE.c.id)
# An unsent row of the lane, locked until the caller commits (PostgreSQL): a send of that row
# settling meanwhile waits, then finds the caller's new row to send after it. Without the lock
# both could miss each other and the new row would wait for the clock.
_UNSENT_IN_LANE = (
    select(TABLE.c.id.label("earlier_id"))
    .where(TABLE.c.lane == bindparam("lane"), TABLE.c.status == OutboxStatus.PENDING)
    .limit(1)
    .with_for_update()
    .subquery("unsent")
)


def _insert_claimed_if_first() -> Any:
    """A new row of a lane, claimed for `claim_for` only when nothing earlier in its lane is
    unsent; one statement (it was a locking SELECT and then the INSERT, a round trip more on
    PostgreSQL for every message that has a lane). RETURNING says whether it was claimed."""
    free = _UNSENT_IN_LANE.c.earlier_id.is_(None)
    claimed = {
        "attempts": case((free, 1), else_=0),
        "locked_until": case((free, bindparam("until", type_=TABLE.c.locked_until.type))),
        "locked_by": case((free, bindparam("claim_for", type_=TABLE.c.locked_by.type))),
    }
    columns = [c for c in TABLE.c if c.name != "id"]
    chosen = [
        claimed[c.name] if c.name in claimed else bindparam(c.name, type_=c.type) for c in columns
    ]
    source = (
        select(*chosen)
        .select_from(select(literal(1).label("one")).subquery("new"))
        .outerjoin(_UNSENT_IN_LANE, true())
    )
    return (
        insert(TABLE)
        .from_select([c.name for c in columns], source)
        .returning(TABLE.c.id, TABLE.c.locked_by)
    )


_INSERT_CLAIMED_IF_FIRST = _insert_claimed_if_first()
_LANE_HEAD = (
    select(TABLE.c.id)
    .where(TABLE.c.lane == bindparam("lane"), TABLE.c.status == OutboxStatus.PENDING)
    .order_by(TABLE.c.id)
    .limit(1)
)
# The WHERE's names are not columns', so the parameters that are columns' names are SET.
# Still pending: a sender whose lease ran out while it was slow, not dead, finds the row
# settled by the one that took it over and records nothing.
_SETTLE = update(TABLE).where(
    TABLE.c.id == bindparam("settled_id"),
    TABLE.c.version == bindparam("settled_version"),
    TABLE.c.status == OutboxStatus.PENDING,
)
_RELEASE = update(TABLE).where(TABLE.c.id == bindparam("settled_id"))
_RETRY = _RELEASE


def row_of(values: Mapping[str, Any]) -> OutboxMessage:
    """The row as stored (every column), for its sender to read. Built without validation
    (the values are the row's own, from the statement that stored or claimed it) and without
    ORM state: such a row is never added to a session nor written through, only read (it was
    most of what it cost to hand a claimed row to its sender)."""
    configure_mappers()  # its columns are read through the mapper's attributes
    return OutboxMessage.model_construct(**values)


def enqueue(
    db: Database,
    clock: Clock,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    notify: dict[str, Any] | None = None,
    reset_state: bool = False,
    lane: str | None = None,
) -> int:
    """Store a write (or re-arm the row with this key) and return its id.

    Re-arming keeps `state` (what was already done in the other system) unless told not to,
    keeps an untold `notify`, and bumps `version` so a send in flight knows it is stale.
    """
    for _ in range(3):
        try:
            with db.transaction() as conn:
                return enqueue_in(
                    conn, clock.now(), kind, dedupe_key, payload, notify, reset_state, lane
                ).row_id
        except IntegrityError:
            continue  # another process inserted the same key first: re-arm that row
    raise RuntimeError(f"could not enqueue {dedupe_key!r}")


@dataclass(frozen=True)
class Enqueued:
    row_id: int
    #: The row as stored, when it was stored already claimed by the caller (`enqueue_in`).
    row: OutboxMessage | None = None
    #: Stored behind an earlier unsent row of its lane: that row's settle (or the clock, when
    #: it is the lane's head) sends it, so trying to claim it now would only fail.
    waits: bool = False

    @property
    def claimed(self) -> bool:
        return self.row is not None

    @property
    def follow(self) -> int | OutboxMessage:
        """What a worker sends next for it: the claimed row itself, else its id."""
        return self.row if self.row is not None else self.row_id


def enqueue_in(
    conn: Connection,
    now: datetime,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    notify: dict[str, Any] | None = None,
    reset_state: bool = False,
    lane: str | None = None,
    claim_for: str | None = None,
    new_key: bool = False,
    new_lane: bool = False,
    lease: timedelta = LEASE,
) -> Enqueued:
    """`enqueue` inside the caller's transaction, so the write is stored with the change that
    owes it (or not at all).

    With `claim_for`, a new row is stored already claimed by that worker when nothing earlier
    in its lane is unsent: the caller sends it at once without one more transaction to claim
    it (`OutboxWorker.run_claimed`). `new_key`: the key was just made up (a uuid), so no row
    can hold it and none is looked for; `new_lane`: nothing can be in its lane yet (a thread
    that has just begun), so nothing earlier is looked for.
    """
    found = (
        None
        if new_key
        else conn.execute(
            select(
                TABLE.c.id,
                TABLE.c.payload,
                TABLE.c.version,
                TABLE.c.delay_told,
                TABLE.c.notify,
                TABLE.c.notify_token,
            )
            .where(TABLE.c.dedupe_key == dedupe_key)
            .with_for_update()
        ).first()
    )
    if found is not None:
        told = False if notify else found.delay_told
        values: dict[str, Any] = {
            "payload": {**(found.payload or {}), **payload},
            "version": found.version + 1,
            "status": OutboxStatus.PENDING,
            "next_attempt_at": now,
            "attempts": 0,
            "last_error": None,
            "delay_told": told,
            "updated_at": now,
        }
        if reset_state:
            values["state"] = {}
        if notify:
            values.update(notify=notify, notify_token=uuid.uuid4().hex)
        conn.execute(update(TABLE).where(TABLE.c.id == found.id).values(**values))
        return Enqueued(int(found.id))
    if lane and not new_lane and claim_for is not None:
        values = new_row(now, kind, dedupe_key, payload, lane, claim_for, lease, notify)
        stored = conn.execute(
            _INSERT_CLAIMED_IF_FIRST,
            {
                **values,
                "until": values["locked_until"],
                "claim_for": claim_for,
                "last_error": None,
                "sent_at": None,
            },
        ).one()
        if stored.locked_by is not None:
            return Enqueued(int(stored.id), row_of({"id": stored.id, **values}))
        return Enqueued(int(stored.id), waits=True)
    values = new_row(now, kind, dedupe_key, payload, lane, claim_for, lease, notify)
    row_id = int(conn.execute(_INSERT, values).scalar_one())
    # The claimed row as stored, so its sender needs no read to start.
    return Enqueued(row_id, row_of({"id": row_id, **values}) if claim_for else None)


def new_row(
    now: datetime,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    lane: str | None = None,
    claimed_by: str | None = None,
    lease: timedelta = LEASE,
    notify: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every column of a row stored now (and claimed by `claimed_by`, when given)."""
    return {
        "kind": kind,
        "lane": lane,
        "dedupe_key": dedupe_key,
        "payload": payload,
        "state": {},
        "status": OutboxStatus.PENDING,
        "version": 1,
        "attempts": 1 if claimed_by else 0,
        "next_attempt_at": now,
        "locked_until": now + lease if claimed_by else None,
        "locked_by": claimed_by,
        "notify": notify or None,
        "notify_token": uuid.uuid4().hex if notify else None,
        "delay_told": False,
        "claim_lapsed": False,
        "created_at": now,
        "updated_at": now,
    }


def get(db: Database, row_id: int) -> OutboxMessage | None:
    with db.session() as s:
        return s.get(OutboxMessage, row_id)


def by_key(db: Database, dedupe_key: str) -> OutboxMessage | None:
    with db.session() as s:
        return s.exec(
            orm_select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        ).first()


def due_ids(db: Database, now: datetime, limit: int = 50) -> list[int]:
    with db.session() as s:
        return list(
            s.exec(
                orm_select(OutboxMessage.id)
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


_EARLIER = TABLE.alias("earlier")
_CLAIM = (
    update(TABLE)
    .where(
        TABLE.c.id == bindparam("row_id"),
        TABLE.c.status == OutboxStatus.PENDING,
        TABLE.c.next_attempt_at <= bindparam("now"),
        or_(TABLE.c.locked_until.is_(None), TABLE.c.locked_until < bindparam("now")),
        or_(
            TABLE.c.lane.is_(None),
            ~exists().where(
                and_(
                    _EARLIER.c.lane == TABLE.c.lane,
                    _EARLIER.c.status == OutboxStatus.PENDING,
                    _EARLIER.c.id < TABLE.c.id,
                )
            ),
        ),
    )
    .values(
        locked_until=bindparam("until"),
        locked_by=bindparam("worker"),
        attempts=TABLE.c.attempts + 1,
        # SET reads the row as it was: a lease still recorded is one that lapsed.
        claim_lapsed=or_(TABLE.c.claim_lapsed, TABLE.c.locked_until.is_not(None)),
    )
    .returning(*TABLE.c)
)


def claim(
    db: Database, clock: Clock, row_id: int, worker: str, lease: timedelta = LEASE
) -> OutboxMessage | None:
    """Take the lease on a due row; None when it is not due, another process holds it, or an
    earlier row of its lane is still unsent (that one goes first). The row comes back from
    the claiming statement itself, as claimed.

    A row whose last lease ran out unsettled (every settle clears `locked_until`) is marked
    `claim_lapsed` in the same statement: that claim's process died or stalled, perhaps with
    its write already accepted, so the handler looks for the write before making it. The mark
    stays until the row is settled sent or failed (a retry after a failed look keeps it)."""
    with db.autocommit() as conn:
        return _claim_in(conn, clock.now(), row_id, worker, lease)


def _claim_in(
    conn: Connection, now: datetime, row_id: int, worker: str, lease: timedelta
) -> OutboxMessage | None:
    claimed = conn.execute(
        _CLAIM, {"row_id": row_id, "now": now, "until": now + lease, "worker": worker}
    ).first()
    return None if claimed is None else row_of(claimed._mapping)


def save_state(db: Database, row_id: int, state: dict[str, Any]) -> None:
    """Record progress at once, so a crash or retry never repeats a finished step."""
    with db.session() as s:
        row = s.get(OutboxMessage, row_id)
        if row is not None:
            row.state = dict(state)


def _settle_version(
    db: Database,
    clock: Clock,
    row: OutboxMessage,
    record: Record | None = None,
    claim_for: str | None = None,
    lease: timedelta = LEASE,
    **values: Any,
) -> tuple[bool, list[int | OutboxMessage]]:
    """Apply `values` (and `record`, in the same transaction) if the row is still pending at
    the version that was sent; otherwise it was re-armed meanwhile (or settled by a sender
    that took over a lapsed claim): release it, due at once, and return False. The list
    holds the rows to send next: those `record` enqueued, then the oldest unsent row of this
    row's lane (it waited for this one), claimed for `claim_for` in the same transaction when
    given (one transaction fewer per message that waited; its id when not given, or when
    another sender holds it).

    Without `record` nothing needs the steps together, so each statement commits by itself
    (`Database.autocommit`: on PostgreSQL no BEGIN or COMMIT, two round trips fewer per
    statement): the settled row is sent whatever follows, and a look for the lane's next row
    after the settle's commit sees at least what a look inside its transaction would."""
    now = clock.now()
    settle = {
        "settled_id": row.id,
        "settled_version": row.version,
        "locked_until": None,
        "locked_by": None,
        "updated_at": now,
        **values,
    }

    def settle_in(conn: Connection) -> tuple[bool, list[int | OutboxMessage]]:
        if conn.execute(_SETTLE, settle).rowcount != 1:
            _release_in(conn, row, now)
            return False, []
        follow = record(conn) if record is not None else []
        if row.lane:
            follow += _next_in_lane(conn, row.lane, now, follow, claim_for, lease)
        return True, follow

    if record is None:
        with db.autocommit() as conn:
            return settle_in(conn)

    def settle_with_record() -> tuple[bool, list[int | OutboxMessage]]:
        with db.transaction() as conn:
            return settle_in(conn)

    # What a record writes (a question's posting time on its conversation) may be locked by a
    # transaction that waits for this row (an answer owing the next message of the lane).
    return again_after_deadlock(settle_with_record)


def _next_in_lane(
    conn: Connection,
    lane: str,
    now: datetime,
    taken: list[int | OutboxMessage],
    claim_for: str | None,
    lease: timedelta,
) -> list[int | OutboxMessage]:
    """The lane's oldest unsent row (unless `taken` holds it), claimed for `claim_for` when it
    can be, else its id; nothing when the lane has none."""
    ids = {f if isinstance(f, int) else f.id for f in taken}
    waiting = conn.execute(_LANE_HEAD, {"lane": lane}).scalar()
    if waiting is None or waiting in ids:
        return []
    head = None if claim_for is None else _claim_in(conn, now, waiting, claim_for, lease)
    return [head if head is not None else int(waiting)]


def _release_in(conn: Connection, row: OutboxMessage, now: datetime) -> None:
    conn.execute(
        _RELEASE,
        {"settled_id": row.id, "locked_until": None, "locked_by": None, "next_attempt_at": now},
    )


def settle_sent(
    db: Database,
    clock: Clock,
    row: OutboxMessage,
    record: Record | None = None,
    state: dict[str, Any] | None = None,
    claim_for: str | None = None,
    lease: timedelta = LEASE,
) -> tuple[bool, list[int | OutboxMessage]]:
    """Mark sent unless re-armed meanwhile (then it stays pending and is sent again at once).
    `record` stores what the send made known with the status, at once; `state`, when given,
    replaces the row's state in the same statement. `claim_for`: the worker that sends next
    (see `_settle_version`)."""
    values: dict[str, Any] = {"state": state} if state is not None else {}
    return _settle_version(
        db,
        clock,
        row,
        record,
        claim_for,
        lease,
        status=OutboxStatus.SENT,
        sent_at=clock.now(),
        last_error=None,
        claim_lapsed=False,
        **values,
    )


def settle_retry(
    db: Database, clock: Clock, row: OutboxMessage, delay: timedelta, error: str
) -> None:
    # `updated_at` is left as it was (when the row was stored or last re-armed): the worker
    # gives up on a row that has kept failing for a day since then, and a retry refreshing it
    # would put that day off for ever.
    with db.autocommit() as conn:
        conn.execute(
            _RETRY,
            {
                "settled_id": row.id,
                "next_attempt_at": clock.now() + delay,
                "locked_until": None,
                "locked_by": None,
                "last_error": error[:2000],
            },
        )


def settle_failed(
    db: Database,
    clock: Clock,
    row: OutboxMessage,
    error: str,
    record: Record | None = None,
    claim_for: str | None = None,
    lease: timedelta = LEASE,
) -> tuple[bool, list[int | OutboxMessage]]:
    """Give up on this version; False when the row was re-armed meanwhile (then it is retried)."""
    return _settle_version(
        db,
        clock,
        row,
        record,
        claim_for,
        lease,
        status=OutboxStatus.FAILED,
        last_error=error[:2000],
        claim_lapsed=False,
    )


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


def take_late_notice(db: Database, row: OutboxMessage) -> bool:
    """True for exactly one caller, and only when no other unsent row of the row's lane has
    told its person already: one "this is late" per conversation and outage."""
    earlier = TABLE.alias("earlier")
    conditions = [TABLE.c.id == row.id, TABLE.c.delay_told.is_(False)]
    if row.lane:
        conditions.append(
            ~exists().where(
                and_(
                    earlier.c.lane == row.lane,
                    earlier.c.status == OutboxStatus.PENDING,
                    earlier.c.delay_told.is_(True),
                )
            )
        )
    with db.transaction() as conn:
        return conn.execute(update(TABLE).where(*conditions).values(delay_told=True)).rowcount == 1


def untake_late_notice(db: Database, row_id: int) -> None:
    """The notice could not be given: let a later attempt try again."""
    with db.transaction() as conn:
        conn.execute(update(TABLE).where(TABLE.c.id == row_id).values(delay_told=False))
