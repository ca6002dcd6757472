"""The clock that runs periodic jobs, inside `chatbot serve` / `chatbot socket` by default, or
alone in `chatbot scheduler`. It knows no domain: each domain offers its jobs as `Job`s and
the composition root (`chatbot.root`) hands them to the clock.

Any number of clocks may run against one database. Each tick a clock looks at every job's
lease (`chatbot.db.leases`) and runs the jobs that are due and that it wins, so each run
happens once however many processes run a clock. Jobs whose work belongs to a slot (a team's
Monday digest) also claim that slot with `chatbot.db.claims.claim_run`.
"""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from chatbot.clock import Clock
from chatbot.db.claims import process_name
from chatbot.db.engine import Database
from chatbot.db.leases import is_due, lease_of, release_lease, renew_lease, take_lease
from chatbot.db.outage import OutageLog, is_outage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """`run()` every `seconds`, by one clock at a time."""

    name: str
    seconds: int
    run: Callable[[], object]

    @property
    def every(self) -> timedelta:
        return timedelta(seconds=self.seconds)


class JobClock:
    """Runs `jobs` on a background thread pool; `tick()` is one look at what is due."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        jobs: Sequence[Job],
        tick_seconds: float,
        holder: str | None = None,
        lease_seconds: float = 60.0,
        wait: Callable[[threading.Event, float], bool] = threading.Event.wait,
        outage_log_seconds: float = 60.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.jobs = tuple(jobs)
        self.tick_seconds = tick_seconds
        # A dead clock keeps a job from the others this long; a live one renews it while the
        # job runs (every quarter of it), however long the job takes.
        self.lease = timedelta(seconds=lease_seconds)
        # `wait(done, seconds)`: True once the run is over, False when it is time to renew
        # (injected by tests, which decide when a beat happens).
        self._wait = wait
        # Unique per clock, even for two clocks in one process.
        self.holder = holder or f"{process_name()}:{uuid.uuid4().hex[:6]}"
        self.last_tick: datetime | None = None
        self._scheduler: BackgroundScheduler | None = None
        # Every job meets the same outage every tick: it is said once, not jobs x ticks times.
        self.outage = OutageLog(
            log, "clock", outage_log_seconds, now=lambda: clock.now().timestamp()
        )

    def tick(self) -> list[str]:
        """Run every due job this clock wins, one after another; returns their names."""
        return [job.name for job in self.jobs if self.run_if_due(job)]

    def run_if_due(self, job: Job) -> bool:
        now = self.clock.now()
        self.last_tick = now
        try:
            due = is_due(lease_of(self.db, job.name), now, job.every)
            won = due and take_lease(self.db, now, job.name, job.every, self.lease, self.holder)
        except SQLAlchemyError as exc:
            self._lease_trouble(exc, f"cannot look at the lease of {job.name}")
            return False
        self.outage.succeeded()
        if not won:
            return False
        done = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(job, done), name=f"lease:{job.name}", daemon=True
        )
        beat.start()
        try:
            job.run()
        except Exception as exc:
            if is_outage(exc):
                self.outage.failed(exc)
            else:
                log.exception("job %s failed; it runs again in %ss", job.name, job.seconds)
        finally:
            done.set()
            beat.join()
            try:
                release_lease(self.db, job.name, self.holder)
            except SQLAlchemyError as exc:
                # The lease runs out by itself; another clock takes the job then.
                self._lease_trouble(exc, f"could not free the lease of {job.name}")
        return True

    def _lease_trouble(self, exc: SQLAlchemyError, what: str) -> None:
        if is_outage(exc):
            self.outage.failed(exc)
        else:
            log.warning("clock: %s: %s", what, _first(exc))

    def _heartbeat(self, job: Job, done: threading.Event) -> None:
        """Renew the lease of `job` every quarter of the lease until the run ends."""
        while not self._wait(done, self.lease.total_seconds() / 4):
            try:
                renew_lease(self.db, job.name, self.holder, self.clock.now() + self.lease)
            except SQLAlchemyError as exc:
                self._lease_trouble(exc, f"could not renew the lease of {job.name}")

    def start(self) -> None:
        """Look for due jobs every tick on background threads; a slow job delays no other."""
        # APScheduler logs every run at INFO; this clock logs what matters (failures).
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        logging.getLogger("apscheduler.scheduler").addFilter(_still_running_is_expected)
        scheduler = BackgroundScheduler(timezone="UTC")
        for job in self.jobs:
            scheduler.add_job(
                self.run_if_due,
                "interval",
                args=[job],
                name=f"clock: {job.name}",
                seconds=min(self.tick_seconds, job.seconds),
                id=job.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(job.seconds)),
                next_run_time=datetime.now().astimezone(),
            )
            log.info("clock: %s every %ss", job.name, job.seconds)
        scheduler.start()
        self._scheduler = scheduler

    def stop(self, wait: bool = True) -> None:
        """Stop ticking; with `wait`, let running jobs finish (they free their leases)."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        self._scheduler = None


def _still_running_is_expected(record: logging.LogRecord) -> bool:
    """A job that outlasts the tick (a long Jira sync) is simply not started again until it
    ends; APScheduler would warn about it on every tick."""
    return "maximum number of running instances reached" not in record.getMessage()


def wait_until_stopped() -> None:
    """Block the main thread until SIGTERM or Ctrl-C, so the caller can stop cleanly."""
    stopped = threading.Event()

    def stop(_signum: int, _frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stopped.wait()


def _first(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
