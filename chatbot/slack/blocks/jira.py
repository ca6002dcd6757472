"""Block Kit for Jira: the link and create modals and the 'ticket moved to done' question."""

from __future__ import annotations

import json
from typing import Any

from chatbot.slack.blocks import Block, actions, button, plain, section


def _input(
    block_id: str,
    label: str,
    placeholder: str,
    initial: str = "",
    hint: str | None = None,
    max_length: int = 64,
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "max_length": max_length,
        "placeholder": plain(placeholder),
    }
    if initial:
        element["initial_value"] = initial
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def link_modal(intent_id: int, ref: str, channel: str, thread_ts: str | None) -> dict[str, Any]:
    meta = {"intent_id": intent_id, "channel": channel, "thread_ts": thread_ts}
    return {
        "type": "modal",
        "callback_id": "jira_link",
        "title": plain("Link Jira ticket"),
        "submit": plain("Link"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps(meta),
        "blocks": [
            section(
                f"Link *{ref}* to an existing Jira ticket. A comment carrying the intent and "
                "a link back to the Slack thread go on the ticket and follow every edit."
            ),
            _input("key", "Ticket key", "PAY-123"),
        ],
    }


def create_modal(
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
        "callback_id": "jira_create",
        "title": plain("Create Jira ticket"),
        "submit": plain("Create"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps(meta),
        "blocks": [
            section(
                f"Create a ticket for *{ref}*: the summary is its title, the description "
                "holds outcome, why, constraints, checks, out of scope and a link back here."
            ),
            _input(
                "project",
                "Project key",
                "PAY",
                project,
                "Set it once per team: chatbot team set <team> --jira-project PAY",
                32,
            ),
            _input("issue_type", "Issue type", "Story", issue_type, None, 64),
        ],
    }


def choose_project(text: str, intent_id: int) -> list[Block]:
    return [section(text, button("Create Jira ticket", "intent_jira_create", str(intent_id)))]


def done_question(text: str, intent_id: int, all_verified: bool) -> list[Block]:
    blocks = [section(text)]
    if not all_verified:
        blocks.append(
            actions(
                button(
                    "Review and verify checks", "intent_all_checks", str(intent_id), style="primary"
                )
            )
        )
    return blocks
