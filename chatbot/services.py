"""Everything the listeners and jobs need, built once from the settings and passed in."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from chatbot.clock import Clock, SystemClock
from chatbot.db.engine import Database, make_engine
from chatbot.db.migrate import upgrade
from chatbot.prompts import Prompts
from chatbot.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    prompts: Prompts
    slack: WebClient | None = None
    jira: Any = None  # chatbot.jira.gateway.JiraGateway when Jira is configured
    extras: dict[str, Any] = field(default_factory=dict)


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
        try:
            from chatbot.jira.gateway import gateway_from_settings
        except ImportError:  # the Jira gateway ships with the Jira issue
            log.info("Jira settings present but the Jira gateway is not installed")
        else:
            services.jira = gateway_from_settings(settings)
    return services
