"""People and channels by name for what the bot writes outside Slack (the context pack).

`SlackNames` asks users.info / conversations.info once per id and remembers the answer; when
Slack cannot answer (no token, network down, unknown id) it shows the id, so a pack is never
lost to a name lookup.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
NAME_TTL_SECONDS = 3600.0  # names change rarely; an hour-old one is fine for a document
FAILURE_TTL_SECONDS = 60.0  # ask again soon after Slack could not answer


def user_display_name(user: dict[str, Any]) -> str | None:
    """The name Slack shows for a person: display name, else real name, else handle."""
    profile = user.get("profile") or {}
    for name in (
        profile.get("display_name"),
        profile.get("real_name"),
        user.get("real_name"),
        user.get("name"),
    ):
        if name and str(name).strip():
            return str(name).strip()
    return None


class SlackNames:
    """A `chatbot.decisions.pack.Names` backed by the bot's WebClient, with a cache."""

    def __init__(
        self, client: WebClient | None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = client
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def user(self, user_id: str) -> str:
        return self._name(f"user:{user_id}", user_id, self._ask_user)

    def channel(self, channel_id: str) -> str:
        return self._name(f"channel:{channel_id}", channel_id, self._ask_channel)

    def _name(self, key: str, fallback: str, ask: Callable[[WebClient, str], str | None]) -> str:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        name = None
        if self.client is not None and fallback:
            try:
                name = ask(self.client, fallback)
            except SlackApiError as exc:
                log.info("no name for %s: %s", fallback, exc.response.get("error"))
            except Exception as exc:  # network trouble must not cost the pack
                log.info("no name for %s: %s", fallback, type(exc).__name__)
        ttl = NAME_TTL_SECONDS if name else FAILURE_TTL_SECONDS
        with self._lock:
            self._cache[key] = (now + ttl, name or fallback)
        return name or fallback

    @staticmethod
    def _ask_user(client: WebClient, user_id: str) -> str | None:
        return user_display_name(client.users_info(user=user_id).get("user") or {})

    @staticmethod
    def _ask_channel(client: WebClient, channel_id: str) -> str | None:
        channel = client.conversations_info(channel=channel_id).get("channel") or {}
        if channel.get("is_im"):
            return None  # a direct message has no name worth showing; keep the id
        name = channel.get("name")
        return str(name) if name else None


_shared: WeakKeyDictionary[WebClient, SlackNames] = WeakKeyDictionary()
_shared_lock = threading.Lock()


def slack_names(client: WebClient | None) -> SlackNames:
    """The one cached SlackNames of this client (ids only when there is no client)."""
    if client is None:
        return SlackNames(None)
    with _shared_lock:
        names = _shared.get(client)
        if names is None:
            names = _shared[client] = SlackNames(client)
        return names
