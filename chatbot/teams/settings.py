"""Every team setting: its command-line key, the column it fills, and how a typed value is
checked and normalised. `chatbot team add/set` and `/digest setup` both go through here, so a
value is refused with the same one-line reason wherever it is typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatbot.errors import UserError
from chatbot.jira_keys import PROJECT_KEY
from chatbot.teams import defaults
from chatbot.teams.escape import SYNTAX as ESCAPE_SYNTAX
from chatbot.teams.escape import EscapeRuleError, describe_escape_rule, parse_escape_rule
from chatbot.teams.goals import GoalError, parse_goal


class TeamError(UserError):
    """A setting or team operation is refused; its text (prompts/teams.toml) says what to
    type instead."""


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CATEGORIES = ("new", "indeterminate", "done")
_CATEGORY_ALIASES = {
    "to do": "new",
    "todo": "new",
    "in progress": "indeterminate",
    "in_progress": "indeterminate",
    "progress": "indeterminate",
    "complete": "done",
}
_USER_ID = re.compile(r"^<?@?([UW][A-Z0-9]+)(\|[^>]*)?>?$")
_REPO = re.compile(r"^[a-z0-9_.-]+/[a-z0-9_.-]+$")


def _items(value: Any, split_spaces: bool = True) -> list[str]:
    """A list from a list, or from text separated by commas (and spaces, unless names may
    hold spaces, like Jira display names)."""
    raw = value if isinstance(value, (list, tuple)) else [value]
    pattern = r"[,\s]+" if split_spaces else r","
    found: list[str] = []
    for chunk in raw:
        for item in re.split(pattern, str(chunk or "")):
            item = item.strip()
            if item and item not in found:
                found.append(item)
    return found


def _required_text(key: str, value: Any, example: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise TeamError("teams.errors.empty", setting=key, example=example)
    return text


def _optional_text(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _channel(key: str, value: Any) -> str:
    text = _required_text(key, value, "C0123ABCD").strip("<>#").split("|")[0]
    if not re.fullmatch(r"[CGD][A-Z0-9]+", text):
        raise TeamError("teams.errors.bad_channel")
    return text


def _tz(key: str, value: Any) -> str:
    text = _required_text(key, value, "Europe/Berlin")
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise TeamError("teams.errors.bad_tz", value=text) from None
    return text


def _time(key: str, value: Any) -> str:
    text = _required_text(key, value, defaults.DIGEST_TIME)
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
    if not match:
        raise TeamError("teams.errors.bad_time", setting=key)
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _weekday(key: str, value: Any) -> int:
    text = _required_text(key, value, "monday").lower()
    if text.isdigit() and 0 <= int(text) <= 6:
        return int(text)
    for number, name in enumerate(WEEKDAYS):
        if len(text) >= 3 and name.startswith(text):
            return number
    raise TeamError("teams.errors.bad_weekday", setting=key)


def _wip_limit(key: str, value: Any) -> int:
    text = _required_text(key, value, "2")
    try:
        number = int(text)
    except ValueError:
        raise TeamError("teams.errors.not_a_number", setting=key, value=text) from None
    if not 1 <= number <= 50:
        raise TeamError("teams.errors.wip_out_of_range", setting=key)
    return number


def _jira_project(key: str, value: Any) -> str | None:
    text = _optional_text(value)
    if text is None:
        return None
    if not PROJECT_KEY.fullmatch(text.upper()):
        raise TeamError("teams.errors.bad_jira_project", setting=key)
    return text.upper()


def _jql(key: str, value: Any) -> str | None:
    text = _optional_text(value)
    if text is not None and len(text) > 2000:
        raise TeamError("teams.errors.too_long", setting=key, limit=2000)
    return text


def _issue_type(key: str, value: Any) -> str:
    text = _required_text(key, value, "Story")
    if len(text) > 64:
        raise TeamError("teams.errors.too_long", setting=key, limit=64)
    return text


def _baseline_week(key: str, value: Any) -> str | None:
    text = _optional_text(value)
    if text is None:
        return None
    match = re.fullmatch(r"(\d{4})-?W(\d{2})", text.upper())
    if not match or not 1 <= int(match.group(2)) <= 53:
        raise TeamError("teams.errors.bad_baseline_week", setting=key)
    return f"{match.group(1)}-W{match.group(2)}"


def _reaction(key: str, value: Any) -> str:
    text = _required_text(key, value, "memo").strip(":").lower()
    if not re.fullmatch(r"[a-z0-9_+'-]{1,64}", text):
        raise TeamError("teams.errors.bad_reaction", setting=key)
    return text


def _users(key: str, value: Any) -> list[str]:
    found = []
    for item in _items(value):
        match = _USER_ID.fullmatch(item)
        if not match:
            raise TeamError("teams.errors.bad_user", setting=key, value=item)
        found.append(match.group(1))
    return list(dict.fromkeys(found))


def _repos(key: str, value: Any) -> list[str]:
    found = []
    for item in _items(value):
        repo = item.lower().removeprefix("https://github.com/").removesuffix(".git").strip("/")
        if not _REPO.fullmatch(repo):
            raise TeamError("teams.errors.bad_repo", setting=key, value=item)
        found.append(repo)
    return list(dict.fromkeys(found))


def _names(key: str, value: Any) -> list[str]:
    found = _items(value)
    if any(len(n) > 200 for n in found):
        raise TeamError("teams.errors.name_too_long", setting=key)
    return found


def _production_envs(key: str, value: Any) -> list[str]:
    # Emptied (a cleared form field): back to the default rather than "nothing is production".
    return _names(key, value) or list(defaults.PRODUCTION_ENVS)


def _members(key: str, value: Any) -> list[str]:
    # Jira display names hold spaces ("Ann Lee"): only commas separate members.
    return _items(value, split_spaces=False)


def _bots(key: str, value: Any) -> list[str]:
    return [login.lower() for login in _items(value)]


def _ai_agents(key: str, value: Any) -> list[str]:
    return [login.lower() for login in _items(value)]


def _ai_markers(key: str, value: Any) -> list[str]:
    # A pattern may hold commas and spaces: each line (or repeated flag) is one pattern.
    raw = value if isinstance(value, (list, tuple)) else str(value or "").splitlines()
    found: list[str] = []
    for pattern in (str(p).strip() for p in raw):
        if not pattern or pattern in found:
            continue
        if len(pattern) > 200:
            raise TeamError("teams.errors.name_too_long", setting=key)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise TeamError("teams.errors.bad_ai_marker", value=pattern, reason=str(exc)) from None
        found.append(pattern)
    return found


def _ai_labels(key: str, value: Any) -> list[str]:
    # Label names hold spaces ("AI assisted"): only commas separate them.
    return [label.lower() for label in _names_with_spaces(key, value)]


def _names_with_spaces(key: str, value: Any) -> list[str]:
    found = _items(value, split_spaces=False)
    if any(len(n) > 100 for n in found):
        raise TeamError("teams.errors.name_too_long", setting=key)
    return found


def parse_goals(value: Any) -> dict[str, dict[str, float] | None]:
    """`"cycle_time=-40%"` (or several, one per line or repeated, or a dict) → the goals to
    set; `"cycle_time="` → {"cycle_time": None}, which removes that goal."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    texts = value if isinstance(value, (list, tuple)) else str(value or "").splitlines()
    parsed: dict[str, dict[str, float] | None] = {}
    for text in (str(t).strip() for t in texts):
        if not text:
            continue
        metric, eq, target = text.partition("=")
        if eq and not target.strip():
            parsed[metric.strip().lower()] = None
            continue
        try:
            goal = parse_goal(text)
        except GoalError as exc:
            raise TeamError(exc.key, **exc.values) from None
        parsed[goal.metric] = goal.as_setting()
    return parsed


def _escape_rule(key: str, value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        value = describe_escape_rule(value)
    try:
        return parse_escape_rule(str(value or ""))
    except EscapeRuleError as exc:
        raise TeamError(exc.key, **exc.values) from None


def category_of(text: str) -> str:
    """A status category key from what a person types (`in progress` → indeterminate)."""
    key = text.strip().lower()
    key = _CATEGORY_ALIASES.get(key, key)
    if key not in CATEGORIES:
        raise TeamError("teams.errors.bad_category", value=text)
    return key


def parse_status_overrides(value: Any) -> dict[str, str | None]:
    """`"In Review=indeterminate"` (or several, or a dict) → {"In Review": "indeterminate"};
    `"In Review="` → {"In Review": None}, which removes that override."""
    pairs = value.items() if isinstance(value, dict) else None
    if pairs is None:
        texts = value if isinstance(value, (list, tuple)) else [value]
        pairs = []
        for text in texts:
            name, eq, category = str(text or "").partition("=")
            if not eq or not name.strip():
                raise TeamError("teams.errors.bad_status_override")
            pairs.append((name, category))
    parsed: dict[str, str | None] = {}
    for name, category in pairs:
        parsed[str(name).strip()] = (
            category_of(str(category)) if str(category or "").strip() else None
        )
    return parsed


@dataclass(frozen=True)
class Setting:
    key: str  # the command-line key: --digest-day
    field: str  # the Team column
    check: Callable[[str, Any], Any]
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("name", "name", lambda _k, v: check_team_name(v), "rename the team"),
    Setting("channel", "channel_id", _channel, "Slack channel id (C0123ABCD)"),
    Setting("jira-project", "jira_project", _jira_project, "Jira project key (PAY)"),
    Setting("jira-jql", "jira_jql", _jql, "JQL for the team's work items"),
    Setting("jira-issue-type", "jira_issue_type", _issue_type, "issue type created (Story)"),
    Setting("tz", "tz", _tz, "time zone (Europe/Berlin)"),
    Setting("digest-day", "digest_weekday", _weekday, "digest day (monday)"),
    Setting("digest-time", "digest_time", _time, "digest time (09:00)"),
    Setting("checkin-day", "checkin_weekday", _weekday, "check-in day (friday)"),
    Setting("checkin-time", "checkin_time", _time, "check-in time (15:00)"),
    Setting("wip-limit", "wip_limit", _wip_limit, f"WIP limit per engineer ({defaults.WIP_LIMIT})"),
    Setting("member", "members", _members, "Jira names or account ids, comma-separated"),
    Setting("orchestrator", "orchestrators", _users, "Slack user ids"),
    Setting("senior", "senior_engineers", _users, "senior engineers for the check-in"),
    Setting("leader", "leaders", _users, "leaders to DM the digest"),
    Setting("admin", "admins", _users, "who may change settings"),
    Setting("baseline-week", "baseline_week", _baseline_week, "baseline week (2026-W40)"),
    Setting("repo", "repos", _repos, "GitHub repositories (acme/payments)"),
    Setting("service", "services", _names, "deployed services (payments-api)"),
    Setting("prod-env", "production_envs", _production_envs, "default production,prod"),
    Setting("bot", "bots", _bots, "extra GitHub logins that are bots"),
    Setting("escape-rule", "escape_rule", _escape_rule, ESCAPE_SYNTAX),
    Setting(
        "status-category",
        "status_overrides",
        lambda _k, v: parse_status_overrides(v),
        '"In Review=indeterminate" (empty category removes)',
    ),
    Setting("decision-reaction", "decision_reaction", _reaction, "emoji that logs a decision"),
    Setting("ai-agent", "ai_agents", _ai_agents, "coding-agent GitHub logins (repeat)"),
    Setting("ai-marker", "ai_markers", _ai_markers, "AI marker regex in commits/bodies (repeat)"),
    Setting("ai-label", "ai_labels", _ai_labels, "PR labels meaning AI-assisted (repeat)"),
    Setting(
        "goal",
        "goals",
        lambda _k, v: parse_goals(v),
        "cycle_time=-40%, review_time=8h, change_failure_rate=10% (METRIC= removes)",
    ),
)
BY_KEY = {s.key: s for s in SETTINGS}
# Other spellings a person may type. The plural list keys (`--repos`) were the documented
# ones before flags became singular and repeatable (`--repo a/b --repo c/d`); they still work.
_ALIASES = {
    "channel-id": "channel",
    "jira": "jira-project",
    "timezone": "tz",
    "digest-weekday": "digest-day",
    "checkin-weekday": "checkin-day",
    "members": "member",
    "orchestrators": "orchestrator",
    "seniors": "senior",
    "senior-engineer": "senior",
    "senior-engineers": "senior",
    "leaders": "leader",
    "admins": "admin",
    "repos": "repo",
    "services": "service",
    "prod-envs": "prod-env",
    "production-env": "prod-env",
    "production-envs": "prod-env",
    "bots": "bot",
    "status-categories": "status-category",
    "status-overrides": "status-category",
    "reaction": "decision-reaction",
    "ai-agents": "ai-agent",
    "ai-markers": "ai-marker",
    "ai-labels": "ai-label",
    "goals": "goal",
}


def valid_keys() -> str:
    """The keys `team set` accepts, for help and error messages."""
    return ", ".join(f"--{s.key}" for s in SETTINGS)


def setting_for(key: str) -> Setting:
    """The setting a key names: `digest-day`, `digest_day`, `--repo` (aliases allowed)."""
    normal = key.strip().lstrip("-").replace("_", "-").lower()
    by_field = {s.field.replace("_", "-"): s.key for s in SETTINGS}
    normal = _ALIASES.get(normal, by_field.get(normal, normal))
    setting = BY_KEY.get(normal)
    if setting is None:
        raise TeamError("teams.errors.unknown_setting", setting=normal, valid=valid_keys())
    return setting


def check_team_name(value: Any) -> str:
    name = "" if value is None else str(value).strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}", name):
        raise TeamError("teams.errors.bad_team_name")
    return name


def check(key: str, value: Any) -> tuple[str, Any]:
    """(Team column, checked value) for one setting; `TeamError` with the reason if not."""
    setting = setting_for(key)
    return setting.field, setting.check(setting.key, value)
