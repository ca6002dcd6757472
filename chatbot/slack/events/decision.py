"""A reaction (the team's emoji, default :memo:) logs the reacted message as a decision,
once however many people react and however often Slack delivers the event.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from chatbot.crashpoints import crash_point
from chatbot.decisions.models import DecisionSource
from chatbot.decisions.service import TEXT_MAX, DecisionDraft, Origin, decision_ref
from chatbot.slack.parts import SlackParts
from chatbot.teams.service import TeamService

log = logging.getLogger(__name__)
CANNOT_READ = {"not_in_channel", "channel_not_found", "missing_scope", "message_not_found"}


def emoji_name(name: str) -> str:
    """`:memo:`, `memo` and `memo::skin-tone-2` are all `memo`."""
    return name.strip().strip(":").split("::", 1)[0].lower()


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    flow = parts.decisions
    teams = TeamService(services.db, services.clock)

    def wanted(channel: str) -> str:
        team = teams.by_channel(channel)
        return emoji_name((team.decision_reaction if team else "") or "") or emoji_name(
            services.settings.decision_reaction
        )

    @app.event("reaction_added")
    def reaction_added(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or not item.get("channel") or not item.get("ts"):
            return
        channel, ts, user = item["channel"], str(item["ts"]), event.get("user", "")
        emoji = emoji_name(event.get("reaction") or "")
        if emoji != wanted(channel):
            return
        # No delivery claim before the work: the decision's unique source (channel, ts) is the
        # claim, committed with the decision itself, so a delivery whose process died before
        # storing it is done by Slack's retry instead of being dropped as a duplicate.
        if flow.decisions.by_source(channel, ts) or flow.decisions.by_card(channel, ts):
            return  # logged already (another reaction), or a decision card itself
        message, error = flow.read_message(client, channel, ts)
        if message is None:
            log.info("reaction on %s/%s: cannot read the message (%s)", channel, ts, error)
            if error in CANNOT_READ and user:
                flow.outbox.post(
                    user,
                    flow.msg("reaction_cannot_read", channel=channel, emoji=f":{emoji}:"),
                )
            return
        text = (message.get("text") or "").strip()
        if not text:
            if user:
                flow.outbox.post(user, flow.msg("reaction_empty"))
            return
        draft = DecisionDraft.from_text(text[:TEXT_MAX])
        origin = Origin(
            channel,
            flow.is_private(client, channel),
            DecisionSource.REACTION,
            permalink=flow.permalink(client, channel, ts),
            source_channel=channel,
            source_ts=ts,
        )
        author = None if message.get("bot_id") else message.get("user")
        thread_ts = message.get("thread_ts") or ts
        crash_point("reaction.before_record")
        recorded = flow.record(
            client, draft, author or user, user, origin, text, thread_ts=thread_ts
        )
        if recorded is None or not recorded[1]:
            return
        log.info("reaction by %s logged %s", user, decision_ref(recorded[0].id))
