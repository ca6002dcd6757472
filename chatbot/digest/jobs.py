"""The digest's clock job: every minute, post due digests and send due check-ins."""

from __future__ import annotations

import logging

from chatbot.clock import Clock
from chatbot.db.outage import log_job_failure
from chatbot.digest.checkin import CheckInService
from chatbot.digest.publish import DigestPublisher, PostStatus
from chatbot.digest.schedule import digest_slot
from chatbot.scheduler import Job
from chatbot.teams.service import TeamService

log = logging.getLogger(__name__)

DIGEST_EVERY_SECONDS = 60


def run_digest_schedule(
    teams: TeamService, clock: Clock, publisher: DigestPublisher, checkins: CheckInService
) -> int:
    """Post due digests, send due check-ins and reminders; returns how many digests it posted."""
    now = clock.now()
    posted = 0
    for team in teams.all():
        try:
            slot = digest_slot(team, now)
            if slot is not None:
                posted += publisher.post_slot(team, slot.week).status == PostStatus.POSTED
            checkins.run_due(team, now)
        except Exception as exc:  # one team's failure never stops the others
            log_job_failure(log, exc, "digest schedule failed for team %s", team.name)
    return posted


def digest_job(
    teams: TeamService, clock: Clock, publisher: DigestPublisher, checkins: CheckInService
) -> Job:
    return Job(
        "digests",
        DIGEST_EVERY_SECONDS,
        lambda: run_digest_schedule(teams, clock, publisher, checkins),
    )
