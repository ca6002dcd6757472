"""Slack's answers for agent permissions: who is in a channel, and is it private."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
PAGE = 1000
MAX_PAGES = 20


LOOKUP_TIMEOUT_SECONDS = 5


class SlackMembership:
    """`chatbot.agents.access.Membership` over conversations.members (bot token).

    It uses its own client without the bot's retry-and-wait handlers and with a short
    timeout: an agent's request waits for these answers, and when Slack cannot give one the
    private items are withheld rather than the request held up."""

    def __init__(self, client: WebClient | None) -> None:
        self.client = (
            WebClient(token=client.token, base_url=client.base_url, timeout=LOOKUP_TIMEOUT_SECONDS)
            if client is not None
            else None
        )
        if self.client is not None:
            self.client.retry_handlers = []

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
