"""Slack's answers for agent permissions: who is in a channel, and is it private."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
PAGE = 1000
MAX_PAGES = 20


class SlackMembership:
    """`chatbot.agents.access.Membership` over conversations.members (bot token)."""

    def __init__(self, client: WebClient | None) -> None:
        self.client = client

    def members(self, channel_id: str) -> frozenset[str] | None:
        if self.client is None:
            return None
        found: set[str] = set()
        cursor: str | None = None
        try:
            for _ in range(MAX_PAGES):
                resp = self.client.conversations_members(
                    channel=channel_id, limit=PAGE, cursor=cursor
                )
                found.update(str(m) for m in resp.get("members") or [])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return frozenset(found)
        except SlackApiError as exc:
            log.info("conversations.members %s: %s", channel_id, exc.response.get("error"))
            return None
        except OSError as exc:
            log.info("conversations.members %s: %s", channel_id, type(exc).__name__)
            return None
        # More members than we page through: not an answer we can trust.
        return None

    def is_private(self, channel_id: str) -> bool:
        """Whether a channel is private; when Slack cannot say, private (never leak)."""
        if self.client is None:
            return True
        try:
            channel = self.client.conversations_info(channel=channel_id).get("channel") or {}
        except (SlackApiError, OSError):
            return True
        return bool(channel.get("is_private") or channel.get("is_im") or channel.get("is_mpim"))
