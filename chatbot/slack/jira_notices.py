"""Telling people in Slack what became of their Jira request (once, when it lands), and what
a linked ticket's move in Jira means for its intent."""

from __future__ import annotations

from typing import Any

from chatbot.jira.ticket_news import TicketNews
from chatbot.outbox.models import OutboxMessage
from chatbot.outbox.worker import Landed
from chatbot.services import Services
from chatbot.slack.blocks.jira import done_question
from chatbot.slack.intent_cards import IntentCards
from chatbot.slack.owed import SlackOutbox
from chatbot.slack.text import escape, link_jira_keys, truncate


class SlackNotices:
    """The outbox's notifier: a thread reply when a write lands, ephemeral notes otherwise.
    Also the Jira webhook's listener: a ticket's move told in its intent's thread."""

    def __init__(self, services: Services, cards: IntentCards, outbox: SlackOutbox) -> None:
        self.services = services
        self.cards = cards
        self.outbox = outbox

    def _text(self, name: str, **values: Any) -> str:
        return self.services.prompts.text(f"jira.{name}", **values)

    def _ref(self, row: OutboxMessage) -> str:
        return f"I-{row.payload.get('intent_id', '?')}"

    def landed(self, row: OutboxMessage, notice: dict[str, Any], landed: Landed | None) -> None:
        client = self.services.slack
        if client is None or landed is None:
            return
        key = str(landed.summary.get("issue_key", ""))
        linked_key = link_jira_keys(escape(key), self.services.settings.jira_url)
        name = "created" if landed.summary.get("created") else "linked"
        text = self._text(
            name, user=notice.get("user", ""), key=linked_key, intent_ref=self._ref(row)
        )
        self._say(notice, text, public=True)
        view = self.cards.intents.get(int(landed.summary.get("intent_id") or 0))
        if view is not None:
            self.cards.refresh(view)

    def delayed(self, row: OutboxMessage, notice: dict[str, Any], reason: str) -> None:
        self._say(
            notice,
            self._text("delayed", reason=escape(truncate(reason, 200)), intent_ref=self._ref(row)),
            public=False,
        )

    def failed(self, row: OutboxMessage, notice: dict[str, Any], message: str) -> None:
        self._say(notice, self._text("failed", message=escape(message)), public=False)

    def _say(self, notice: dict[str, Any], text: str, public: bool) -> None:
        """Through the outbox: a notice owed while Slack is down is sent when it is back."""
        if self.services.slack is None:
            return
        channel, user = str(notice.get("channel") or ""), str(notice.get("user") or "")
        thread_ts = notice.get("thread_ts")
        if public and channel and thread_ts:
            sent = self.outbox.post(channel, text, thread_ts=thread_ts, tell=user or None)
            if not sent.error:
                return
        self.outbox.ephemeral(channel or user, user, text, thread_ts=thread_ts)

    def ticket_moved(self, news: TicketNews) -> None:
        client = self.services.slack
        if client is None:
            return
        view = news.view
        values = {
            "key": link_jira_keys(escape(news.key), self.services.settings.jira_url),
            "status": escape(news.status),
            "intent_ref": view.ref,
            "verified": view.verified_count,
            "total": len(view.checks),
        }
        thread = view.intent.thread_ts or view.intent.card_ts
        if news.started:
            self.cards.refresh(view)
            if thread:
                self.outbox.post(
                    view.intent.channel_id,
                    self._text("started", **values),
                    thread_ts=thread,
                )
        elif news.done and thread:
            all_verified = bool(view.checks) and view.verified_count == len(view.checks)
            text = self._text("done_all" if all_verified else "done_ask", **values)
            self.outbox.post(
                view.intent.channel_id,
                text,
                done_question(self.services.prompts, text, view.intent.id or 0, all_verified),
                thread_ts=thread,
            )
