"""The clock process: APScheduler running jobs that domains register.

Every job is idempotent in the database, so a second clock process does no harm.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.blocking import BlockingScheduler

from chatbot.db.dedupe import forget_deliveries_before
from chatbot.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    seconds: int
    run: Callable[[Services], object]


def forget_old_deliveries(services: Services) -> int:
    # Slack retries for minutes and webhooks for hours; a week is far beyond either.
    return forget_deliveries_before(services.db, services.clock.now() - timedelta(days=7))


def _sync_jira_history(services: Services) -> object:
    from chatbot.jira.history import sync_all_teams

    return sync_all_teams(services)


def jobs_for(services: Services) -> list[Job]:
    """Periodic jobs; each domain adds its own (outbox, Jira sync, digests, check-ins)."""
    found: list[Job] = [Job("forget-old-deliveries", 3600, forget_old_deliveries)]
    for provider in services.extras.get("job_providers", []):
        found += provider(services)
    try:
        from chatbot.outbox.jobs import outbox_jobs
    except ImportError:
        pass
    else:
        found += outbox_jobs(services)
    found.append(Job("jira-history", 600, _sync_jira_history))
    return found


def run_scheduler(services: Services) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    for job in jobs_for(services):
        scheduler.add_job(
            _guarded(job, services),
            "interval",
            seconds=job.seconds,
            id=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=job.seconds,
        )
        log.info("scheduled %s every %ss", job.name, job.seconds)
    scheduler.start()


def _guarded(job: Job, services: Services) -> Callable[[], None]:
    def run() -> None:
        try:
            job.run(services)
        except Exception:
            log.exception("job %s failed; it runs again at its next tick", job.name)

    return run
