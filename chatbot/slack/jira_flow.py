"""The Slack side of Jira: link and create requests, stored at once and sent after the ack.

Nothing here waits on Jira. A request is written to the outbox (so it survives a Jira
outage and a restart) and handed to the kicker, which sends it on its own threads; the
person is told in the thread when it lands.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatbot.intent.service import IntentService, IntentView
from chatbot.jira.writes import INTENT_KIND, intent_row_key
from chatbot.jira_keys import is_jira_key
from chatbot.outbox import store
from chatbot.outbox.kick import Kicker
from chatbot.outbox.models import OutboxStatus
from chatbot.services import Services
from chatbot.slack.blocks.jira import choose_project, create_modal, link_modal
from chatbot.slack.ids import IntentId
from chatbot.slack.owed import SlackOutbox
from chatbot.slack.payloads import where
from chatbot.slack.text import escape, link_jira_keys, truncate
from chatbot.teams.service import TeamService

log = logging.getLogger(__name__)


class JiraFlow:
    def __init__(
        self, services: Services, intents: IntentService, kicker: Kicker, outbox: SlackOutbox
    ) -> None:
        self.services = services
        self.intents = intents
        self.kicker = kicker
        self.outbox = outbox
        self.teams = TeamService(services.db, services.clock)

    def text(self, name: str, **values: Any) -> str:
        return self.services.prompts.text(f"jira.{name}", **values)

    def _key_link(self, key: str) -> str:
        return link_jira_keys(escape(key), self.services.settings.jira_url)

    # --- requests ----------------------------------------------------------------------------
    def request_link(
        self,
        client: WebClient,
        view: IntentView,
        key: str,
        user: str,
        channel: str,
        thread_ts: str | None = None,
    ) -> None:
        key = key.strip().upper()
        where = channel or view.intent.channel_id
        if not is_jira_key(key):
            self.outbox.ephemeral(
                where,
                user,
                self.text("bad_key", echo=escape(truncate(key, 100))),
                thread_ts=thread_ts,
            )
            return
        if self._already_linked(client, view, user, where, thread_ts, key):
            return
        row = store.by_key(self.services.db, intent_row_key(view.intent.id or 0))
        reset = row is not None and row.state.get("issue_key") not in (None, key)
        self._enqueue(
            client,
            view,
            user,
            where,
            thread_ts,
            {"mode": "link", "issue_key": key},
            reset or _failed(row),
        )
        self.outbox.ephemeral(
            where,
            user,
            self.text("linking", intent_ref=view.ref, key=self._key_link(key)),
            thread_ts=thread_ts,
        )

    def request_create(
        self,
        client: WebClient,
        view: IntentView,
        user: str,
        channel: str,
        thread_ts: str | None = None,
        trigger_id: str | None = None,
        project: str | None = None,
        issue_type: str | None = None,
    ) -> None:
        where = channel or view.intent.channel_id
        if self._already_linked(client, view, user, where, thread_ts, None):
            return
        if project is None:
            team = self.teams.by_channel(view.intent.channel_id)
            if team is not None and team.jira_project:
                project, issue_type = team.jira_project, team.jira_issue_type
        if project is None:
            self._ask_project(client, view, user, where, thread_ts, trigger_id)
            return
        row = store.by_key(self.services.db, intent_row_key(view.intent.id or 0))
        self._enqueue(
            client,
            view,
            user,
            where,
            thread_ts,
            {
                "mode": "create",
                "project": project,
                "issue_type": issue_type or "Story",
                "issue_key": None,
            },
            _failed(row),
        )
        self.outbox.ephemeral(
            where,
            user,
            self.text("creating", intent_ref=view.ref, project=escape(project)),
            thread_ts=thread_ts,
        )

    def on_thread_request(
        self,
        client: WebClient,
        view: IntentView,
        request: str,
        user: str,
        channel: str,
        thread_ts: str | None,
    ) -> None:
        """The guided conversation's last answer, or `/intent link <id> <KEY>`."""
        if request.strip().lower() == "new":
            self.request_create(client, view, user, channel, thread_ts)
        else:
            self.request_link(client, view, request, user, channel, thread_ts)

    def intent_changed(self, intent_id: int) -> None:
        """After an edit or a (un)verified check: bring the ticket's comment in step."""
        view = self.intents.get(intent_id)
        if view is None:
            return
        key = intent_row_key(intent_id)
        row = store.by_key(self.services.db, key)
        if row is None and not view.intent.jira_key:
            return  # not linked: nothing in Jira to keep in step
        if row is not None and row.status == OutboxStatus.FAILED and not view.intent.jira_key:
            return  # the link never happened (unknown key); nothing to update
        payload: dict[str, Any] = {"intent_id": intent_id}
        if row is None:
            payload.update(
                mode="link",
                issue_key=view.intent.jira_key,
                user=view.intent.created_by,
                thread_url=self._thread_url(None, view, view.intent.thread_ts),
            )
        row_id = store.enqueue(self.services.db, self.services.clock, INTENT_KIND, key, payload)
        self.kicker.kick(row_id)

    def on_card_button(self, client: WebClient, body: dict[str, Any], view: IntentView) -> None:
        """The intent card's Create / Link Jira buttons, after their ack."""
        action_id = body["actions"][0]["action_id"]
        at = where(body)
        user, channel = at.user, at.channel or view.intent.channel_id
        thread_ts = view.intent.thread_ts
        if action_id == IntentId.JIRA_CREATE:
            self.request_create(
                client, view, user, channel, thread_ts, trigger_id=body.get("trigger_id")
            )
        elif not self._already_linked(client, view, user, channel, thread_ts, None):
            client.views_open(
                trigger_id=body["trigger_id"],
                view=link_modal(
                    self.services.prompts, view.intent.id or 0, view.ref, channel, thread_ts
                ),
            )

    # --- helpers -----------------------------------------------------------------------------
    def _already_linked(
        self,
        client: WebClient,
        view: IntentView,
        user: str,
        channel: str,
        thread_ts: str | None,
        key: str | None,
    ) -> bool:
        linked = view.intent.jira_key
        if not linked or linked == key:
            return False
        self.outbox.ephemeral(
            channel,
            user,
            self.text("already_linked", intent_ref=view.ref, key=self._key_link(linked)),
            thread_ts=thread_ts,
        )
        return True

    def _ask_project(
        self,
        client: WebClient,
        view: IntentView,
        user: str,
        channel: str,
        thread_ts: str | None,
        trigger_id: str | None,
    ) -> None:
        if trigger_id:
            client.views_open(
                trigger_id=trigger_id,
                view=create_modal(
                    self.services.prompts,
                    view.intent.id or 0,
                    view.ref,
                    channel,
                    thread_ts or view.intent.thread_ts,
                ),
            )
            return
        # No trigger (a thread reply): offer a button that opens the modal.
        text = self.text("need_project", intent_ref=view.ref)
        if thread_ts:
            self.outbox.post(
                channel,
                text,
                choose_project(self.services.prompts, text, view.intent.id or 0),
                thread_ts=thread_ts,
            )
        else:
            self.outbox.ephemeral(
                channel,
                user,
                text,
                choose_project(self.services.prompts, text, view.intent.id or 0),
            )

    def _enqueue(
        self,
        client: WebClient,
        view: IntentView,
        user: str,
        channel: str,
        thread_ts: str | None,
        payload: dict[str, Any],
        reset: bool,
    ) -> None:
        thread = thread_ts or view.intent.thread_ts or view.intent.card_ts
        payload = {
            "intent_id": view.intent.id,
            "user": user,
            "thread_url": self._thread_url(client, view, thread),
            **payload,
        }
        notify = {"channel": view.intent.channel_id or channel, "user": user, "thread_ts": thread}
        row_id = store.enqueue(
            self.services.db,
            self.services.clock,
            INTENT_KIND,
            intent_row_key(view.intent.id or 0),
            payload,
            notify=notify,
            reset_state=reset,
        )
        self.kicker.kick(row_id)

    def _thread_url(
        self, client: WebClient | None, view: IntentView, thread_ts: str | None
    ) -> str | None:
        channel = view.intent.channel_id
        if not thread_ts or not channel:
            return None
        client = client or self.services.slack
        if client is not None:
            try:
                link = client.chat_getPermalink(channel=channel, message_ts=thread_ts)
                if link.get("permalink"):
                    return str(link["permalink"])
            except SlackApiError as exc:
                log.info(
                    "no permalink for %s/%s: %s", channel, thread_ts, exc.response.get("error")
                )
            except Exception as exc:  # Slack unreachable: the link below is as good
                log.info("no permalink for %s/%s: %s", channel, thread_ts, type(exc).__name__)
        return f"https://slack.com/archives/{channel}/p{thread_ts.replace('.', '')}"


def _failed(row: Any) -> bool:
    return row is not None and row.status == OutboxStatus.FAILED and not row.state.get("issue_key")
