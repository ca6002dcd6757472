"""The card's Create / Link Jira buttons and the hooks of the thread and `/intent link`."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from chatbot.intent.service import IntentView
from chatbot.jira.follow import follow_intents
from chatbot.services import Services
from chatbot.slack.blocks.jira import link_modal
from chatbot.slack.ids import IntentId
from chatbot.slack.jira_flow import jira_flow
from chatbot.slack.payloads import where


def register(app: App, services: Services) -> None:
    if services.jira is None:
        return  # the intent listeners answer with `jira_not_configured`
    jira = jira_flow(services)
    jira.flow.on_jira_request = jira.on_thread_request
    follow_intents(services.db.engine, jira.intent_changed)

    def jira_button(client: WebClient, body: dict[str, Any], view: IntentView) -> None:
        """Called by the intent card's buttons after their ack (chatbot.slack.actions.intent)."""
        action_id = body["actions"][0]["action_id"]
        at = where(body)
        user, channel = at.user, at.channel or view.intent.channel_id
        thread_ts = view.intent.thread_ts
        if action_id == IntentId.JIRA_CREATE:
            jira.request_create(
                client, view, user, channel, thread_ts, trigger_id=body.get("trigger_id")
            )
        elif not jira._already_linked(client, view, user, channel, thread_ts, None):
            client.views_open(
                trigger_id=body["trigger_id"],
                view=link_modal(
                    services.prompts, view.intent.id or 0, view.ref, channel, thread_ts
                ),
            )

    services.jira_button = jira_button
