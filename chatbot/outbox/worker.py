"""Sends due outbox rows through their handlers, with backoff that honours Retry-After.

Handlers raise `RetryLater` for what may work later (5xx, 429, timeouts, connection
errors) and `GiveUp` for what never will (unknown ticket, bad request). Time comes from
the injected clock: a retry is a `next_attempt_at` in the database, never a sleep.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.db.outage import log_job_failure
from chatbot.outbox import store
from chatbot.outbox.models import OutboxMessage

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 15
BACKOFF_MAX_SECONDS = 300
RETRY_AFTER_MAX_SECONDS = 3600
GIVE_UP_AFTER = timedelta(hours=24)


class RetryLater(Exception):
    """The other side may accept this later; `retry_after` is what it asked for, if anything."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class GiveUp(Exception):
    """This write will never succeed as it is; `user_message` says why and what to do."""

    def __init__(
        self, reason: str, user_message: str | None = None, record: store.Record | None = None
    ) -> None:
        super().__init__(reason)
        self.user_message = user_message or reason
        #: Stored with the row's failure, in the same transaction (see `Landed.record`).
        self.record = record


class Progress:
    """Handed to a handler: the row's state, saved after every step that changed Jira."""

    def __init__(self, db: Database, row: OutboxMessage) -> None:
        self._db = db
        self._row_id = int(row.id or 0)
        self.state: dict[str, Any] = dict(row.state or {})

    def save(self, **changes: Any) -> None:
        self.state.update(changes)
        store.save_state(self._db, self._row_id, self.state)


@dataclass
class Landed:
    """What a handler did, for the notice to the person who asked.

    `record`, when set, is stored in the transaction that marks the row sent (what the send
    made known, such as a message's ts, and the writes that follow from it); the rows it
    returns are sent next."""

    summary: dict[str, Any]
    record: store.Record | None = field(default=None, repr=False)
    #: Replaces the row's state in the statement that marks it sent (what the send made known).
    state: dict[str, Any] | None = None


Handler = Callable[[OutboxMessage, Progress], Landed | None]


class Notifier(Protocol):
    def landed(self, row: OutboxMessage, notice: dict[str, Any], landed: Landed | None) -> None: ...

    def delayed(self, row: OutboxMessage, notice: dict[str, Any], reason: str) -> None: ...

    def failed(self, row: OutboxMessage, notice: dict[str, Any], message: str) -> None: ...


def backoff(
    attempts: int,
    retry_after: float | None,
    base: float = BACKOFF_BASE_SECONDS,
    most: float = BACKOFF_MAX_SECONDS,
) -> timedelta:
    """15 s, 30 s, 60 s … capped at 5 min; a Retry-After from the server wins when longer."""
    seconds = min(base * 2 ** max(0, attempts - 1), most)
    if retry_after is not None:
        seconds = max(min(retry_after, RETRY_AFTER_MAX_SECONDS), 1)
    return timedelta(seconds=seconds)


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        handlers: dict[str, Handler],
        notifier: Notifier | None = None,
        name: str | None = None,
        backoff_base: float = BACKOFF_BASE_SECONDS,
        backoff_max: float = BACKOFF_MAX_SECONDS,
        lease: timedelta = store.LEASE,
    ) -> None:
        self.db = db
        self.clock = clock
        self.handlers = handlers
        self.notifier = notifier
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.lease = lease

    def handle(self, kind: str, handler: Handler) -> None:
        """Send rows of `kind` through `handler` (a flow built after the worker adds its own)."""
        self.handlers[kind] = handler

    def run_due(self, limit: int = 50) -> int:
        """Send every due row this process can claim; returns how many were attempted."""
        attempted = 0
        # One connection for the scan and every claim and settle after it (`Database.holding`).
        with self.db.holding():
            for row_id in store.due_ids(self.db, self.clock.now(), limit):
                if self.run_one(row_id):
                    attempted += 1
        return attempted

    def run_one(self, row_id: int) -> bool:
        """Try one row now if it is due and free; False when there was nothing to do.

        Then the rows its send made due: those its handler enqueued, and the next one of its
        lane, which waited for it."""
        row = store.claim(self.db, self.clock, row_id, self.name, self.lease)
        if row is None:
            return False
        self._run_from(row)
        return True

    def run_claimed(self, row: OutboxMessage) -> None:
        """Send a row this worker claimed when it was stored (`store.enqueue_in(claim_for=)`)."""
        if row.locked_by == self.name:
            self._run_from(row)

    def _run_from(self, first: OutboxMessage) -> None:
        queue: deque[int | OutboxMessage] = deque(self._run(first))
        while queue:
            item = queue.popleft()
            if isinstance(item, OutboxMessage):  # stored claimed by this worker: no claim
                row: OutboxMessage | None = item if item.locked_by == self.name else None
            else:
                row = store.claim(self.db, self.clock, item, self.name, self.lease)
            if row is not None:
                queue.extend(self._run(row))

    def _run(self, row: OutboxMessage) -> list[int | OutboxMessage]:
        """Send one claimed row; returns the rows to try next."""
        row_id = int(row.id or 0)
        handler = self.handlers.get(row.kind)
        if handler is None:
            # Another process (newer code) may know this kind; leave it for later.
            store.settle_retry(
                self.db, self.clock, row, timedelta(minutes=5), f"no handler for {row.kind}"
            )
            return []
        progress = Progress(self.db, row)
        follow: list[int | OutboxMessage] = []
        try:
            landed = handler(row, progress)
        except RetryLater as exc:
            self._retry(row, str(exc), exc.retry_after)
            return []
        except GiveUp as exc:
            log.warning("outbox %s (%s) gave up: %s", row.id, row.kind, exc)
            failed, follow = store.settle_failed(
                self.db, self.clock, row, str(exc), exc.record, self.name, self.lease
            )
            if failed:
                self._tell("failed", row, exc.user_message)
        except Exception as exc:  # the database down, or a bug of ours: keep the row, retry
            log_job_failure(log, exc, "outbox %s (%s) handler crashed", row.id, row.kind)
            self._retry(row, f"{type(exc).__name__}: {exc}", None)
            return []
        else:
            record = landed.record if landed is not None else None
            state = landed.state if landed is not None else None
            sent, follow = store.settle_sent(
                self.db, self.clock, row, record, state, self.name, self.lease
            )
            self._tell("landed", row, landed)
            if not sent:
                # Edited while this send was in flight: send the newer version now rather
                # than at the clock's next tick.
                return [row_id]
        return follow

    def _retry(self, row: OutboxMessage, reason: str, retry_after: float | None) -> None:
        if self.clock.now() - row.updated_at > GIVE_UP_AFTER and row.attempts > 3:
            message = f"gave up after {row.attempts} attempts over 24 hours: {reason}"
            if store.settle_failed(self.db, self.clock, row, message)[0]:
                self._tell("failed", row, message)
            return
        delay = backoff(row.attempts, retry_after, self.backoff_base, self.backoff_max)
        log.info("outbox %s (%s) retry in %ss: %s", row.id, row.kind, delay.total_seconds(), reason)
        store.settle_retry(self.db, self.clock, row, delay, reason)
        self._tell("delayed", row, reason)

    def _tell(self, what: str, row: OutboxMessage, detail: Any) -> None:
        if self.notifier is None:
            return
        take = store.take_delay_notice if what == "delayed" else store.take_notice
        notice = take(self.db, row)
        if notice is None:
            return
        try:
            getattr(self.notifier, what)(row, notice, detail)
        except Exception as exc:  # telling is best effort; the write itself has landed
            log_job_failure(log, exc, "outbox %s: could not tell the user (%s)", row.id, what)
