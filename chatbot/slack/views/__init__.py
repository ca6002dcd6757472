"""Slack views, one module per domain; each has register(app, parts)."""

from __future__ import annotations

from slack_bolt import App

from chatbot.slack.parts import SlackParts
from chatbot.slack.views import decision, digest, intent, jira


def register(app: App, parts: SlackParts) -> None:
    intent.register(app, parts)
    jira.register(app, parts)
    decision.register(app, parts)
    digest.register(app, parts)
