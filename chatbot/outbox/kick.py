"""Send right after storing, in the process that stored it, so nobody waits for the clock.

The kick runs on its own small pool: a Jira that answers in 5 s delays neither the ack
nor the listener that enqueued. If that fails or the process dies first, a clock (in any
process) sends it when it is due.
"""

from __future__ import annotations

import logging

from chatbot.background import TrackedExecutor
from chatbot.db.outage import log_job_failure
from chatbot.outbox.worker import OutboxWorker

log = logging.getLogger(__name__)


class Kicker:
    def __init__(self, worker: OutboxWorker, threads: int = 4) -> None:
        self.worker = worker
        self.pool = TrackedExecutor(max_workers=threads)

    def kick(self, row_id: int) -> None:
        self.pool.submit(self._run, row_id)

    def _run(self, row_id: int) -> None:
        try:
            self.worker.run_one(row_id)
        except Exception as exc:
            log_job_failure(
                log, exc, "immediate send of outbox %s failed; the clock retries it", row_id
            )

    def wait_idle(self, timeout: float = 10.0) -> bool:
        return self.pool.wait_idle(timeout)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
