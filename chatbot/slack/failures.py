"""When a listener fails after its ack, the person still hears what happened and what to do."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from chatbot.prompts import Prompts

log = logging.getLogger(__name__)


def who_and_where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The user and channel of any Slack payload (command, interaction or event)."""
    event = body.get("event") or {}
    user = body.get("user_id") or (body.get("user") or {}).get("id") or event.get("user")
    channel = (
        body.get("channel_id")
        or (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
        or event.get("channel")
        or (event.get("item") or {}).get("channel")
    )
    return user, channel


def failure_text(prompts: Prompts, error: Exception) -> str:
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error", "unknown_error"))
        if code in ("expired_trigger_id", "invalid_trigger_id"):
            return prompts.text("messages.form_expired")
        if code in ("not_in_channel", "channel_not_found"):
            return prompts.text("messages.not_in_channel_short")
        return prompts.text("messages.slack_refused", error=code)
    return prompts.text("messages.internal_error")


def tell_user_about_failure(
    client: WebClient, body: dict[str, Any], error: Exception, prompts: Prompts
) -> None:
    """Best effort: response_url first (works uninvited), then ephemeral, then a DM."""
    user, channel = who_and_where(body)
    if not user:
        return
    text = failure_text(prompts, error)
    try:
        if body.get("response_url"):
            WebhookClient(body["response_url"], timeout=5).send(
                text=text, response_type="ephemeral", replace_original=False
            )
            return
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        client.chat_postMessage(channel=user, text=text)
    except Exception as exc:  # nothing more we can do; never raise from the error handler
        log.warning("could not tell %s about a failure: %s", user, type(exc).__name__)
