"""When a listener fails after its ack, the person still hears what happened and what to do."""

from __future__ import annotations

import logging
import urllib.error
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.webhook import WebhookClient

from chatbot.prompts import Prompts
from chatbot.slack.owed import Message, SlackOutbox, usable_response_url
from chatbot.slack.payloads import where

log = logging.getLogger(__name__)


def slack_unreachable(error: BaseException) -> bool:
    """Slack's Web API did not answer (refused, reset, timed out) or answered an error: an
    outage or Slack's word, not a bug of ours, so one log line is enough."""
    return isinstance(
        error,
        SlackApiError
        | SlackRequestError
        | urllib.error.URLError
        | TimeoutError
        | ConnectionError
        | HTTPException,
    )


def failure_text(prompts: Prompts, error: Exception) -> str:
    if slack_unreachable(error) and not isinstance(error, SlackApiError):
        return prompts.text("messages.slack_unreachable")
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error", "unknown_error"))
        if code in ("expired_trigger_id", "invalid_trigger_id"):
            return prompts.text("messages.form_expired")
        if code in ("not_in_channel", "channel_not_found"):
            return prompts.text("messages.not_in_channel_short")
        return prompts.text("messages.slack_refused", error=code)
    return prompts.text("messages.internal_error")


def tell_user_about_failure(
    client: WebClient,
    body: dict[str, Any],
    error: Exception,
    prompts: Prompts,
    outbox: SlackOutbox | None = None,
) -> None:
    """Best effort: response_url first (works uninvited), then ephemeral, then a DM. When
    Slack itself did not answer, the note waits in the outbox until it does."""
    at = where(body)
    user, channel = at.user, at.channel
    if not user:
        return
    text = failure_text(prompts, error)
    if outbox is not None and slack_unreachable(error) and not isinstance(error, SlackApiError):
        try:
            outbox.say(
                Message(
                    channel or user,
                    text,
                    user=user,
                    response_url=usable_response_url(body.get("response_url")),
                )
            )
        except Exception as exc:  # the database is down too: nothing more we can do
            log.warning("could not tell %s about a failure: %s", user, type(exc).__name__)
        return
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
