"""Block Kit for Jira: the link and create modals and the 'ticket moved to done' question."""

from __future__ import annotations

import json
from typing import Any

from chatbot.slack.blocks import Block, actions, button, plain, section, text_input
from chatbot.slack.ids import IntentId, JiraId


def link_modal(intent_id: int, ref: str, channel: str, thread_ts: str | None) -> dict[str, Any]:
    meta = {"intent_id": intent_id, "channel": channel, "thread_ts": thread_ts}
    return {
        "type": "modal",
        "callback_id": JiraId.LINK,
        "title": plain("Link Jira ticket"),
        "submit": plain("Link"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps(meta),
        "blocks": [
            section(
                f"Link *{ref}* to an existing Jira ticket. A comment carrying the intent and "
                "a link back to the Slack thread go on the ticket and follow every edit."
            ),
            text_input("key", "Ticket key", max_length=64, placeholder="PAY-123"),
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
        "callback_id": JiraId.CREATE,
        "title": plain("Create Jira ticket"),
        "submit": plain("Create"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps(meta),
        "blocks": [
            section(
                f"Create a ticket for *{ref}*: the summary is its title, the description "
                "holds outcome, why, constraints, checks, out of scope and a link back here."
            ),
            text_input(
                "project",
                "Project key",
                project,
                hint="Set it once per team: chatbot team set <team> --jira-project PAY",
                max_length=32,
                placeholder="PAY",
            ),
            text_input("issue_type", "Issue type", issue_type, max_length=64, placeholder="Story"),
        ],
    }


def choose_project(text: str, intent_id: int) -> list[Block]:
    return [section(text, button("Create Jira ticket", IntentId.JIRA_CREATE, str(intent_id)))]


def done_question(text: str, intent_id: int, all_verified: bool) -> list[Block]:
    blocks = [section(text)]
    if not all_verified:
        blocks.append(
            actions(
                button(
                    "Review and verify checks", IntentId.ALL_CHECKS, str(intent_id), style="primary"
                )
            )
        )
    return blocks
