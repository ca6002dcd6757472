"""The Slack side of the decision log, shared by every decision listener: privacy lookup,
reading a reacted message, posting and refreshing cards, the Jira comment."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Connection, func, update

from chatbot.decisions.models import Decision
from chatbot.decisions.search import DecisionSearch
from chatbot.decisions.service import (
    DecisionDraft,
    DecisionError,
    DecisionService,
    Origin,
    decision_ref,
)
from chatbot.jira.writes import enqueue_comment
from chatbot.outbox.kick import Kicker
from chatbot.outbox.store import Enqueued
from chatbot.prompts import Prompts
from chatbot.services import Services
from chatbot.slack.blocks.decision import card_fallback, decision_card, status_label
from chatbot.slack.channels import channel_is_private
from chatbot.slack.owed import Message, Next, Sent, SlackOutbox
from chatbot.slack.owed import Step as OwedStep
from chatbot.slack.text import escape, truncate

log = logging.getLogger(__name__)
Respond = Callable[..., Any] | None
ECHO_MAX = 2500


CARD = "decision.card"
CARD_POSTED = "decision.card_posted"
CARD_REFUSED = "decision.card_refused"
DECISION = Decision.__table__  # type: ignore[attr-defined]


class DecisionFlow:
    def __init__(self, services: Services, kicker: Kicker, outbox: SlackOutbox) -> None:
        self.services = services
        self.kicker = kicker
        self.outbox = outbox
        self.decisions = DecisionService(services.db, services.clock)
        self.search = DecisionSearch(services.db)
        outbox.renderer(CARD, self._render)
        outbox.step(CARD_POSTED, self._card_posted)
        outbox.step(CARD_REFUSED, self._card_refused)

    @property
    def jira_url(self) -> str | None:
        return self.services.settings.jira_url

    def msg(self, name: str, **values: object) -> str:
        return self.services.prompts.text(f"decisions.{name}", **values)

    @staticmethod
    def echo(typed: str) -> str:
        return f"“{escape(truncate(typed, ECHO_MAX))}”"

    # --- Slack reads -----------------------------------------------------------------------------
    @staticmethod
    def is_private(client: WebClient, channel: str) -> bool:
        return channel_is_private(client, channel)

    @staticmethod
    def permalink(client: WebClient, channel: str, ts: str) -> str | None:
        try:
            return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
        except SlackApiError:
            return None
        except Exception as exc:  # Slack unreachable: the decision is logged without it
            log.info("no permalink for %s/%s: %s", channel, ts, type(exc).__name__)
            return None

    @staticmethod
    def read_message(client: WebClient, channel: str, ts: str) -> dict[str, Any] | None:
        """The message at `ts` (a thread reply too); None when Slack has no such message (it
        was deleted). Slack's other refusals raise SlackApiError; an unreachable Slack raises
        what the client raised."""
        try:
            resp = client.conversations_history(
                channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
            )
            for message in resp.get("messages") or []:
                if message.get("ts") == ts:
                    return message
            # Not a top-level message, so a thread reply (history never lists those). A
            # reaction does not say which thread; Slack answers replies for a reply's own ts
            # with the thread's parent first, whatever the range, so no `limit=1` here: the
            # range keeps the answer to the parent and this reply.
            resp = client.conversations_replies(
                channel=channel, ts=ts, latest=ts, oldest=ts, inclusive=True
            )
            for message in resp.get("messages") or []:
                if message.get("ts") == ts:
                    return message
        except SlackApiError as exc:
            # Neither list knows the ts: the message is gone.
            if exc.response.get("error") not in ("thread_not_found", "message_not_found"):
                raise
        return None

    # --- writes -----------------------------------------------------------------------------------
    def record(
        self,
        client: WebClient,
        draft: DecisionDraft,
        author: str,
        logged_by: str,
        origin: Origin,
        typed: str,
        respond: Respond = None,
        thread_ts: str | None = None,
    ) -> tuple[Decision, bool] | None:
        """Store it with its card owed (one transaction), then post the card and write it to
        Jira; tell the user (echoing what they typed) when it cannot be stored."""
        owed: list[Enqueued] = []

        def owe_card(conn: Connection, d: Decision) -> None:
            card = self.card_message(d, logged_by, thread_ts, _url(respond))
            owed.append(self.outbox.owe_in(conn, card, claim=True))

        try:
            recorded = self.decisions.record(draft, author, logged_by, origin, also=owe_card)
        except DecisionError as exc:
            self.outbox.ephemeral(
                origin.channel_id,
                logged_by,
                self.msg(
                    "invalid",
                    problem=escape(exc.text(self.services.prompts)),
                    echo=self.echo(typed),
                ),
                respond=respond,
            )
            return None
        d = recorded.decision
        for enqueued in owed:
            self.outbox.send_claimed(enqueued)
        if owed:
            self.write_to_jira(self.decisions.get(d.id) or d)
        return d, recorded.created

    def publish(
        self,
        d: Decision,
        user: str,
        thread_ts: str | None = None,
        respond: Respond = None,
    ) -> Sent:
        """Post the card of a decision stored earlier (an edit that had none, a successor),
        explain when Slack refuses, write it to Jira."""
        result = self.outbox.say(self.card_message(d, user, thread_ts, _url(respond)))
        self.write_to_jira(self.decisions.get(d.id) or d)
        return result

    def card_message(
        self, d: Decision, user: str, thread_ts: str | None, response_url: str | None
    ) -> Message:
        decision_id = d.id or 0
        return Message(
            d.channel_id,
            thread_ts=thread_ts,
            render=OwedStep(CARD, {"decision_id": decision_id}),
            then=OwedStep(CARD_POSTED, {"decision_id": decision_id, "channel": d.channel_id}),
            refused=OwedStep(
                CARD_REFUSED,
                {
                    "decision_id": decision_id,
                    "channel": d.channel_id,
                    "user": user,
                    "response_url": response_url,
                },
            ),
            tell=user,
            # Not the card's way to Slack: the way to tell `user` the card is late.
            response_url=response_url,
            about=decision_ref(d.id),
            permalink=not d.permalink,
        )

    def _render(self, args: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None] | None:
        d = self.decisions.get(int(args["decision_id"]))
        if d is None:
            return None
        prompts = self.services.prompts
        return card_fallback(prompts, d), decision_card(prompts, d, self.jira_url)

    @staticmethod
    def _card_posted(conn: Connection, args: dict[str, Any], ts: str) -> Next:
        values: dict[str, Any] = {"card_channel": args["channel"], "card_ts": ts}
        if args.get("permalink"):
            values["permalink"] = func.coalesce(DECISION.c.permalink, args["permalink"])
        conn.execute(
            update(DECISION).where(DECISION.c.id == int(args["decision_id"])).values(**values)
        )
        return []

    def _card_refused(self, conn: Connection, args: dict[str, Any], error: str) -> Next:
        ref = decision_ref(int(args["decision_id"]))
        channel, user = args["channel"], args["user"]
        if error in ("not_in_channel", "channel_not_found", "is_archived"):
            text = self.msg("saved_not_posted", ref=ref, channel=channel)
        else:
            text = self.msg("slack_error", ref=ref, error=escape(error or "unknown"))
        if args.get("response_url"):
            note = Message(channel, text, user=user, response_url=args["response_url"])
        else:  # no response_url (a modal, a reaction): the DM with the bot always works
            note = Message(user, text)
        return [self.outbox.owe_in(conn, note, claim=True).follow]

    def refresh_card(self, d: Decision) -> Sent | None:
        if not d.card_ts or not d.card_channel:
            return None
        return self.outbox.say(
            Message(
                d.card_channel,
                update_ts=d.card_ts,
                render=OwedStep(CARD, {"decision_id": d.id or 0}),
                key=f"slack-card:{d.card_channel}:{d.card_ts}",
            )
        )

    def show(self, d: Decision, channel: str, user: str, respond: Respond) -> None:
        self.outbox.ephemeral(
            channel,
            user,
            card_fallback(self.services.prompts, d),
            decision_card(self.services.prompts, d, self.jira_url),
            respond=respond,
        )

    def write_to_jira(self, d: Decision) -> None:
        """One Jira comment per (decision, ticket), updated in place on later edits.

        Never for a private conversation's decision: Jira is somewhere else."""
        if self.services.jira is None or not d.jira_keys or d.is_private:
            return
        kicker = self.kicker
        for key in d.jira_keys:
            row_id = enqueue_comment(
                self.services.db,
                self.services.clock,
                key,
                f"decision:{d.id}:{key}",
                jira_comment_text(self.services.prompts, d),
            )
            kicker.kick(row_id)


def jira_comment_text(prompts: Prompts, d: Decision) -> str:
    def t(name: str, **values: object) -> str:
        return prompts.text(f"decisions.{name}", **values)

    heading = t(
        "jira_comment.heading",
        ref=decision_ref(d.id),
        status=status_label(prompts, d),
        title=d.title,
    )
    lines = [heading, "", d.decision]
    for name, body in (
        ("why", d.why),
        ("alternatives", d.alternatives),
        ("consequences", d.consequences),
    ):
        if body.strip():
            lines += ["", t("jira_comment.field", label=t(f"card.{name}"), body=body.strip())]
    logged = t("jira_comment.logged", user=d.author, date=f"{d.created_at:%Y-%m-%d}")
    lines += ["", logged]
    if d.permalink:
        lines.append(t("jira_comment.link", url=d.permalink))
    return "\n".join(lines)


def _url(respond: Respond) -> str | None:
    """The response_url behind a request's `respond`, if it has one."""
    return getattr(respond, "response_url", None)
