"""The Slack side of intent: what to post when, shared by every intent listener."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk import WebClient
from sqlalchemy import Connection
from sqlmodel import Session

from chatbot.db.deadlock import again_after_deadlock
from chatbot.intent.conversation import ConversationService, Reply, Step, asked_time_kept
from chatbot.intent.models import IntentStatus
from chatbot.intent.service import IntentError, IntentFields, IntentView
from chatbot.outbox.store import Enqueued
from chatbot.services import Services
from chatbot.slack.blocks.intent import card_fallback
from chatbot.slack.channels import channel_is_private
from chatbot.slack.intent_cards import IntentCards
from chatbot.slack.owed import Message, Next, Sent, SlackOutbox
from chatbot.slack.owed import Step as OwedStep
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


ROOT_POSTED = "intent.root_posted"
ROOT_REFUSED = "intent.root_refused"
ASKED = "intent.asked"
ASK_REFUSED = "intent.ask_refused"
FORM_CARD_REFUSED = "intent.form_card_refused"


class IntentFlow:
    def __init__(
        self,
        services: Services,
        cards: IntentCards,
        outbox: SlackOutbox,
        jira: JiraRequests | None = None,
    ) -> None:
        self.services = services
        self.prompts = services.prompts
        self.cards = cards
        self.outbox = outbox
        self.intents = cards.intents
        self.coach = cards.coach
        self.conversations = ConversationService(
            services.db, services.clock, services.prompts, self.intents
        )
        #: Where a thread answer asking for a Jira key or `new` goes; None without Jira.
        self.jira = jira
        outbox.step(ROOT_POSTED, self._root_posted)
        outbox.step(ROOT_REFUSED, self._root_refused)
        outbox.step(ASKED, self._asked)
        outbox.step(ASK_REFUSED, self._ask_refused)
        outbox.step(FORM_CARD_REFUSED, self._form_card_refused)

    @property
    def jira_url(self) -> str | None:
        return self.services.settings.jira_url

    def msg(self, name: str, **values: object) -> str:
        return self.prompts.text(f"messages.{name}", **values)

    def not_in_channel(self, channel: str, user: str, typed: str, respond: Respond) -> None:
        self.outbox.say(self._not_in_channel(channel, user, typed, _url(respond)))

    def _not_in_channel(
        self, channel: str, user: str, typed: str, response_url: str | None
    ) -> Message:
        echo = f"“{escape(truncate(typed, 2500))}”" if typed else ""
        text = self.msg("not_in_channel", channel=channel, echo=echo)
        return Message(channel, text, user=user, response_url=response_url, tell=user)

    def create(
        self,
        client: WebClient,
        fields: IntentFields,
        channel: str,
        user: str,
        delivery_key: str | None = None,
        also: Callable[[Connection, IntentView], None] | None = None,
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
            also=also,
        )

    def create_with_card(
        self, client: WebClient, fields: IntentFields, channel: str, user: str
    ) -> IntentView:
        """The form's new intent, stored with its card owed (one transaction), then posted."""
        owed: list[Enqueued] = []

        def owe_card(conn: Connection, view: IntentView) -> None:
            card = self.cards.message(view.intent.id or 0, channel, user=user)
            card.refused = OwedStep(
                FORM_CARD_REFUSED,
                {
                    "channel": channel,
                    "user": user,
                    "ref": view.ref,
                    "title": view.intent.title,
                },
            )
            owed.append(self.outbox.owe_in(conn, card, claim=True))

        view = self.create(client, fields, channel, user, also=owe_card)
        self.outbox.send_claimed(owed[0])
        return view

    def _form_card_refused(self, conn: Connection, args: dict[str, Any], error: str) -> Next:
        """Saved already; tell the author where it is and how to get it posted."""
        channel, user = args["channel"], args["user"]
        if error in ("not_in_channel", "channel_not_found"):
            text = self.msg(
                "saved_invite_me",
                intent_ref=args["ref"],
                title=escape(args["title"]),
                channel=channel,
            )
            note = Message(user, text)
        else:
            text = self.msg("slack_error", error=escape(error), intent_ref=args["ref"])
            note = Message(channel, text, user=user)
        return [self.outbox.owe_in(conn, note, claim=True).follow]

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
        """The intent is stored with the thread's root message owed, in one transaction (with
        `delivery_key` claimed in it too: `AlreadyDelivered` when that was claimed before); the
        root is sent at once, and when Slack has it (now, or after an outage) the
        conversation starts in its thread with the first question."""
        # The intent, the root's send and the conversation's start: one connection for all.
        with self.services.db.holding():
            self._start_guided(client, channel, user, title, respond, delivery_key)

    def _start_guided(
        self,
        client: WebClient,
        channel: str,
        user: str,
        title: str,
        respond: Respond,
        delivery_key: str | None,
    ) -> None:
        owed: list[Enqueued] = []

        def owe_root(conn: Connection, view: IntentView) -> None:
            root_text = self.prompts.text("intent.root", title=escape(title))
            intent_id = view.intent.id or 0
            root = Message(
                channel,
                truncate(root_text, 3000),
                then=OwedStep(ROOT_POSTED, {"intent_id": intent_id, "channel": channel}),
                refused=OwedStep(
                    ROOT_REFUSED,
                    {
                        "intent_id": intent_id,
                        "channel": channel,
                        "user": user,
                        "typed": title,
                        "ref": view.ref,
                        "response_url": _url(respond),
                    },
                ),
                tell=user,
                response_url=_url(respond),  # to tell `user`, once, that it is late
                about=view.ref,
            )
            owed.append(self.outbox.owe_in(conn, root, claim=True))

        try:
            self.create(
                client,
                IntentFields(title=title),
                channel,
                user,
                delivery_key=delivery_key,
                also=owe_root,
            )
        except IntentError as exc:
            self.outbox.ephemeral(
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
        self.outbox.send_claimed(owed[0])

    def _root_posted(self, conn: Connection, args: dict[str, Any], ts: str) -> Next:
        reply = self.conversations.start_in(conn, int(args["intent_id"]), args["channel"], ts)
        return [
            self.outbox.owe_in(
                conn, self._question(args["channel"], ts, reply), claim=True, new_thread=True
            ).follow
        ]

    def _root_refused(self, conn: Connection, args: dict[str, Any], error: str) -> Next:
        """Slack will not take the thread's root: the draft is cancelled (it has no thread to
        be drafted in) and the person told why, with what they typed."""
        intent_id, user, channel = int(args["intent_id"]), args["user"], args["channel"]
        with Session(bind=conn) as s:
            self.intents.set_status_in(s, intent_id, IntentStatus.CANCELLED, user)
            s.flush()
        response_url = args.get("response_url")
        if error in ("not_in_channel", "channel_not_found"):
            note = self._not_in_channel(channel, user, args.get("typed") or "", response_url)
        else:
            text = self.msg("slack_error", error=escape(error), intent_ref=args.get("ref", "—"))
            note = Message(channel, text, user=user, response_url=response_url, tell=user)
        return [self.outbox.owe_in(conn, note, claim=True).follow]

    def _question(
        self, channel: str, thread_ts: str, reply: Reply, fallback_ts: str | None = None
    ) -> Message:
        text = f"{reply.notice}\n{reply.question}".strip() if reply.notice else reply.question
        where = {"conversation_id": reply.conversation_id, "step": reply.step}
        return Message(
            channel,
            text,
            thread_ts=thread_ts,
            # Nothing to record for the first question: its settle is then one statement.
            then=(
                OwedStep(ASKED, where)
                if reply.conversation_id is not None and asked_time_kept(reply.step)
                else None
            ),
            refused=OwedStep(ASK_REFUSED, {**where, "ts": fallback_ts}) if fallback_ts else None,
        )

    def _asked(self, conn: Connection, args: dict[str, Any], ts: str) -> Next:
        self.conversations.asked_in(conn, int(args["conversation_id"]), int(args["step"]), ts)
        return []

    def _ask_refused(self, conn: Connection, args: dict[str, Any], _error: str) -> Next:
        # The question never showed: answers after the one that asked for it belong to it.
        self.conversations.asked_in(
            conn, int(args["conversation_id"]), int(args["step"]), str(args["ts"])
        )
        return []

    def on_thread_message(
        self, client: WebClient, channel: str, thread_ts: str, ts: str, user: str, text: str
    ) -> bool:
        """Handle a reply in a thread; False when the thread is not an intent conversation.

        What the answer owes (the next question, a notice, the card) is stored with the
        answer, in one transaction, then sent."""
        owed: list[Enqueued] = []

        def owe(conn: Connection, reply: Reply) -> None:
            if len(text) > LONG_ANSWER:
                long_note = self.prompts.text(
                    "intent.too_long", length=f"{len(text):,}", shown=f"{LONG_ANSWER:,}"
                )
                reply.notice = f"{long_note}\n{reply.notice}".strip()
            for message in self._owed_for(channel, thread_ts, ts, reply):
                owed.append(self.outbox.owe_in(conn, message, claim=True))

        def answer() -> Reply:
            owed.clear()  # a deadlock's victim is run again from the start
            return self.conversations.answer(channel, thread_ts, ts, user, text, also=owe)

        reply = again_after_deadlock(answer)
        if reply.kind == Step.IGNORED:
            return False
        if reply.kind in (Step.ASK, Step.INVALID) and reply.jira_request:
            self._jira_request(client, reply, user, channel, thread_ts)
        for enqueued in owed:
            self.outbox.send_claimed(enqueued)
        if reply.kind == Step.CANCELLED:
            view = self.intents.get(reply.intent_id or 0)
            title = escape(view.intent.title) if view else ""
            self.outbox.post(
                channel,
                self.prompts.text(
                    "intent.cancelled", intent_ref=view.ref if view else "", title=title
                ),
                thread_ts=thread_ts,
            )
        elif reply.kind == Step.FINISHED and reply.jira_request:
            self._jira_request(client, reply, user, channel, thread_ts)
        return True

    def _owed_for(self, channel: str, thread_ts: str, ts: str, reply: Reply) -> list[Message]:
        """The messages an answer owes, built from the reply alone (inside its transaction)."""
        if reply.kind in (Step.ASK, Step.INVALID):
            return [self._question(channel, thread_ts, reply, fallback_ts=ts)]
        if reply.kind == Step.LATE:
            return [Message(channel, reply.notice, thread_ts=thread_ts)]
        if reply.kind == Step.FINISHED and reply.intent_id:
            card = self.cards.message(reply.intent_id, channel, thread_ts=thread_ts)
            card.after = [
                Message(channel, self.prompts.text("intent.finished"), thread_ts=thread_ts)
            ]
            return [card]
        return []

    def _jira_request(
        self, client: WebClient, reply: Reply, user: str, channel: str, thread_ts: str
    ) -> None:
        view = self.intents.get(reply.intent_id or 0)
        if view is None:
            return
        if self.jira is None:
            self.outbox.post(channel, self.msg("jira_not_configured"), thread_ts=thread_ts)
            return
        self.jira.on_thread_request(client, view, reply.jira_request, user, channel, thread_ts)

    # --- cards --------------------------------------------------------------------------------
    def card_blocks(self, view: IntentView) -> list[dict[str, Any]]:
        return self.cards.blocks(view)

    def post_card(
        self, view: IntentView, thread_ts: str | None = None, user: str | None = None
    ) -> Sent:
        return self.cards.post(view, thread_ts, user)

    def refresh_card(self, view: IntentView) -> Sent | None:
        return self.cards.refresh(view)

    def show(self, view: IntentView, channel: str, user: str, respond: Respond) -> None:
        self.outbox.ephemeral(
            channel,
            user,
            card_fallback(self.prompts, view),
            self.card_blocks(view),
            respond=respond,
        )


def _url(respond: Respond) -> str | None:
    """The response_url behind a request's `respond`, if it has one."""
    return getattr(respond, "response_url", None)
