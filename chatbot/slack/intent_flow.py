"""The Slack side of intent: what to post when, shared by every intent listener."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk import WebClient

from chatbot.intent.conversation import ConversationService, Reply, Step
from chatbot.intent.models import IntentStatus
from chatbot.intent.service import IntentError, IntentFields, IntentView
from chatbot.services import Services
from chatbot.slack.blocks.intent import card_fallback
from chatbot.slack.channels import channel_is_private
from chatbot.slack.intent_cards import IntentCards
from chatbot.slack.post import Posted, ephemeral, post
from chatbot.slack.text import escape, truncate

log = logging.getLogger(__name__)
Respond = Callable[..., Any] | None
# Longer answers are kept whole but cannot be shown whole on a card or edited in the form.
LONG_ANSWER = 3000


class JiraRequests(Protocol):
    def on_thread_request(
        self,
        client: WebClient,
        view: IntentView,
        request: str,
        user: str,
        channel: str,
        thread_ts: str | None,
    ) -> None: ...


class IntentFlow:
    def __init__(
        self, services: Services, cards: IntentCards, jira: JiraRequests | None = None
    ) -> None:
        self.services = services
        self.prompts = services.prompts
        self.cards = cards
        self.intents = cards.intents
        self.coach = cards.coach
        self.conversations = ConversationService(
            services.db, services.clock, services.prompts, self.intents
        )
        #: Where a thread answer asking for a Jira key or `new` goes; None without Jira.
        self.jira = jira

    @property
    def jira_url(self) -> str | None:
        return self.services.settings.jira_url

    def msg(self, name: str, **values: object) -> str:
        return self.prompts.text(f"messages.{name}", **values)

    def not_in_channel(
        self, client: WebClient, channel: str, user: str, typed: str, respond: Respond
    ) -> None:
        echo = f"“{escape(truncate(typed, 2500))}”" if typed else ""
        ephemeral(
            client,
            channel,
            user,
            self.msg("not_in_channel", channel=channel, echo=echo),
            respond=respond,
        )

    def create(
        self,
        client: WebClient,
        fields: IntentFields,
        channel: str,
        user: str,
        delivery_key: str | None = None,
    ) -> IntentView:
        """A new intent, tied to the channel's team; remembers whether the channel is private.
        `delivery_key`: the Slack event that asked, claimed with the intent (see
        `IntentService.create`)."""
        return self.intents.create(
            fields,
            channel,
            user,
            team_from_channel=True,
            is_private=channel_is_private(client, channel),
            delivery_key=delivery_key,
        )

    # --- guided conversation ---------------------------------------------------------------
    def start_guided(
        self,
        client: WebClient,
        channel: str,
        user: str,
        title: str,
        respond: Respond,
        delivery_key: str | None = None,
    ) -> None:
        """Raises `AlreadyDelivered` when `delivery_key` was claimed before (a redelivery)."""
        try:
            view = self.create(client, IntentFields(title=title), channel, user, delivery_key)
        except IntentError as exc:
            ephemeral(
                client,
                channel,
                user,
                self.prompts.text(
                    "intent.errors.with_text",
                    problem=exc.text(self.prompts),
                    echo=escape(truncate(title, 2500)),
                ),
                respond=respond,
            )
            return
        root_text = self.prompts.text("intent.root", title=escape(title))
        root = post(client, channel, truncate(root_text, 3000))
        if not root.ok:
            self.intents.set_status(view.intent.id, IntentStatus.CANCELLED, user)
            self._explain(client, channel, user, root, title, view, respond)
            return
        reply = self.conversations.start(view.intent.id, channel, root.ts or "")
        self._ask(client, channel, root.ts or "", reply)

    def _explain(
        self,
        client: WebClient,
        channel: str,
        user: str,
        result: Posted,
        typed: str,
        view: IntentView | None,
        respond: Respond,
    ) -> None:
        if result.error in ("not_in_channel", "channel_not_found"):
            self.not_in_channel(client, channel, user, typed, respond)
        else:
            ref = view.ref if view else "—"
            ephemeral(
                client,
                channel,
                user,
                self.msg("slack_error", error=result.error, intent_ref=ref),
                respond=respond,
            )

    def _ask(
        self,
        client: WebClient,
        channel: str,
        thread_ts: str,
        reply: Reply,
        fallback_ts: str | None = None,
    ) -> None:
        text = f"{reply.notice}\n{reply.question}".strip() if reply.notice else reply.question
        asked = post(client, channel, text, thread_ts=thread_ts)
        ts = asked.ts if asked.ok else fallback_ts
        if ts and reply.conversation_id is not None:
            self.conversations.asked(reply.conversation_id, reply.step, ts)

    def on_thread_message(
        self, client: WebClient, channel: str, thread_ts: str, ts: str, user: str, text: str
    ) -> bool:
        """Handle a reply in a thread; False when the thread is not an intent conversation."""
        reply = self.conversations.answer(channel, thread_ts, ts, user, text)
        if reply.kind == Step.IGNORED:
            return False
        if len(text) > LONG_ANSWER:
            long_note = self.prompts.text(
                "intent.too_long", length=f"{len(text):,}", shown=f"{LONG_ANSWER:,}"
            )
            reply.notice = f"{long_note}\n{reply.notice}".strip()
        if reply.kind in (Step.ASK, Step.INVALID):
            if reply.jira_request:
                self._jira_request(client, reply, user, channel, thread_ts)
            self._ask(client, channel, thread_ts, reply, fallback_ts=ts)
        elif reply.kind == Step.LATE:
            post(client, channel, reply.notice, thread_ts=thread_ts)
        elif reply.kind == Step.CANCELLED:
            view = self.intents.get(reply.intent_id or 0)
            title = escape(view.intent.title) if view else ""
            post(
                client,
                channel,
                self.prompts.text(
                    "intent.cancelled", intent_ref=view.ref if view else "", title=title
                ),
                thread_ts=thread_ts,
            )
        elif reply.kind == Step.FINISHED:
            view = self.intents.get(reply.intent_id or 0)
            if view is None:
                return True
            card = self.post_card(client, view, thread_ts=thread_ts)
            if card.ok:
                post(client, channel, self.prompts.text("intent.finished"), thread_ts=thread_ts)
            if reply.jira_request:
                self._jira_request(client, reply, user, channel, thread_ts)
        return True

    def _jira_request(
        self, client: WebClient, reply: Reply, user: str, channel: str, thread_ts: str
    ) -> None:
        view = self.intents.get(reply.intent_id or 0)
        if view is None:
            return
        if self.jira is None:
            post(client, channel, self.msg("jira_not_configured"), thread_ts=thread_ts)
            return
        self.jira.on_thread_request(client, view, reply.jira_request, user, channel, thread_ts)

    # --- cards --------------------------------------------------------------------------------
    def card_blocks(self, view: IntentView) -> list[dict[str, Any]]:
        return self.cards.blocks(view)

    def post_card(
        self, client: WebClient, view: IntentView, thread_ts: str | None = None
    ) -> Posted:
        return self.cards.post(client, view, thread_ts)

    def refresh_card(self, client: WebClient, view: IntentView) -> Posted | None:
        return self.cards.refresh(client, view)

    def show(
        self, client: WebClient, view: IntentView, channel: str, user: str, respond: Respond
    ) -> None:
        ephemeral(
            client,
            channel,
            user,
            card_fallback(self.prompts, view),
            self.card_blocks(view),
            respond=respond,
        )
