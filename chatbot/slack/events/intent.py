"""Thread replies to the guided conversation, mentions and App Home."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from chatbot.db.dedupe import first_delivery
from chatbot.slack.parts import SlackParts

log = logging.getLogger(__name__)
_MENTION = re.compile(r"^\s*<@[A-Z0-9]+>\s*")


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    flow = parts.intents

    def once(body: dict[str, Any]) -> bool:
        event_id = body.get("event_id")
        return (
            first_delivery(services.db, services.clock, f"slack:{event_id}") if event_id else True
        )

    @app.event("message")
    def thread_reply(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("thread_ts"):
            return
        if event.get("thread_ts") == event.get("ts"):
            return
        if flow.conversations.find(event["channel"], event["thread_ts"]) is None:
            return
        # No delivery claim here: the conversation records each answer's ts with the answer
        # (in one transaction), so a redelivered answer is ignored there and one whose
        # process died before storing it is taken on the retry.
        flow.on_thread_message(
            client,
            event["channel"],
            event["thread_ts"],
            event["ts"],
            event.get("user", ""),
            event.get("text") or "",
        )

    @app.event("app_mention")
    def mention(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        if not once(body):
            return
        text = _MENTION.sub("", event.get("text") or "").strip()
        channel, user = event["channel"], event.get("user", "")
        if event.get("thread_ts") and flow.conversations.find(channel, event["thread_ts"]):
            # Someone mentioned the bot while answering: treat it as an answer.
            flow.on_thread_message(client, channel, event["thread_ts"], event["ts"], user, text)
            return
        word, _, rest = text.partition(" ")
        if word.lower() == "intent" and rest.strip():
            flow.start_guided(client, channel, user, rest.strip(), None)
        else:
            thread_ts = event.get("thread_ts") or event["ts"]
            flow.outbox.post(channel, flow.msg("help"), thread_ts=thread_ts)

    @app.event("app_home_opened")
    def home(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        parts.home.publish(client, user)
