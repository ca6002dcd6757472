"""The escaped-defect rule: how a team says a bug was found after release (docs/metrics.md).

Stored on the team as a small JSON object, written on the command line as one string:

- `label:escaped` → `{"label": "escaped"}`: the bug carries the label (the default).
- `field:customfield_10010=Production` → `{"field": "customfield_10010", "value":
  "Production"}`: the field's value (or one of its values) equals the value.
- `jql:labels = escaped OR "Found in" = Prod` → `{"jql": "..."}`: the Jira sync's search
  for the JQL found the bug (stored as `work_item.escaped`).
"""

from __future__ import annotations

import re
from typing import Any

from chatbot.errors import UserError
from chatbot.teams import defaults

DEFAULT_RULE: dict[str, str] = dict(defaults.ESCAPE_RULE)
SYNTAX = "label:NAME, field:FIELD_ID=VALUE or jql:QUERY"


class EscapeRuleError(UserError, ValueError):
    """A rule that cannot be read; worded in prompts/teams.toml."""


def parse_escape_rule(text: str) -> dict[str, str]:
    """`label:escaped` · `field:customfield_10010=Production` · `jql:...` → the stored rule."""
    kind, sep, rest = (text or "").strip().partition(":")
    kind, rest = kind.strip().lower(), rest.strip()
    if not sep or not rest:
        raise EscapeRuleError("teams.errors.escape_rule_syntax", syntax=SYNTAX, value=text)
    if kind == "label":
        if re.search(r"\s", rest):
            raise EscapeRuleError("teams.errors.escape_label_spaces")
        return {"label": rest}
    if kind == "field":
        field, eq, value = rest.partition("=")
        if not eq or not field.strip() or not value.strip():
            raise EscapeRuleError("teams.errors.escape_field_syntax")
        return {"field": field.strip(), "value": value.strip()}
    if kind == "jql":
        if len(rest) > 2000:
            raise EscapeRuleError("teams.errors.escape_jql_too_long")
        return {"jql": rest}
    raise EscapeRuleError("teams.errors.escape_rule_syntax", syntax=SYNTAX, value=text)


def describe_escape_rule(rule: dict[str, Any] | None) -> str:
    """The command-line form of a stored rule (for `team list`, doctor messages)."""
    rule = rule or DEFAULT_RULE
    if "jql" in rule:
        return f"jql:{rule['jql']}"
    if "field" in rule:
        return f"field:{rule['field']}={rule.get('value', '')}"
    return f"label:{rule.get('label', DEFAULT_RULE['label'])}"


def _field_values(raw: Any) -> list[str]:
    """A Jira field as plain strings: option objects give their value or name."""
    items = raw if isinstance(raw, list) else [raw]
    values = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("value", item.get("name", item.get("key")))
        if item is not None:
            values.append(str(item))
    return values


def is_escaped(
    rule: dict[str, Any] | None, labels: list[str], fields: dict[str, Any], flagged: bool
) -> bool:
    """Whether a work item (its labels, fields and sync-time JQL flag) matches the rule."""
    rule = rule or DEFAULT_RULE
    if "jql" in rule:
        return flagged
    if "field" in rule:
        wanted = str(rule.get("value", "")).casefold()
        return any(v.casefold() == wanted for v in _field_values(fields.get(rule["field"])))
    wanted = str(rule.get("label", DEFAULT_RULE["label"])).casefold()
    return any(str(label).casefold() == wanted for label in labels or [])
