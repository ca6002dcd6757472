"""What the bot knows about a channel: whether it is private (cached per process)."""

from __future__ import annotations

import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

_lock = threading.Lock()
_private: dict[str, bool] = {}
_CACHE_MAX = 5000


def channel_is_private(client: WebClient, channel_id: str) -> bool:
    """True for private channels, DMs and group DMs; also when Slack will not say (safe side)."""
    if channel_id.startswith(("D", "G")):
        return True
    with _lock:
        if channel_id in _private:
            return _private[channel_id]
    try:
        info = client.conversations_info(channel=channel_id).get("channel") or {}
        private = bool(info.get("is_private") or info.get("is_im") or info.get("is_mpim"))
    except SlackApiError:
        return True
    with _lock:
        if len(_private) >= _CACHE_MAX:
            _private.clear()
        _private[channel_id] = private
    return private
