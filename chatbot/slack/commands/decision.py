"""/decision: `/decision <text>` logs at once and posts the card; `/decision` opens the form."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from chatbot.decisions.models import DecisionSource
from chatbot.decisions.service import DecisionDraft, Origin
from chatbot.slack.blocks.decision import decision_form
from chatbot.slack.parts import SlackParts


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    flow = parts.decisions

    @app.command("/decision")
    def decision_command(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        text = (body.get("text") or "").strip()
        channel, user = body["channel_id"], body["user_id"]
        if not text:
            client.views_open(
                trigger_id=body["trigger_id"],
                view=decision_form(services.prompts, channel_id=channel),
            )
            return
        if text.lower() in {"help", "?"}:
            respond(text=flow.msg("decision_usage"), response_type="ephemeral")
            return
        origin = Origin(channel, flow.is_private(client, channel), DecisionSource.COMMAND)
        # Stored with its card owed, then posted (and written to Jira).
        flow.record(client, DecisionDraft.from_text(text), user, user, origin, text, respond)
