"""The intent card: built with the coach's notes, posted once, then updated in place."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from chatbot.intent.coach import Coach
from chatbot.intent.service import IntentService, IntentView
from chatbot.prompts import Prompts
from chatbot.slack.blocks.intent import card_fallback, intent_card
from chatbot.slack.post import Posted, post


class IntentCards:
    def __init__(self, prompts: Prompts, intents: IntentService, jira_url: str | None) -> None:
        self.prompts = prompts
        self.intents = intents
        self.coach = Coach(prompts)
        self.jira_url = jira_url

    def blocks(self, view: IntentView) -> list[dict[str, Any]]:
        return intent_card(self.prompts, view, self.coach.review(view.fields()), self.jira_url)

    def post(self, client: WebClient, view: IntentView, thread_ts: str | None = None) -> Posted:
        result = post(
            client,
            view.intent.channel_id,
            card_fallback(self.prompts, view),
            self.blocks(view),
            thread_ts=thread_ts,
        )
        if result.ok and result.ts:
            self.intents.set_card(view.intent.id, result.ts, thread_ts=thread_ts or result.ts)
        return result

    def refresh(self, client: WebClient, view: IntentView) -> Posted | None:
        """Update the card in place after an edit, a save or a verified check."""
        if not view.intent.card_ts:
            return None
        return post(
            client,
            view.intent.channel_id,
            card_fallback(self.prompts, view),
            self.blocks(view),
            update_ts=view.intent.card_ts,
        )
