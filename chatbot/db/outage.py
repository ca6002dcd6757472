"""Telling a database outage from a bug, and saying so in the log without flooding it.

An outage (the server refused, did not answer in time, went away, SQLite's file locked or
unopenable) is expected in production: it gets one line naming the reason, never a
traceback. Anything else is a bug and keeps its traceback where it is logged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import exc as sa_exc

# SQLite reports a missing table or a syntax error as OperationalError too; these are the
# messages of a database that is there but cannot be used right now.
_SQLITE_OUTAGES = ("locked", "busy", "unable to open", "disk i/o", "disk is full")


def is_outage(error: BaseException) -> bool:
    """Whether `error` (or what it was raised from) means the database cannot be used now."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_outage_itself(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_outage_itself(error: BaseException) -> bool:
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # no pooled connection free in time; a pooled connection went away
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or _is_outage_itself(error.orig)
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return True  # connection failures, cancelled statements, server shutting down
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        return any(part in message for part in _SQLITE_OUTAGES)
    return False


def outage_reason(error: BaseException) -> str:
    """The database's own reason, first line only (it names host and port, never a password)."""
    orig: BaseException = error
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        orig = error.orig
    text = str(orig).strip()
    first = text.splitlines()[0].strip() if text else type(orig).__name__
    return first.removeprefix("connection failed: ")


class OutageLog:
    """Says once that the database is unreachable, then at most once every `every` seconds
    while that lasts, and once when it answers again; thread-safe (jobs run side by side)."""

    def __init__(
        self,
        logger: logging.Logger,
        who: str,
        every: float,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._who = who
        self._every = every
        self._now = now
        self._lock = threading.Lock()
        self._since: float | None = None
        self._said_at = 0.0
        self._failures = 0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException) -> None:
        now = self._now()
        with self._lock:
            self._failures += 1
            if self._since is None:
                self._since = self._said_at = now
                first = True
            elif now - self._said_at >= self._every:
                self._said_at = now
                first = False
            else:
                return
            lasted, failures = now - self._since, self._failures
        if first:
            self._log.warning(
                "%s: the database is unreachable (%s); waiting for it",
                self._who,
                outage_reason(error),
            )
        else:
            self._log.warning(
                "%s: the database is still unreachable after %.0f s, %d attempts (%s)",
                self._who,
                lasted,
                failures,
                outage_reason(error),
            )

    def succeeded(self) -> None:
        if self._since is None:  # the common case, without the lock
            return
        now = self._now()
        with self._lock:
            if self._since is None:
                return
            lasted, self._since, self._failures = now - self._since, None, 0
        self._log.warning("%s: the database answers again after %.0f s", self._who, lasted)


def log_job_failure(logger: logging.Logger, error: BaseException, what: str, *args: object) -> None:
    """A failed piece of a job: one line naming the database's reason when the database is
    down (every item of a job meets the same outage), the whole traceback for a bug."""
    if is_outage(error):
        logger.warning(what + ": the database is unreachable (%s)", *args, outage_reason(error))
    else:
        logger.error(what, *args, exc_info=error)
