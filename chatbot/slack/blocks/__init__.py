"""Small pure functions that build Block Kit; tests snapshot them and check the limits."""

from __future__ import annotations

from typing import Any

from chatbot.slack.text import truncate

Block = dict[str, Any]


def plain(text: str, emoji: bool = True) -> dict[str, Any]:
    return {"type": "plain_text", "text": text or " ", "emoji": emoji}


def md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text or " "}


def section(
    text: str, accessory: dict[str, Any] | None = None, block_id: str | None = None
) -> Block:
    block: Block = {"type": "section", "text": md(text)}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [md(t) for t in texts[:10]]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(truncate(text, 150))}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str, action_id: str, value: str = "", style: str | None = None, url: str | None = None
) -> dict[str, Any]:
    el: dict[str, Any] = {"type": "button", "text": plain(text[:75]), "action_id": action_id}
    if value:
        el["value"] = value[:2000]
    if style:
        el["style"] = style
    if url:
        el["url"] = url
    return el


def actions(*elements: dict[str, Any], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)[:25]}
    if block_id:
        block["block_id"] = block_id
    return block


def text_input(
    block_id: str,
    label: str,
    value: str = "",
    multiline: bool = False,
    optional: bool = False,
    hint: str | None = None,
    max_length: int = 3000,
    placeholder: str | None = None,
) -> Block:
    """A plain-text input block whose value is read back under action_id "value"."""
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": multiline,
        "max_length": max_length,
    }
    if value:
        element["initial_value"] = value
    if placeholder:
        element["placeholder"] = plain(placeholder)
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "optional": optional,
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def channel_select(label: str, default_to_current: bool = False) -> Block:
    """An input asking which channel, for forms opened outside one (App Home, shortcuts)."""
    element: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": "value",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if default_to_current:
        element["default_to_current_conversation"] = True
    return {"type": "input", "block_id": "channel", "label": plain(label), "element": element}
