"""The clock: every periodic job, run inside `chatbot serve` / `chatbot socket` by default, or
alone by `chatbot scheduler`.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from chatbot.db.claims import process_name
from chatbot.db.dedupe import forget_deliveries_before
from chatbot.db.leases import is_due, lease_of, release_lease, take_lease
from chatbot.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """`run(services)` every `seconds`, by one clock at a time."""

    name: str
    seconds: int
    run: Callable[[Services], object]
    # How long a run may take before another clock may start the job again (a clock that
    # died mid-run holds it this long).
    lease_seconds: int | None = None

    @property
    def every(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    @property
    def hold(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds or max(2 * self.seconds, 60))


def forget_old_deliveries(services: Services) -> int:
    # Slack retries for minutes and webhooks for hours; a week is far beyond either.
    return forget_deliveries_before(services.db, services.clock.now() - timedelta(days=7))


def _sync_jira_history(services: Services) -> object:
    from chatbot.jira.history import sync_all_teams

    if services.jira is None:
        return []
    return sync_all_teams(services.db, services.clock, services.jira)


def _digest_schedule(services: Services) -> int:
    from chatbot.digest.schedule import run_digest_schedule

    return run_digest_schedule(services)


def jobs_for(services: Services) -> list[Job]:
    """Every periodic job; a domain adds its own with one line here.

    Imports are local so that a domain's job module may import `Job` from here.
    """
    from chatbot.outbox.jobs import OUTBOX_EVERY_SECONDS, send_due_outbox

    found: list[Job] = [Job("forget-old-deliveries", 3600, forget_old_deliveries)]
    found.append(Job("outbox", OUTBOX_EVERY_SECONDS, send_due_outbox))
    found.append(Job("jira-history", 600, _sync_jira_history))
    found.append(Job("digests", 60, _digest_schedule, lease_seconds=600))
    return found


class JobClock:
    """Runs `jobs` on a background thread pool; `tick()` is one look at what is due."""

    def __init__(
        self,
        services: Services,
        jobs: list[Job] | None = None,
        tick_seconds: float | None = None,
        holder: str | None = None,
    ) -> None:
        self.services = services
        self.jobs = jobs if jobs is not None else jobs_for(services)
        self.tick_seconds = tick_seconds or services.settings.clock_tick_seconds
        # Unique per clock, even for two clocks in one process.
        self.holder = holder or f"{process_name()}:{uuid.uuid4().hex[:6]}"
        self.last_tick: datetime | None = None
        self._scheduler: BackgroundScheduler | None = None

    def tick(self) -> list[str]:
        """Run every due job this clock wins, one after another; returns their names."""
        return [job.name for job in self.jobs if self.run_if_due(job)]

    def run_if_due(self, job: Job) -> bool:
        services = self.services
        now = services.clock.now()
        self.last_tick = now
        try:
            if not is_due(lease_of(services.db, job.name), now, job.every):
                return False
            if not take_lease(services.db, now, job.name, job.every, job.hold, self.holder):
                return False
        except SQLAlchemyError as exc:
            log.warning("clock: cannot reach the database for job %s: %s", job.name, _first(exc))
            return False
        try:
            job.run(services)
        except Exception:
            log.exception("job %s failed; it runs again in %ss", job.name, job.seconds)
        finally:
            try:
                release_lease(services.db, job.name, self.holder)
            except SQLAlchemyError as exc:
                log.warning("clock: could not free the lease of %s: %s", job.name, _first(exc))
        return True

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


def run_scheduler(services: Services) -> None:
    """`chatbot scheduler`: the clock alone, until SIGTERM or Ctrl-C."""
    clock = JobClock(services)
    clock.start()
    try:
        wait_until_stopped()
    finally:
        clock.stop()


def _first(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
