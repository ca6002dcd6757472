"""The intent form's submission: inline errors for blocking problems, else save and post."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from chatbot.intent.service import TITLE_MAX, IntentError, IntentFields
from chatbot.slack.ids import IntentId
from chatbot.slack.parts import SlackParts
from chatbot.slack.payloads import where
from chatbot.slack.text import escape, truncate
from chatbot.slack.views.values import input_value


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    flow = parts.intents
    text = services.prompts.text

    @app.view(IntentId.FORM)
    def submit(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        meta = json.loads(view.get("private_metadata") or "{}")
        kept = set(meta.get("kept") or [])
        title, outcome, checks = (
            input_value(values, "title"),
            input_value(values, "outcome"),
            input_value(values, "checks"),
        )
        errors: dict[str, str] = {}
        if title is not None and not title:
            errors["title"] = text("intent.errors.form_no_title")
        elif title is not None and len(title) > TITLE_MAX:
            errors["title"] = text("intent.errors.form_title_too_long", limit=TITLE_MAX)
        if outcome is not None and "outcome" not in kept and not outcome:
            errors["outcome"] = text("intent.errors.form_no_outcome")
        if checks is not None and "checks" not in kept and not IntentFields.lines(checks):
            errors["checks"] = text("intent.errors.form_no_checks")
        if errors:
            # The modal stays open with everything typed still in it.
            ack(response_action="errors", errors=errors)
            return
        ack()
        user = where(body).user
        channel = meta.get("channel") or input_value(values, "channel") or user
        changes: dict[str, Any] = {
            "title": title,
            "outcome": outcome,
            "why": input_value(values, "why"),
            "out_of_scope": input_value(values, "out_of_scope"),
        }
        if input_value(values, "constraints") is not None:
            changes["constraints"] = IntentFields.lines(input_value(values, "constraints") or "")
        if checks is not None:
            changes["checks"] = IntentFields.lines(checks)
        try:
            if meta.get("intent_id"):
                result = flow.intents.edit(int(meta["intent_id"]), user, **changes)
                flow.refresh_card(result)
                if not result.intent.card_ts:
                    flow.post_card(result, thread_ts=result.intent.thread_ts, user=user)
                return
            fields = IntentFields(
                title=title or "",
                outcome=outcome or "",
                why=changes["why"] or "",
                constraints=changes.get("constraints") or [],
                checks=changes.get("checks") or [],
                out_of_scope=changes["out_of_scope"] or "",
            )
            # Stored with its card owed (one transaction), then posted; a refusal is told.
            flow.create_with_card(client, fields, channel, user)
        except IntentError as exc:
            problem = exc.text(services.prompts)
            echo = escape(truncate(title or "", 500))
            flow.outbox.ephemeral(
                user, user, text("intent.errors.with_title", problem=problem, echo=echo)
            )
