"""When a listener fails after its ack, the person still hears what happened and what to do."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from chatbot.prompts import Prompts
from chatbot.slack.payloads import where

log = logging.getLogger(__name__)


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
    at = where(body)
    user, channel = at.user, at.channel
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
