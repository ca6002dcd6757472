"""The Slack side of the decision log, shared by every decision listener: privacy lookup,
reading a reacted message, posting and refreshing cards, the Jira comment."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

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
from chatbot.prompts import Prompts
from chatbot.services import Services
from chatbot.slack.blocks.decision import card_fallback, decision_card, status_label
from chatbot.slack.channels import channel_is_private
from chatbot.slack.post import Posted, ephemeral, post
from chatbot.slack.text import escape, truncate

log = logging.getLogger(__name__)
Respond = Callable[..., Any] | None
ECHO_MAX = 2500


class DecisionFlow:
    def __init__(self, services: Services, kicker: Kicker) -> None:
        self.services = services
        self.kicker = kicker
        self.decisions = DecisionService(services.db, services.clock)
        self.search = DecisionSearch(services.db)

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

    @staticmethod
    def read_message(
        client: WebClient, channel: str, ts: str, thread_ts: str | None = None
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The message at `ts` (a thread reply too), or (None, Slack's error code)."""
        try:
            resp = client.conversations_history(
                channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
            )
            for message in resp.get("messages") or []:
                if message.get("ts") == ts:
                    return message, None
            # Not a top-level message, so a thread reply (history never lists those). A
            # reaction does not say which thread; Slack answers replies for a reply's own ts
            # with the thread's parent first, whatever the range, so no `limit=1` here: the
            # range keeps the answer to the parent and this reply.
            resp = client.conversations_replies(
                channel=channel, ts=thread_ts or ts, latest=ts, oldest=ts, inclusive=True
            )
            for message in resp.get("messages") or []:
                if message.get("ts") == ts:
                    return message, None
        except SlackApiError as exc:
            return None, str(exc.response.get("error", "unknown_error"))
        return None, "message_not_found"

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
    ) -> tuple[Decision, bool] | None:
        """Store it; tell the user (echoing what they typed) when it cannot be stored."""
        try:
            recorded = self.decisions.record(draft, author, logged_by, origin)
        except DecisionError as exc:
            ephemeral(
                client,
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
        return recorded.decision, recorded.created

    def publish(
        self,
        client: WebClient,
        d: Decision,
        user: str,
        thread_ts: str | None = None,
        respond: Respond = None,
    ) -> Posted:
        """Post the card of a new decision, explain when Slack refuses, write it to Jira."""
        result = self.post_card(client, d, thread_ts=thread_ts)
        if not result.ok:
            self.explain_card_failure(client, d, user, result, respond)
        self.write_to_jira(self.decisions.get(d.id) or d)
        return result

    def post_card(self, client: WebClient, d: Decision, thread_ts: str | None = None) -> Posted:
        result = post(
            client,
            d.channel_id,
            card_fallback(self.services.prompts, d),
            decision_card(self.services.prompts, d, self.jira_url),
            thread_ts=thread_ts,
        )
        if result.ok and result.ts:
            link = None if d.permalink else self.permalink(client, d.channel_id, result.ts)
            self.decisions.set_card(d.id or 0, d.channel_id, result.ts, link)
        return result

    def refresh_card(self, client: WebClient, d: Decision) -> Posted | None:
        if not d.card_ts or not d.card_channel:
            return None
        return post(
            client,
            d.card_channel,
            card_fallback(self.services.prompts, d),
            decision_card(self.services.prompts, d, self.jira_url),
            update_ts=d.card_ts,
        )

    def explain_card_failure(
        self, client: WebClient, d: Decision, user: str, result: Posted, respond: Respond = None
    ) -> None:
        ref = decision_ref(d.id)
        if result.error in ("not_in_channel", "channel_not_found", "is_archived"):
            text = self.msg("saved_not_posted", ref=ref, channel=d.channel_id)
        else:
            text = self.msg("slack_error", ref=ref, error=escape(result.error or "unknown"))
        if respond is not None:
            ephemeral(client, d.channel_id, user, text, respond=respond)
        else:  # no response_url (a modal): the DM with the bot always works
            post(client, user, text)

    def show(
        self, client: WebClient, d: Decision, channel: str, user: str, respond: Respond
    ) -> None:
        ephemeral(
            client,
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
