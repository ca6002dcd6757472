"""Everything the listeners and jobs need, built once from the settings and passed in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from chatbot.clock import Clock, SystemClock
from chatbot.db.engine import Database, make_engine
from chatbot.db.migrate import upgrade
from chatbot.prompts import Prompts
from chatbot.settings import Settings

if TYPE_CHECKING:
    from chatbot.intent.service import IntentView
    from chatbot.jira.gateway import JiraGateway
    from chatbot.outbox.kick import Kicker
    from chatbot.outbox.worker import OutboxWorker
    from chatbot.scheduler import JobClock
    from chatbot.slack.decision_flow import DecisionFlow
    from chatbot.slack.intent_flow import IntentFlow
    from chatbot.slack.jira_flow import JiraFlow

log = logging.getLogger(__name__)

# A section of App Home for one user (e.g. their recent decisions), as Block Kit blocks.
HomeSection = Callable[[str], list[dict[str, Any]]]
# What the intent card's Create / Link Jira buttons do once acknowledged.
JiraButton = Callable[[WebClient, dict[str, Any], "IntentView"], None]


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    prompts: Prompts
    slack: WebClient | None = None
    jira: JiraGateway | None = None  # set when Jira is configured
    # One of each per process, built on first use by the function that owns it
    # (`outbox_worker()`, `intent_flow()`, ...), so every listener and job shares it.
    outbox_worker: OutboxWorker | None = None
    outbox_kicker: Kicker | None = None
    intent_flow: IntentFlow | None = None
    decision_flow: DecisionFlow | None = None
    jira_flow: JiraFlow | None = None
    # Set by the Jira listeners when Jira is configured; the intent card's buttons call it.
    jira_button: JiraButton | None = None
    # Every domain with something to show on App Home adds one.
    home_sections: list[HomeSection] = field(default_factory=list)
    # The clock running inside this process (`chatbot serve` / `chatbot socket`), if any.
    embedded_clock: JobClock | None = None


def build_services(
    settings: Settings,
    clock: Clock | None = None,
    migrate: bool = True,
    slack: WebClient | None = None,
) -> Services:
    db = Database(make_engine(settings.database_url))
    if migrate:
        upgrade(db.engine)
    if slack is None and settings.slack_bot_token is not None:
        from chatbot.slack.client import bot_client

        slack = bot_client(settings, wait=clock.sleep if clock else None)
    services = Services(
        settings=settings,
        db=db,
        clock=clock or SystemClock(),
        prompts=Prompts(settings.prompts_dir),
        slack=slack,
    )
    if settings.jira_configured:
        # Imported only when used: the Jira client library is slow to import.
        from chatbot.jira.gateway import gateway_from_settings

        services.jira = gateway_from_settings(settings)
    return services
