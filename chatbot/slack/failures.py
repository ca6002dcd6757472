"""When a listener fails after its ack, the person still hears what happened and what to do.

When the database is down nothing the person typed was stored, so the one message they get
says so and gives their text back (escaped), to send again later. The log gets one line per
failure; a traceback only for what is not an outage (a bug).
"""

from __future__ import annotations

import logging
import urllib.error
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.webhook import WebhookClient

from chatbot.db.outage import is_outage, outage_reason
from chatbot.prompts import Prompts
from chatbot.slack.owed import Message, SlackOutbox, usable_response_url
from chatbot.slack.payloads import where
from chatbot.slack.text import escape, truncate

log = logging.getLogger(__name__)

# The echo stays well inside a message's 40,000 characters, with room for the words around it.
ECHO_LIMIT = 3000


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


def typed_text(body: dict[str, Any]) -> str:
    """What the person typed in this request: a command with its text, the text fields of a
    submitted form (each after its label), or a message; "" for a click."""
    if body.get("command"):
        return f"{body['command']} {body.get('text') or ''}".strip()
    if body.get("type") == "view_submission":
        return _form_text(body.get("view") or {})
    event = body.get("event") or {}
    if event.get("type") in ("message", "app_mention") and isinstance(event.get("text"), str):
        return str(event["text"])
    return ""


def _form_text(view: dict[str, Any]) -> str:
    labels = {
        block.get("block_id"): ((block.get("label") or {}).get("text") or "")
        for block in view.get("blocks") or []
        if isinstance(block, dict)
    }
    lines = []
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for action in (actions or {}).values():
            value = action.get("value") if isinstance(action, dict) else None
            if isinstance(value, str) and value.strip():
                label = labels.get(block_id) or block_id
                lines.append(f"{label}: {value.strip()}")
    return "\n".join(lines)


def quoted(text: str) -> str:
    """The person's text, escaped and cut to size, as a quote block."""
    safe = escape(truncate(text, ECHO_LIMIT))
    return "\n".join(f">{line}" for line in safe.splitlines())


def failure_text(prompts: Prompts, error: Exception, body: dict[str, Any] | None = None) -> str:
    if slack_unreachable(error) and not isinstance(error, SlackApiError):
        return prompts.text("messages.slack_unreachable")
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error", "unknown_error"))
        if code in ("expired_trigger_id", "invalid_trigger_id"):
            return prompts.text("messages.form_expired")
        if code in ("not_in_channel", "channel_not_found"):
            return prompts.text("messages.not_in_channel_short")
        return prompts.text("messages.slack_refused", error=code)
    typed = typed_text(body or {})
    if is_outage(error):
        if typed:
            return prompts.text("messages.database_down", echo=quoted(typed))
        return prompts.text("messages.database_down_nothing_typed")
    if typed:
        return prompts.text("messages.internal_error_echo", echo=quoted(typed))
    return prompts.text("messages.internal_error")


def surface(body: dict[str, Any]) -> str:
    """Which request failed, for the log: `/intent`, `view intent_form`, `event message`, ..."""
    if body.get("command"):
        return str(body["command"])
    kind = str(body.get("type") or "")
    if kind == "view_submission":
        return f"view {(body.get('view') or {}).get('callback_id', '?')}"
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return f"action {actions[0].get('action_id', '?')}"
    if kind in ("shortcut", "message_action"):
        return f"shortcut {body.get('callback_id', '?')}"
    event = body.get("event") or {}
    if event:
        return f"event {event.get('type', '?')}"
    return kind or "request"


def log_failure(error: Exception, body: dict[str, Any]) -> None:
    """One line for an outage of the database or Slack; a bug keeps its traceback."""
    if is_outage(error):
        log.warning(
            "%s failed: the database is unreachable (%s); the person was told",
            surface(body),
            outage_reason(error),
        )
    elif isinstance(error, SlackApiError):
        code = error.response.get("error", "unknown_error")
        log.warning("%s failed: Slack refused it (%s)", surface(body), code)
    elif slack_unreachable(error):
        # Slack's Web API is down or slow: expected, and the outbox keeps what was owed.
        log.warning("%s failed: Slack did not answer (%s)", surface(body), type(error).__name__)
    else:
        log.exception("%s failed: %s", surface(body), type(error).__name__)


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
    text = failure_text(prompts, error, body)
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
    tell_directly(client, body, text)


def tell_directly(client: WebClient, body: dict[str, Any], text: str) -> bool:
    """Say `text` to the person behind `body` now, not through the outbox (which needs the
    database): response_url first (works uninvited), then an ephemeral, then a DM. Whether
    Slack took it; never raises."""
    at = where(body)
    user, channel = at.user, at.channel
    if not user:
        return False
    try:
        if body.get("response_url"):
            WebhookClient(body["response_url"], timeout=5).send(
                text=text, response_type="ephemeral", replace_original=False
            )
            return True
        if channel:
            thread = (body.get("event") or {}).get("thread_ts")
            extra = {"thread_ts": thread} if thread else {}
            client.chat_postEphemeral(channel=channel, user=user, text=text, **extra)
            return True
        client.chat_postMessage(channel=user, text=text)
        return True
    except Exception as exc:  # nothing more we can do; never raise from the error handler
        log.warning("could not tell %s: %s", user, type(exc).__name__)
        return False
