"""What the bot knows about a channel: whether it is private."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

# A channel can be converted from public to private; remember the answer only briefly.
_TTL_SECONDS = 300.0
_CACHE_MAX = 5000
_lock = threading.Lock()
_seen: dict[tuple[str, str | None, str], tuple[float, bool]] = {}


def channel_is_private(client: WebClient, channel_id: str) -> bool:
    """Private channel, DM or group DM. When Slack will not say, assume private:
    something wrongly kept private is a small loss, a leak is not."""
    # No id (never from Slack, but a forged or broken request) is not worth a call Slack
    # would refuse: private, as when Slack will not say.
    if not channel_id or channel_id.startswith(("D", "G")):
        return True
    now = time.monotonic()
    # Keyed by workspace (API and token), not by client object: Bolt hands each request a new
    # WebClient, so a key by client never hit and every new intent asked Slack again.
    key = (client.base_url, client.token, channel_id)
    with _lock:
        hit = _seen.get(key)
        if hit and now - hit[0] < _TTL_SECONDS:
            return hit[1]
    try:
        info = client.conversations_info(channel=channel_id).get("channel") or {}
    except SlackApiError as exc:
        log.info("conversations.info %s failed (%s); treating as private", channel_id, exc)
        return True
    except Exception as exc:  # Slack unreachable: private, and asked again next time
        log.info("conversations.info %s: %s; treating as private", channel_id, type(exc).__name__)
        return True
    private = bool(info.get("is_private") or info.get("is_im") or info.get("is_mpim"))
    with _lock:
        if len(_seen) >= _CACHE_MAX:
            _seen.clear()
        _seen[key] = (now, private)
    return private
