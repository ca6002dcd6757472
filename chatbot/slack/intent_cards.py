"""The intent card: built with the coach's notes, posted once, then updated in place.

Posts and updates are owed through the outbox and rendered when they are sent, so a card
that waited for Slack shows the intent as it is then."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import Connection

from chatbot.intent.coach import Coach
from chatbot.intent.service import (
    IntentError,
    IntentService,
    IntentView,
    intent_ref,
    set_card_in,
)
from chatbot.prompts import Prompts
from chatbot.slack.blocks.intent import card_fallback, intent_card
from chatbot.slack.owed import Message, Next, Sent, SlackOutbox, Step

RENDER = "intent.card"
POSTED = "intent.card_posted"


class IntentCards:
    def __init__(
        self,
        prompts: Prompts,
        intents: IntentService,
        jira_url: str | None,
        outbox: SlackOutbox,
    ) -> None:
        self.prompts = prompts
        self.intents = intents
        self.coach = Coach(prompts)
        self.jira_url = jira_url
        self.outbox = outbox
        outbox.renderer(RENDER, self._render)
        outbox.step(POSTED, self._posted)

    def blocks(self, view: IntentView) -> list[dict[str, Any]]:
        return intent_card(self.prompts, view, self.coach.review(view.fields()), self.jira_url)

    def _render(self, args: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None] | None:
        view = self.intents.get(int(args["intent_id"]))
        if view is None:
            return None
        return card_fallback(self.prompts, view), self.blocks(view)

    def _posted(self, conn: Connection, args: dict[str, Any], ts: str) -> Next:
        thread_ts = args.get("thread_ts") or ts
        # Deleted meanwhile: the card stays in Slack, unlinked.
        with contextlib.suppress(IntentError):
            set_card_in(conn, int(args["intent_id"]), card_ts=ts, thread_ts=thread_ts)
        return []

    def message(
        self,
        intent_id: int,
        channel: str,
        thread_ts: str | None = None,
        user: str | None = None,
    ) -> Message:
        """The card's first post, owed (`after`/`refused` may be added by the caller)."""
        return Message(
            channel,
            thread_ts=thread_ts,
            render=Step(RENDER, {"intent_id": intent_id}),
            then=Step(POSTED, {"intent_id": intent_id, "thread_ts": thread_ts}),
            tell=user,
            about=intent_ref(intent_id),
        )

    def post(self, view: IntentView, thread_ts: str | None = None, user: str | None = None) -> Sent:
        message = self.message(view.intent.id or 0, view.intent.channel_id, thread_ts, user)
        return self.outbox.say(message)

    def refresh(self, view: IntentView) -> Sent | None:
        """Update the card in place after an edit, a save or a verified check (one row per
        card: a second change before Slack answers re-arms it, and the newest state is sent)."""
        if not view.intent.card_ts:
            return None
        channel, ts = view.intent.channel_id, view.intent.card_ts
        return self.outbox.say(
            Message(
                channel,
                update_ts=ts,
                render=Step(RENDER, {"intent_id": view.intent.id or 0}),
                key=f"slack-card:{channel}:{ts}",
            )
        )
