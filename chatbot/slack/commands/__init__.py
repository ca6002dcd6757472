"""Slack commands, one module per domain; each has register(app, services)."""

from __future__ import annotations

from slack_bolt import App

from chatbot.services import Services
from chatbot.slack.commands import context, decision, digest, intent


def register(app: App, services: Services) -> None:
    intent.register(app, services)
    decision.register(app, services)
    context.register(app, services)
    digest.register(app, services)
