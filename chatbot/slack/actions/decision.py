"""Edit and Supersede on decision cards: both open the decision form."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from chatbot.decisions.models import Decision
from chatbot.decisions.service import DecisionDraft, decision_ref
from chatbot.slack.blocks.decision import decision_form
from chatbot.slack.form_budget import read_for_click
from chatbot.slack.ids import DecisionId
from chatbot.slack.parts import SlackParts
from chatbot.slack.payloads import where


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    flow = parts.decisions

    def load(client: WebClient, body: dict[str, Any]) -> Decision | None:
        at = where(body)
        channel, user = at.channel, at.user
        value = str(body["actions"][0].get("value") or "")
        # Read within the form budget: the form opens with this click's 3 s trigger_id.
        ours = value.isdigit()
        read = (lambda: flow.decisions.get(int(value))) if ours else (lambda: None)
        got = read_for_click(parts.forms, services.prompts, client, body, read)
        if got is None:
            return None
        d = got.value
        # A private decision's buttons only work where it was logged.
        if d is None or (d.is_private and channel and channel != d.channel_id):
            flow.outbox.ephemeral(
                channel or user, user, flow.msg("not_found", ref=f"D-{value[:20]}")
            )
            return None
        if d.superseded_by_id:
            flow.outbox.ephemeral(
                channel or user,
                user,
                flow.msg(
                    "superseded_notice",
                    old=decision_ref(d.id),
                    new=decision_ref(d.superseded_by_id),
                ),
            )
            return None
        return d

    @app.action(DecisionId.EDIT)
    def edit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        d = load(client, body)
        if d is not None:
            client.views_open(
                trigger_id=body["trigger_id"],
                view=decision_form(
                    services.prompts, DecisionDraft.of(d), d.channel_id, decision_id=d.id
                ),
            )

    @app.action(DecisionId.SUPERSEDE)
    def supersede(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        d = load(client, body)
        if d is not None:
            client.views_open(
                trigger_id=body["trigger_id"],
                view=decision_form(
                    services.prompts,
                    DecisionDraft.of(d, with_content=False),
                    d.channel_id,
                    supersedes=d,
                ),
            )
