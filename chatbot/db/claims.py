"""Claims on scheduled work: whichever process inserts the `job_run` row first runs the slot.

Any number of clocks (embedded in web processes or standalone) may race for the same slot;
the primary key makes exactly one of them win, on SQLite and PostgreSQL alike. A claim left
`running` by a process that died is taken over by exactly one other (`take_over_run`), which
learns when the work was first claimed, so it can look for what the dead one did since.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, select

from chatbot.clock import Clock
from chatbot.db.core_models import JobRun, RunStatus
from chatbot.db.engine import Database


def process_name() -> str:
    """Who holds a claim: host and pid, enough to find the process in a log."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def holder_name() -> str:
    """A holder unique to one piece of work, even among the threads of one process."""
    return f"{process_name()}:{uuid.uuid4().hex[:8]}"[:128]


def claim_run(db: Database, clock: Clock, key: str, job: str, holder: str | None = None) -> bool:
    """True for the one caller that claims `key`; False for every other, in any process."""
    try:
        with db.session() as session:
            session.add(
                JobRun(
                    key=key[:255],
                    job=job[:64],
                    claimed_by=holder or process_name(),
                    claimed_at=clock.now(),
                )
            )
    except IntegrityError:
        return False
    return True


def finish_run(
    db: Database,
    clock: Clock,
    key: str,
    status: RunStatus = RunStatus.DONE,
    detail: str | None = None,
) -> None:
    with db.session() as session:
        run = session.exec(select(JobRun).where(JobRun.key == key)).first()
        if run is not None:
            run.status = status
            run.finished_at = clock.now()
            run.detail = detail


def run_status(db: Database, key: str) -> JobRun | None:
    with db.session() as session:
        return session.exec(select(JobRun).where(JobRun.key == key)).first()


def take_over_run(
    db: Database, clock: Clock, key: str, stale_before: datetime, holder: str | None = None
) -> datetime | None:
    """Take the claim `key` when it is still `running` and was made before `stale_before` (its
    process died). Returns when the work was first claimed, for the caller to look for what
    was done since; None when the claim is not stale, not running, or another caller took it.
    """
    with db.session() as session:
        run = session.exec(select(JobRun).where(JobRun.key == key).with_for_update()).first()
        if run is None or run.status != RunStatus.RUNNING or run.claimed_at >= stale_before:
            return None
        first = first_claimed_at(run)
        taken = session.execute(
            update(JobRun)
            .where(col(JobRun.key) == key)
            .where(col(JobRun.status) == RunStatus.RUNNING)
            .where(col(JobRun.claimed_at) < stale_before)
            .values(
                claimed_by=holder or process_name(),
                claimed_at=clock.now(),
                detail=json.dumps({"first_claimed_at": first.isoformat()}),
            )
        )
        return first if taken.rowcount == 1 else None


def first_claimed_at(run: JobRun) -> datetime:
    """When the claim was first made, through any number of take-overs."""
    try:
        return datetime.fromisoformat(json.loads(run.detail or "{}")["first_claimed_at"])
    except (KeyError, TypeError, ValueError):
        return run.claimed_at


def renew_run(db: Database, clock: Clock, key: str, holder: str) -> bool:
    """The holder of the running claim `key` is alive: its claim is fresh again (`claimed_at`
    becomes now; when the work was first claimed stays readable, `first_claimed_at`)."""
    with db.session() as session:
        run = session.exec(select(JobRun).where(JobRun.key == key).with_for_update()).first()
        if run is None or run.status != RunStatus.RUNNING or run.claimed_by != holder[:128]:
            return False
        run.detail = json.dumps({"first_claimed_at": first_claimed_at(run).isoformat()})
        run.claimed_at = clock.now()
        return True


@contextmanager
def kept_alive(
    db: Database, clock: Clock, key: str, holder: str, every: timedelta
) -> Iterator[None]:
    """Renew the claim `key` every `every` while the block runs, so that nobody takes over
    the work of a live holder however long it takes; a dead one stops renewing."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every.total_seconds()):
            # The database away: the claim goes stale if that lasts, as for a dead holder.
            with suppress(SQLAlchemyError):
                renew_run(db, clock, key, holder)

    thread = threading.Thread(target=beat, name=f"alive:{key}"[:64], daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
