"""Leases on interval jobs: whichever clock wins one conditional UPDATE runs the job this time.

A job is due when its last run started `every` ago; taking the lease sets `last_run_at` and
`locked_until` in the same statement, so of any number of clocks (embedded in web processes
or standalone) exactly one sees its UPDATE match the row. The first run inserts the row; the
primary key makes one inserter win. A running clock renews `locked_until` (a heartbeat), so a
clock that dies mid-run holds the lease only until its last renewal runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from chatbot.db.core_models import JobLease
from chatbot.db.engine import Database


def lease_of(db: Database, job: str) -> JobLease | None:
    with db.session() as session:
        return session.exec(select(JobLease).where(JobLease.job == job)).first()


def all_leases(db: Database) -> list[JobLease]:
    with db.session() as session:
        return list(session.exec(select(JobLease).order_by(JobLease.job)))


def is_due(lease: JobLease | None, now: datetime, every: timedelta) -> bool:
    if lease is None:
        return True
    free = lease.locked_until is None or lease.locked_until <= now
    return free and (lease.last_run_at is None or lease.last_run_at <= now - every)


def take_lease(
    db: Database, now: datetime, job: str, every: timedelta, hold: timedelta, holder: str
) -> bool:
    """True for the one caller that may run `job` now; False when it is not due or taken."""
    locked_until, last_run_at = col(JobLease.locked_until), col(JobLease.last_run_at)
    with db.session() as session:
        taken = session.execute(
            update(JobLease)
            .where(col(JobLease.job) == job)
            .where(or_(locked_until.is_(None), locked_until <= now))
            .where(or_(last_run_at.is_(None), last_run_at <= now - every))
            .values(holder=holder[:128], locked_until=now + hold, last_run_at=now)
        )
        if taken.rowcount == 1:
            return True
        exists = session.exec(select(JobLease.job).where(JobLease.job == job)).first()
    if exists is not None:
        return False
    try:
        with db.session() as session:
            session.add(
                JobLease(job=job, holder=holder[:128], locked_until=now + hold, last_run_at=now)
            )
    except IntegrityError:
        return False  # another clock ran it first
    return True


def release_lease(db: Database, job: str, holder: str) -> None:
    """The run is over: free the lease (its `last_run_at` keeps the next run `every` away)."""
    with db.session() as session:
        session.execute(
            update(JobLease)
            .where(col(JobLease.job) == job)
            .where(col(JobLease.holder) == holder[:128])
            .values(locked_until=None)
        )


def renew_lease(db: Database, job: str, holder: str, until: datetime) -> bool:
    """The holder is alive and still running `job`: keep the lease until `until`."""
    with db.session() as session:
        renewed = session.execute(
            update(JobLease)
            .where(col(JobLease.job) == job)
            .where(col(JobLease.holder) == holder[:128])
            .where(col(JobLease.locked_until).is_not(None))
            .values(locked_until=until)
        )
        return renewed.rowcount == 1
