"""Requests Slack itself would never send, answered before any listener runs.

Slack's payloads always name the person and the channel of a slash command, and Slack's text
never holds a NUL character; a forged or broken request can do both. PostgreSQL refuses a NUL
in a text column (SQLite keeps it), so one such character made a command fail on one database
only; and a command without a channel made the bot ask Slack about, and post to, channel "".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse

from chatbot.prompts import Prompts

log = logging.getLogger(__name__)


def without_nul(value: Any) -> Any:
    """The payload with every NUL character dropped from its strings, changed in place where
    it can be (Bolt hands listeners this very dict)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = without_nul(item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = without_nul(item)
    return value


def well_formed(prompts: Prompts) -> Callable[..., Any]:
    def middleware(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        without_nul(body)
        if body.get("command") and not (body.get("channel_id") and body.get("user_id")):
            log.warning("%s came without a channel or user; not run", body.get("command"))
            return BoltResponse(
                status=200,
                body={
                    "response_type": "ephemeral",
                    "text": prompts.text("messages.command_without_place"),
                },
            )
        return next()

    return middleware
