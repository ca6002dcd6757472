"""Slack shortcuts, one module per domain; each has register(app, services)."""

from __future__ import annotations

from slack_bolt import App

from chatbot.services import Services
from chatbot.slack.shortcuts import decision


def register(app: App, services: Services) -> None:
    decision.register(app, services)
