"""The envelope every Slack request carries, checked before Bolt hands it to a listener.

Slack always sends these fields with these types; a signed request without them is malformed
(or forged with a leaked secret), and the listeners may rely on them without checking each one.
Only the envelope is checked here, not what a listener reads from blocks or view state.
"""

from __future__ import annotations

import json
from typing import Any

_COMMAND_FIELDS = ("command", "team_id", "channel_id", "user_id", "trigger_id", "response_url")
_INTERACTIVE = {
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "block_suggestion",
    "interactive_message",
    "dialog_submission",
}
_WITH_TRIGGER = {"block_actions", "view_submission", "shortcut", "message_action"}
# Where Slack sends these keys, they hold objects; Bolt's matchers call .get() on them.
_OBJECTS = ("event", "view", "message", "container", "channel", "state", "user", "item")
_MESSAGE_EVENTS = {"message", "app_mention"}
_REACTION_EVENTS = {"reaction_added", "reaction_removed"}


def shape_problem(body: Any) -> str | None:
    """What is wrong with a parsed Slack body, or None when its envelope is sound."""
    if not isinstance(body, dict):
        return "not a JSON object"
    if "command" in body:
        missing = [f for f in _COMMAND_FIELDS if not isinstance(body.get(f), str)]
        if missing or not body["command"].startswith("/"):
            return "slash command without " + (missing[0] if missing else "a /name")
        if not _is_url(body["response_url"]):
            return "slash command with a response_url that is not a URL"
        return None
    for name in _OBJECTS:
        if name in body and not isinstance(body[name], dict):
            return f"{name} that is not an object"
    authorizations = body.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        return "authorizations that are not a list of objects"
    kind = body.get("type")
    if not isinstance(kind, str):
        return "no type" if "ssl_check" not in body else None
    if kind in _INTERACTIVE:
        return _interactive_problem(kind, body)
    if kind == "event_callback":
        return _event_problem(body)
    if kind == "url_verification" and not isinstance(body.get("challenge"), str):
        return "url_verification without a challenge"
    return None


def _interactive_problem(kind: str, body: dict[str, Any]) -> str | None:
    if not _has_str(body.get("user"), "id"):
        return f"{kind} without user.id"
    if kind in _WITH_TRIGGER and not isinstance(body.get("trigger_id"), str):
        return f"{kind} without trigger_id"
    for name in ("container", "channel", "message", "view", "team", "state"):
        if body.get(name) is not None and not isinstance(body[name], dict):
            return f"{kind} with a {name} that is not an object"
    for name in ("callback_id", "response_url", "action_id", "value", "api_app_id"):
        if name in body and not isinstance(body[name], str):
            return f"{kind} with a {name} that is not a string"
    if "response_url" in body and not _is_url(body["response_url"]):
        return f"{kind} with a response_url that is not a URL"
    if body.get("channel") is not None and not _has_str(body["channel"], "id"):
        return f"{kind} without channel.id"
    if body.get("message") is not None and not _has_str(body["message"], "ts"):
        return f"{kind} without message.ts"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        if not all(_has_str(a, "action_id") and _has_str(a, "type") for a in actions):
            return "block_actions with an action lacking action_id or type"
        for action in actions:
            problem = _element_problem(action)
            if problem is not None:
                return f"block_actions with an action {problem}"
    if kind in {"view_submission", "view_closed"} or body.get("view") is not None:
        problem = _view_problem(body.get("view"))
        if problem is not None:
            return f"{kind} with {problem}"
    if kind in {"shortcut", "message_action"} and not isinstance(body.get("callback_id"), str):
        return f"{kind} without callback_id"
    if kind == "message_action" and (body.get("channel") is None or body.get("message") is None):
        return "message_action without channel or message"
    return None


def _view_problem(view: Any) -> str | None:
    if not (_has_str(view, "id") and _has_str(view, "type")):
        return "a view without id or type"
    for name in ("callback_id", "private_metadata", "hash", "team_id", "type"):
        if name in view and not isinstance(view[name], str):
            return f"a view {name} that is not a string"
    if view.get("private_metadata") and not _is_json_object(view["private_metadata"]):
        # This app only ever sets private_metadata to a JSON object; anything else did not come
        # from a view it opened.
        return "private_metadata that is not a JSON object"
    state = view.get("state")
    if state is not None:
        values = state.get("values") if isinstance(state, dict) else None
        if not isinstance(values, dict) or not all(
            isinstance(block, dict) and all(isinstance(el, dict) for el in block.values())
            for block in values.values()
        ):
            return "a view state that is not blocks of elements"
        for block in values.values():
            for element in block.values():
                problem = _element_problem(element)
                if problem is not None:
                    return f"a view state element {problem}"
    if "blocks" in view and not isinstance(view["blocks"], list):
        return "view blocks that are not a list"
    return None


def _event_problem(body: dict[str, Any]) -> str | None:
    event = body.get("event")
    if not _has_str(event, "type"):
        return "event_callback without event.type"
    for name in ("team_id", "event_id", "api_app_id"):
        if name in body and not isinstance(body[name], str):
            return f"event_callback with a {name} that is not a string"
    kind = event["type"]
    if kind in _MESSAGE_EVENTS:
        if not (_has_str(event, "channel") and _has_str(event, "ts")):
            return f"{kind} event without channel or ts"
        for name in ("user", "text", "thread_ts", "subtype", "bot_id", "event_ts", "channel_type"):
            if event.get(name) is not None and not isinstance(event[name], str):
                return f"{kind} event with a {name} that is not a string"
        for name in ("blocks", "files", "attachments"):
            if event.get(name) is not None and not isinstance(event[name], list):
                return f"{kind} event with {name} that are not a list"
    if kind in _REACTION_EVENTS:
        item = event.get("item")
        if not (_has_str(event, "user") and _has_str(event, "reaction") and isinstance(item, dict)):
            return f"{kind} event without user, reaction or item"
        for name in ("type", "channel", "ts"):
            if name in item and not isinstance(item[name], str):
                return f"{kind} event with an item {name} that is not a string"
    return None


_ELEMENT_STRINGS = (
    "type",
    "action_id",
    "block_id",
    "value",
    "action_ts",
    "selected_conversation",
    "selected_channel",
    "selected_user",
    "selected_date",
    "selected_time",
)


def _element_problem(element: dict[str, Any]) -> str | None:
    """What is wrong with an action or a view state element, as Slack types their fields."""
    for name in _ELEMENT_STRINGS:
        if element.get(name) is not None and not isinstance(element[name], str):
            return f"{name} that is not a string"
    option = element.get("selected_option")
    if option is not None and not _has_str(option, "value"):
        return "selected_option without a value"
    options = element.get("selected_options")
    if options is not None and not (
        isinstance(options, list) and all(_has_str(o, "value") for o in options)
    ):
        return "selected_options that are not options"
    return None


def _is_json_object(text: Any) -> bool:
    try:
        return isinstance(text, str) and isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _has_str(value: Any, key: str) -> bool:
    return isinstance(value, dict) and isinstance(value.get(key), str)


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and " " not in value
