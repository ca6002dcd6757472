"""A reaction (the team's emoji, default :memo:) logs the reacted message as a decision,
once however many people react and however often Slack delivers the event
(`chatbot.slack.reaction_flow`: kept while Slack cannot be read).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from chatbot.slack.parts import SlackParts
from chatbot.teams.service import TeamService

log = logging.getLogger(__name__)


def emoji_name(name: str) -> str:
    """`:memo:`, `memo` and `memo::skin-tone-2` are all `memo`."""
    return name.strip().strip(":").split("::", 1)[0].lower()


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    teams = TeamService(services.db, services.clock)

    def wanted(channel: str) -> str:
        team = teams.by_channel(channel)
        return emoji_name((team.decision_reaction if team else "") or "") or emoji_name(
            services.settings.decision_reaction
        )

    @app.event("reaction_added")
    def reaction_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or not item.get("channel") or not item.get("ts"):
            return
        channel, ts, user = item["channel"], str(item["ts"]), event.get("user", "")
        emoji = emoji_name(event.get("reaction") or "")
        if emoji != wanted(channel):
            return
        # Kept before anything asks Slack: the message is read (and logged once) by the
        # reaction's outbox row, now or, while Slack cannot be read, when it answers again.
        parts.reactions.keep(body.get("event_id"), channel, ts, user, emoji)
