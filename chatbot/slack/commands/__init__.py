"""Slack commands, one module per domain; each has register(app, parts)."""

from __future__ import annotations

from slack_bolt import App

from chatbot.slack.commands import context, decision, digest, intent
from chatbot.slack.parts import SlackParts


def register(app: App, parts: SlackParts) -> None:
    intent.register(app, parts)
    decision.register(app, parts)
    context.register(app, parts)
    digest.register(app, parts)
