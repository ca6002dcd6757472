"""Slack shortcuts, one module per domain; each has register(app, services)."""

from __future__ import annotations

from slack_bolt import App

from chatbot.services import Services


def register(app: App, services: Services) -> None:
    """The decision log registers "Log as decision" here."""
