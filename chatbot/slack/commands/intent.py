"""/intent: the form, the guided thread, list, show and link."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from chatbot.intent.service import TITLE_MAX
from chatbot.slack.blocks.intent import intent_form, intent_list
from chatbot.slack.parts import SlackParts
from chatbot.slack.text import escape, truncate


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    flow = parts.intents

    @app.command("/intent")
    def intent_command(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        text = (body.get("text") or "").strip()
        channel, user = body["channel_id"], body["user_id"]
        word, _, rest = text.partition(" ")
        verb = word.lower()
        if not text:
            client.views_open(
                trigger_id=body["trigger_id"],
                view=intent_form(services.prompts, channel_id=channel),
            )
        elif verb == "list" and not rest:
            views = flow.intents.list_open(channel)
            respond(
                text=flow.msg("open_intents", count=len(views)),
                blocks=intent_list(flow.prompts, views, flow.jira_url),
                response_type="ephemeral",
            )
        elif verb == "show" and rest:
            view = flow.intents.find(rest.strip())
            if view is None or not view.visible_from(channel):
                respond(text=flow.msg("intent_not_found", ref=escape(rest.strip())))
            else:
                flow.show(view, channel, user, respond)
        elif verb == "link":
            _link(flow, client, rest, channel, user, respond)
        elif verb in {"help", "?"}:
            respond(text=flow.msg("intent_usage"))
        elif len(text) > TITLE_MAX:
            respond(
                text=flow.msg(
                    "title_too_long",
                    limit=TITLE_MAX,
                    length=len(text),
                    echo=f"“{escape(truncate(text, 2500))}”",
                )
            )
        else:
            flow.start_guided(client, channel, user, text, respond)


def _link(
    flow: Any, client: WebClient, rest: str, channel: str, user: str, respond: Callable[..., Any]
) -> None:
    parts = rest.split()
    if len(parts) != 2:
        respond(text=flow.msg("intent_usage"))
        return
    view = flow.intents.find(parts[0])
    if view is None or not view.visible_from(channel):
        respond(text=flow.msg("intent_not_found", ref=escape(parts[0])))
        return
    if flow.jira is None:
        flow.outbox.ephemeral(channel, user, flow.msg("jira_not_configured"), respond=respond)
        return
    flow.jira.on_thread_request(
        client, view, parts[1].upper(), user, channel, view.intent.thread_ts
    )
