"""Message shortcut "Log as decision": the decision form prefilled with the message."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from chatbot.decisions.service import DecisionDraft, decision_ref
from chatbot.slack.blocks.decision import FORM_FIELD_MAX, decision_form
from chatbot.slack.form_budget import read_for_form
from chatbot.slack.ids import DecisionId
from chatbot.slack.parts import SlackParts
from chatbot.slack.payloads import where


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    flow = parts.decisions

    @app.message_shortcut(DecisionId.SHORTCUT)
    def log_as_decision(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        at = where(body)
        user, channel = at.user, at.channel or at.user
        message = body.get("message") or {}
        ts = str(message.get("ts") or body.get("message_ts") or "")
        # Read within the form budget: the form opens with this click's 3 s trigger_id.
        got = read_for_form(
            parts.forms,
            services.prompts,
            client,
            body,
            f"shortcut {DecisionId.SHORTCUT}",
            lambda: flow.decisions.by_card(channel, ts) or flow.decisions.by_source(channel, ts),
        )
        if got is None:
            return
        known = got.value
        if known is not None:
            text = flow.msg("shortcut_own_card", ref=decision_ref(known.id))
            flow.outbox.ephemeral(channel, user, text, respond=respond)
            return
        text = (message.get("text") or "").strip()
        note = ""
        if not text:
            # A file-only message, or one whose text Slack did not give us.
            names = [f.get("title") or f.get("name") or "file" for f in message.get("files") or []]
            text = "\n".join(
                services.prompts.text("decisions.form.file_line", name=name) for name in names
            )
            note = flow.msg("shortcut_no_text")
        elif len(text) > FORM_FIELD_MAX:
            note = flow.msg("form.long_message", length=f"{len(text):,}")
            text = text[: FORM_FIELD_MAX - 1].rstrip() + "…"
        draft = DecisionDraft.from_text(text) if text else DecisionDraft()
        source = {
            "channel": channel,
            "ts": ts,
            "thread_ts": message.get("thread_ts"),
            # a bot's message has no person behind it: the one logging it is the author
            "author": None if message.get("bot_id") else message.get("user"),
        }
        client.views_open(
            trigger_id=body["trigger_id"],
            view=decision_form(
                services.prompts, draft, channel, source=source if ts else None, note=note
            ),
        )
