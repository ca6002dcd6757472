"""The outbox's clock job: retry every write whose next attempt is due."""

from __future__ import annotations

import logging

from chatbot.outbox.worker import OutboxWorker
from chatbot.scheduler import Job

log = logging.getLogger(__name__)
OUTBOX_EVERY_SECONDS = 10


def outbox_job(worker: OutboxWorker, every_seconds: int = OUTBOX_EVERY_SECONDS) -> Job:
    def send_due() -> int:
        attempted = worker.run_due()
        if attempted:
            log.info("outbox: attempted %s due writes", attempted)
        return attempted

    return Job("outbox", every_seconds, send_due)
