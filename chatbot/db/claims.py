"""Claims on scheduled work: whichever process inserts the `job_run` row first runs the slot.

Any number of clocks (embedded in web processes or standalone) may race for the same slot;
the primary key makes exactly one of them win, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import os
import socket

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from chatbot.clock import Clock
from chatbot.db.core_models import JobRun, RunStatus
from chatbot.db.engine import Database


def process_name() -> str:
    """Who holds a claim: host and pid, enough to find the process in a log."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


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
