"""Submissions of the Link and Create Jira modals: checked inline, then stored and sent."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from chatbot.jira_keys import PROJECT_KEY, is_jira_key
from chatbot.slack.ids import JiraId
from chatbot.slack.parts import SlackParts
from chatbot.slack.payloads import where


def _typed(view: dict[str, Any], block_id: str) -> str:
    return str(
        ((view["state"]["values"].get(block_id) or {}).get("value") or {}).get("value") or ""
    ).strip()


def register(app: App, parts: SlackParts) -> None:
    jira = parts.jira
    if jira is None:
        return

    def _intent(client: WebClient, body: dict[str, Any], meta: dict[str, Any]) -> Any:
        user = where(body).user
        view = jira.intents.get(int(meta.get("intent_id") or 0))
        if view is None:
            parts.outbox.ephemeral(
                meta.get("channel") or user,
                user,
                parts.intents.msg("intent_not_found", ref=meta.get("intent_id")),
            )
        return view

    @app.view(JiraId.LINK)
    def link(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        key = _typed(view, "key").upper()
        if not is_jira_key(key):
            ack(
                response_action="errors",
                errors={"key": jira.text("form_bad_key")},
            )
            return
        ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        intent = _intent(client, body, meta)
        if intent is not None:
            jira.request_link(
                client,
                intent,
                key,
                where(body).user,
                meta.get("channel") or "",
                meta.get("thread_ts"),
            )

    @app.view(JiraId.CREATE)
    def create(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        project, issue_type = _typed(view, "project").upper(), _typed(view, "issue_type")
        errors = {}
        if not PROJECT_KEY.match(project):
            errors["project"] = jira.text("bad_project")
        if not issue_type:
            errors["issue_type"] = jira.text("bad_issue_type")
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        intent = _intent(client, body, meta)
        if intent is not None:
            jira.request_create(
                client,
                intent,
                where(body).user,
                meta.get("channel") or "",
                meta.get("thread_ts"),
                project=project,
                issue_type=issue_type,
            )
