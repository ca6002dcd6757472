"""The outbox's worker for this process, its immediate kicker and the clock job."""

from __future__ import annotations

import logging

from chatbot.outbox.kick import Kicker
from chatbot.outbox.worker import Handler, OutboxWorker
from chatbot.scheduler import Job
from chatbot.services import Services

log = logging.getLogger(__name__)
OUTBOX_EVERY_SECONDS = 10


def outbox_worker(services: Services) -> OutboxWorker:
    """One worker per process, knowing every domain's handlers and how to tell users."""
    worker = services.extras.get("outbox_worker")
    if worker is None:
        handlers: dict[str, Handler] = {}
        if services.jira is not None:
            from chatbot.jira.sync import jira_handlers

            handlers.update(jira_handlers(services))
        notifier = None
        if services.slack is not None:
            from chatbot.slack.jira_notices import SlackNotices

            notifier = SlackNotices(services)
        worker = services.extras["outbox_worker"] = OutboxWorker(
            services.db, services.clock, handlers, notifier
        )
    return worker


def outbox_kicker(services: Services) -> Kicker:
    kicker = services.extras.get("outbox_kicker")
    if kicker is None:
        kicker = services.extras["outbox_kicker"] = Kicker(outbox_worker(services))
    return kicker


def outbox_jobs(services: Services) -> list[Job]:
    def run(s: Services) -> None:
        sent = outbox_worker(s).run_due()
        if sent:
            log.info("outbox: attempted %s due writes", sent)

    return [Job("outbox", OUTBOX_EVERY_SECONDS, run)]
