"""Thread replies to the guided conversation, mentions and App Home."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from chatbot.db.dedupe import AlreadyDelivered, claim_delivery
from chatbot.slack.owed import Message
from chatbot.slack.parts import SlackParts

log = logging.getLogger(__name__)
_MENTION = re.compile(r"^\s*<@[A-Z0-9]+>\s*")


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    flow = parts.intents

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
        # Each path claims the delivery with its effect, never before it: a delivery whose
        # process died before the effect is done on Slack's retry, not dropped as a duplicate.
        event_id = body.get("event_id")
        key = f"slack:{event_id}" if event_id else None
        text = _MENTION.sub("", event.get("text") or "").strip()
        channel, user = event["channel"], event.get("user", "")
        if event.get("thread_ts") and flow.conversations.find(channel, event["thread_ts"]):
            # Someone mentioned the bot while answering: treat it as an answer. The answer's
            # ts, stored with it, is the claim (the same as for the `message` event).
            flow.on_thread_message(client, channel, event["thread_ts"], event["ts"], user, text)
            return
        word, _, rest = text.partition(" ")
        if word.lower() == "intent" and rest.strip():
            try:
                flow.start_guided(client, channel, user, rest.strip(), None, delivery_key=key)
            except AlreadyDelivered:
                log.info("mention %s: delivered before, nothing to do", event_id)
            return
        help_message = Message(
            channel, flow.msg("help"), thread_ts=event.get("thread_ts") or event["ts"]
        )
        if key is None:
            flow.outbox.say(help_message)
            return
        # The help owed is stored with the claim, so a redelivery owes nothing more and a
        # delivery whose process died before the commit is done on Slack's retry.
        with services.db.transaction() as conn:
            if not claim_delivery(conn, key, services.clock.now()):
                log.info("mention %s: delivered before, nothing to do", event_id)
                return
            owed = flow.outbox.owe_in(conn, help_message, claim=True)
        flow.outbox.send_claimed(owed)

    @app.event("app_home_opened")
    def home(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        parts.home.publish(user)
