"""Who did something and where, read the same way from every kind of Slack payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Where:
    user: str
    channel: str  # "" when the payload has none (a view submission keeps it in private_metadata)


def _id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def where(body: dict[str, Any], event: dict[str, Any] | None = None) -> Where:
    """The user and channel of a slash command, block action, view submission, shortcut or event.

    Slash commands carry `user_id` / `channel_id`; interactions carry `user` and `channel`
    objects (or the channel only in `container`); Events API payloads carry them in the event
    (a reaction's channel in its `item`).
    """
    event = event if event is not None else (body.get("event") or {})
    user = body.get("user_id") or _id(body.get("user")) or str(event.get("user") or "")
    channel = (
        body.get("channel_id")
        or _id(body.get("channel"))
        or str((body.get("container") or {}).get("channel_id") or "")
        or _id(event.get("channel"))
        or str((event.get("item") or {}).get("channel") or "")
    )
    return Where(str(user), str(channel))
