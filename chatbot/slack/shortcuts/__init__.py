"""Slack shortcuts, one module per domain; each has register(app, parts)."""

from __future__ import annotations

from slack_bolt import App

from chatbot.slack.parts import SlackParts
from chatbot.slack.shortcuts import decision


def register(app: App, parts: SlackParts) -> None:
    decision.register(app, parts)
