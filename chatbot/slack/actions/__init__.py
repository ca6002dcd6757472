"""Slack actions, one module per domain; each has register(app, parts)."""

from __future__ import annotations

from slack_bolt import App

from chatbot.slack.actions import decision, digest, intent
from chatbot.slack.parts import SlackParts


def register(app: App, parts: SlackParts) -> None:
    intent.register(app, parts)
    decision.register(app, parts)
    digest.register(app, parts)
