"""The outbox's worker for this process, its immediate kicker and the clock job."""

from __future__ import annotations

import logging

from chatbot.outbox.kick import Kicker
from chatbot.outbox.worker import Handler, OutboxWorker
from chatbot.services import Services

log = logging.getLogger(__name__)
OUTBOX_EVERY_SECONDS = 10


def outbox_worker(services: Services) -> OutboxWorker:
    """One worker per process, knowing every domain's handlers and how to tell users."""
    if services.outbox_worker is None:
        handlers: dict[str, Handler] = {}
        if services.jira is not None:
            from chatbot.jira.sync import jira_handlers

            handlers.update(jira_handlers(services.db, services.clock, services.jira))
        notifier = None
        if services.slack is not None:
            from chatbot.slack.jira_notices import SlackNotices

            notifier = SlackNotices(services)
        services.outbox_worker = OutboxWorker(services.db, services.clock, handlers, notifier)
    return services.outbox_worker


def outbox_kicker(services: Services) -> Kicker:
    if services.outbox_kicker is None:
        services.outbox_kicker = Kicker(outbox_worker(services))
    return services.outbox_kicker


def send_due_outbox(services: Services) -> int:
    """The clock's outbox job: retry every write whose next attempt is due."""
    attempted = outbox_worker(services).run_due()
    if attempted:
        log.info("outbox: attempted %s due writes", attempted)
    return attempted
