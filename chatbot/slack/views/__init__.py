"""Slack views, one module per domain; each has register(app, services)."""

from __future__ import annotations

from slack_bolt import App

from chatbot.services import Services
from chatbot.slack.views import decision, digest, intent, jira


def register(app: App, services: Services) -> None:
    intent.register(app, services)
    jira.register(app, services)
    decision.register(app, services)
    digest.register(app, services)
