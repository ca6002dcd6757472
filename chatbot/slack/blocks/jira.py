"""Block Kit for Jira: the link and create modals and the 'ticket moved to done' question."""

from __future__ import annotations

import json
from typing import Any

from chatbot.prompts import Prompts
from chatbot.slack.blocks import Block, actions, button, plain, section, text_input
from chatbot.slack.ids import IntentId, JiraId


def _t(prompts: Prompts, name: str, **values: object) -> str:
    return prompts.text(f"jira.modal.{name}", **values)


def link_modal(
    prompts: Prompts, intent_id: int, ref: str, channel: str, thread_ts: str | None
) -> dict[str, Any]:
    meta = {"intent_id": intent_id, "channel": channel, "thread_ts": thread_ts}
    return {
        "type": "modal",
        "callback_id": JiraId.LINK,
        "title": plain(_t(prompts, "link_title")),
        "submit": plain(_t(prompts, "link_submit")),
        "close": plain(_t(prompts, "cancel")),
        "private_metadata": json.dumps(meta),
        "blocks": [
            section(_t(prompts, "link_intro", intent_ref=ref)),
            text_input(
                "key",
                _t(prompts, "key_label"),
                max_length=64,
                placeholder=_t(prompts, "key_placeholder"),
            ),
        ],
    }


def create_modal(
    prompts: Prompts,
    intent_id: int,
    ref: str,
    channel: str,
    thread_ts: str | None,
    project: str = "",
    issue_type: str = "Story",
) -> dict[str, Any]:
    meta = {"intent_id": intent_id, "channel": channel, "thread_ts": thread_ts}
    return {
        "type": "modal",
        "callback_id": JiraId.CREATE,
        "title": plain(_t(prompts, "create_title")),
        "submit": plain(_t(prompts, "create_submit")),
        "close": plain(_t(prompts, "cancel")),
        "private_metadata": json.dumps(meta),
        "blocks": [
            section(_t(prompts, "create_intro", intent_ref=ref)),
            text_input(
                "project",
                _t(prompts, "project_label"),
                project,
                hint=_t(prompts, "project_hint"),
                max_length=32,
                placeholder=_t(prompts, "project_placeholder"),
            ),
            text_input(
                "issue_type",
                _t(prompts, "issue_type_label"),
                issue_type,
                max_length=64,
                placeholder=_t(prompts, "issue_type_placeholder"),
            ),
        ],
    }


def choose_project(prompts: Prompts, text: str, intent_id: int) -> list[Block]:
    label = _t(prompts, "create_button")
    return [section(text, button(label, IntentId.JIRA_CREATE, str(intent_id)))]


def done_question(prompts: Prompts, text: str, intent_id: int, all_verified: bool) -> list[Block]:
    blocks = [section(text)]
    if not all_verified:
        label = _t(prompts, "review_checks_button")
        blocks.append(actions(button(label, IntentId.ALL_CHECKS, str(intent_id), style="primary")))
    return blocks
