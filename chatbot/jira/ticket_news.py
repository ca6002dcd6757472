"""What a linked ticket's status change means for its intent: work started, or done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chatbot.crashpoints import crash_point
from chatbot.db.dedupe import AlreadyDelivered, claim_delivery
from chatbot.intent.models import IntentStatus
from chatbot.intent.service import IntentService, IntentView

NOT_STARTED = (IntentStatus.DRAFT, IntentStatus.READY, IntentStatus.LINKED)


@dataclass(frozen=True)
class TicketNews:
    """`started`: the ticket entered progress and the intent moved to in progress with it;
    `done`: the ticket is done (the people in the thread are asked about the checks)."""

    view: IntentView
    key: str
    status: str
    started: bool
    done: bool


class TicketNewsListener(Protocol):
    def ticket_moved(self, news: TicketNews) -> None: ...


def ticket_moved(
    intents: IntentService, delivery_key: str, key: str, status: str, category: str
) -> TicketNews | None:
    """Apply a status change of ticket `key` to its intent; None when nothing is linked.

    The delivery is claimed in the transaction that moves the intent, so a redelivery raises
    `AlreadyDelivered` and changes nothing, while a delivery whose process died before the
    intent moved is done when Jira sends it again."""
    view = intents.find(key)  # read before the transaction: SQLite allows one at a time
    with intents.db.session() as s:
        if not claim_delivery(s.connection(), delivery_key, intents.clock.now()):
            raise AlreadyDelivered(delivery_key)
        crash_point("jira_webhook.claimed")
        if view is None or view.intent.jira_key != key:
            return None
        if category == "indeterminate" and view.intent.status in NOT_STARTED:
            view = intents.set_status_in(s, view.intent.id or 0, IntentStatus.IN_PROGRESS, "jira")
            return TicketNews(view, key, status, started=True, done=False)
    return TicketNews(view, key, status, started=False, done=category == "done")
