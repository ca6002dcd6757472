"""Running a transaction again when PostgreSQL chose it as a deadlock's victim.

Two transactions that lock the same rows in opposite orders can wait for each other; the server
then rolls one of them back with `deadlock_detected`. The victim's work was undone whole (the
delivery claim with it), so doing it again is safe, and the other one has by then gone on.
Two people answering the same guided question at once met this: the answer (holding its
conversation) waited for the lane's unsent question, whose settle waited for the conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import psycopg
from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)
_T = TypeVar("_T")
#: One more try is what a deadlock needs (its other side has gone on); three covers a second.
TRIES = 3


def is_deadlock(error: BaseException) -> bool:
    orig = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    return isinstance(orig, psycopg.errors.DeadlockDetected)


def again_after_deadlock(work: Callable[[], _T], tries: int = TRIES) -> _T:
    """`work()`, which runs one whole transaction, run again when it was a deadlock's victim."""
    for attempt in range(1, tries + 1):
        try:
            return work()
        except sa_exc.DBAPIError as exc:
            if attempt == tries or not is_deadlock(exc):
                raise
            log.info("deadlock: transaction rolled back, running it again (%d)", attempt)
    raise AssertionError("unreachable")  # the loop returns or raises
