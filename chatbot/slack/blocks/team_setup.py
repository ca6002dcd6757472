"""`/digest setup` in Block Kit: every team setting in one modal, and the submitted values
read back for `TeamService.update`."""

from __future__ import annotations

import json
from typing import Any

from chatbot.prompts import Prompts
from chatbot.slack.blocks import Block, plain, text_input
from chatbot.slack.ids import DigestId
from chatbot.slack.text import truncate
from chatbot.teams import defaults
from chatbot.teams.escape import describe_escape_rule
from chatbot.teams.goals import describe_goal

# The form's fields in order (labels and hints in prompts/digest.toml [setup.*]).
SETUP_TEXT_FIELDS: tuple[str, ...] = (
    "tz",
    "digest_time",
    "checkin_time",
    "wip_limit",
    "jira_project",
    "jira_jql",
    "repos",
    "services",
    "production_envs",
    "members",
    "bots",
    "baseline_week",
    "decision_reaction",
    "escape_rule",
    "status_overrides",
    "ai_agents",
    "ai_markers",
    "ai_labels",
    "goals",
)
# Fields typed one entry per line (a pattern or goal may hold commas and spaces).
MULTILINE_FIELDS = frozenset({"status_overrides", "jira_jql", "ai_markers", "goals"})


def _weekday_select(block_id: str, prompts: Prompts, chosen: int) -> Block:
    label = prompts.text(f"digest.setup.labels.{block_id}")
    weekdays = prompts.get("digest.setup.weekdays")
    options = [{"text": plain(name), "value": str(i)} for i, name in enumerate(weekdays)]
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": options,
            "initial_option": options[chosen % 7],
        },
    }


def _setting_text(field: str, value: Any) -> str:
    if field == "escape_rule":
        return describe_escape_rule(value or None)
    if field == "goals":
        return "\n".join(describe_goal(metric, goal) for metric, goal in (value or {}).items())
    if field == "status_overrides":
        return "\n".join(f"{name}={category}" for name, category in (value or {}).items())
    if field == "ai_markers":
        return "\n".join(str(pattern) for pattern in value or ())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def setup_modal(team: Any, prompts: Prompts, channel_id: str | None = None) -> dict[str, Any]:
    """Every team setting in one form; `team` None creates a team for `channel_id`."""
    blocks: list[Block] = []
    if team is None:
        blocks.append(text_input("name", prompts.text("digest.setup.new_team_name"), max_length=80))
    channel_element: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": "value",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    initial_channel = team.channel_id if team is not None else channel_id
    if initial_channel:
        channel_element["initial_conversation"] = initial_channel
    blocks.append(
        {
            "type": "input",
            "block_id": "channel_id",
            "label": plain(prompts.text("digest.setup.channel_label")),
            "element": channel_element,
        }
    )
    blocks.append(_weekday_select("digest_weekday", prompts, getattr(team, "digest_weekday", 0)))
    blocks.append(_weekday_select("checkin_weekday", prompts, getattr(team, "checkin_weekday", 4)))
    for field in SETUP_TEXT_FIELDS:
        label = prompts.text(f"digest.setup.labels.{field}")
        hint = prompts.text(f"digest.setup.hints.{field}")
        default = {
            "tz": defaults.TIME_ZONE,
            "digest_time": defaults.DIGEST_TIME,
            "checkin_time": defaults.CHECKIN_TIME,
            "wip_limit": str(defaults.WIP_LIMIT),
        }
        value = _setting_text(field, getattr(team, field, None)) if team is not None else ""
        blocks.append(
            text_input(
                field,
                label,
                value=truncate(value or default.get(field, ""), 3000),
                optional=field not in {"tz", "digest_time", "checkin_time", "wip_limit"},
                hint=hint,
                multiline=field in MULTILINE_FIELDS,
                max_length=2000,
            )
        )
    metadata = json.dumps({"team": team.name if team is not None else None})
    return {
        "type": "modal",
        "callback_id": DigestId.SETUP,
        "title": plain(prompts.text("digest.setup.title")[:24]),
        "submit": plain(prompts.text("digest.setup.submit")[:24]),
        "close": plain(prompts.text("digest.setup.cancel")),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def setup_values(values: dict[str, Any]) -> dict[str, Any]:
    """The submitted settings, keyed like `TeamService.update` expects."""
    out: dict[str, Any] = {}
    for block_id, elements in values.items():
        element = elements.get("value") or {}
        if "selected_users" in element:
            out[block_id] = list(element.get("selected_users") or [])
        elif "selected_conversation" in element:
            out[block_id] = element.get("selected_conversation") or ""
        elif "selected_option" in element:
            out[block_id] = (element.get("selected_option") or {}).get("value")
        elif isinstance(element.get("value"), list):
            out[block_id] = list(element["value"])
        else:
            out[block_id] = str(element.get("value") or "").strip()
    return out
