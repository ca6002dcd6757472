"""Sending messages, turning Slack's refusals into something the user can act on."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatbot.slack.blockkit import message_problems

log = logging.getLogger(__name__)


@dataclass
class Posted:
    ok: bool
    ts: str | None = None
    error: str | None = None
    retry_after: int | None = None  # seconds, when Slack said `ratelimited`


def post(
    client: WebClient,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
    update_ts: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Posted:
    """chat.postMessage (or chat.update), returning Slack's error code instead of raising.
    `metadata`: Slack's message metadata (`event_type`, `event_payload`), which lets a retry
    find the message (`conversations.history` with `include_all_metadata`)."""
    problems = message_problems(text, blocks)
    if problems:
        # A bug of ours, never the user's: log it and fall back to text so nothing is lost.
        log.error("blocks break Block Kit limits: %s", problems[:5])
        blocks = None
    kwargs: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
    if blocks is not None:
        kwargs["blocks"] = blocks
    if metadata is not None:
        kwargs["metadata"] = metadata
    try:
        if update_ts:
            kwargs.pop("unfurl_links")
            resp = client.chat_update(ts=update_ts, **kwargs)
        else:
            if thread_ts:
                kwargs["thread_ts"] = thread_ts
            resp = client.chat_postMessage(**kwargs)
    except SlackApiError as exc:
        error, retry_after = refusal_of(exc)
        log.warning("Slack refused %s in %s: %s", "update" if update_ts else "post", channel, error)
        return Posted(False, error=error, retry_after=retry_after)
    return Posted(True, ts=resp.get("ts"))


def refusal_of(exc: SlackApiError) -> tuple[str, int | None]:
    """Slack's error code (`http_5xx` for a bare server error) and its Retry-After, if any."""
    response = exc.response
    error = str(response.get("error") or "unknown_error")
    if getattr(response, "status_code", 200) >= 500 and error == "unknown_error":
        error = "http_5xx"
    retry_after = None
    headers = getattr(response, "headers", None) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                retry_after = int(value if isinstance(value, str) else value[0])
            except (TypeError, ValueError):
                retry_after = None
    return error, retry_after


def ephemeral(
    client: WebClient,
    channel: str,
    user: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
    respond: Callable[..., Any] | None = None,
) -> None:
    """An ephemeral note; through response_url when there is one (works even uninvited)."""
    if respond is not None:
        try:
            respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
            return
        except Exception:  # response_url expired: fall back to the API
            log.info("response_url failed; using chat.postEphemeral")
    kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
    if blocks:
        kwargs["blocks"] = blocks
    if thread_ts:
        kwargs["thread_ts"] = thread_ts
    try:
        client.chat_postEphemeral(**kwargs)
    except SlackApiError as exc:
        log.warning("ephemeral to %s failed: %s", channel, exc.response.get("error"))
