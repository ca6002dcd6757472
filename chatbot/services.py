"""The base dependencies every adapter shares, built once from the settings.

`Services` is frozen: it holds what is read, never what is registered. The flows, the
outbox, the jobs and the routes that use it are built by the composition root
(`chatbot.root`), which hands each part what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from chatbot.clock import Clock, SystemClock
from chatbot.db.engine import Database, DatabaseLimits, make_engine
from chatbot.db.migrate import upgrade
from chatbot.prompts import Prompts
from chatbot.settings import Settings
from chatbot.slack_client import bot_client

if TYPE_CHECKING:
    from chatbot.jira.gateway import JiraGateway


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    clock: Clock
    prompts: Prompts
    slack: WebClient | None = None
    jira: JiraGateway | None = None  # set when Jira is configured


def build_services(
    settings: Settings,
    clock: Clock | None = None,
    migrate: bool = True,
    slack: WebClient | None = None,
) -> Services:
    db = Database(make_engine(settings.database_url, DatabaseLimits.from_settings(settings)))
    if migrate:
        upgrade(db.engine)
    if slack is None and settings.slack_bot_token is not None:
        slack = bot_client(settings, wait=clock.sleep if clock else None)
    jira = None
    if settings.jira_configured:
        # Imported only when Jira is configured: the client library is slow to import.
        from chatbot.jira.gateway import gateway_from_settings

        jira = gateway_from_settings(settings)
    return Services(
        settings=settings,
        db=db,
        clock=clock or SystemClock(),
        prompts=Prompts(settings.prompts_dir),
        slack=slack,
        jira=jira,
    )
