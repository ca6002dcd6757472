"""The weekly digest in Block Kit: the channel message, the leaders' DM, the "Show the work"
modal, the Friday check-in and the App Home section.

Pure functions of the digest JSON (spec 6.4) and the prompts, so a posted digest can be
rendered again exactly as it was. The channel message names nobody (spec 6.3): WIP over the
limit is a count there, and check-in shares need at least three answers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatbot.digest.catalogue import (
    BY_NAME,
    HEADLINES,
    METRICS,
    MIN_CHECKIN_RESPONSES,
    MetricView,
    fmt,
    fmt_change,
)
from chatbot.metrics.goals import describe_goal
from chatbot.metrics.stats import got_worse
from chatbot.prompts import Prompts
from chatbot.slack.blocks import Block, actions, button, context, divider, header, plain, section
from chatbot.slack.blocks.ai import (
    ai_section_blocks,
    goals_blocks,
    leader_ai_line,
    paired_signal_blocks,
    pr_size_line,
)
from chatbot.slack.text import escape, truncate

HINT_MAX = 700
WARNING_MAX = 400
SECTION_MAX = 2900
EXPLAIN_PAGE_ITEMS = 30
EXPLAIN_LINE_MAX = 400
NAMES_MAX = 2500
SHARE_STEPS = tuple(range(0, 101, 10))


# --- reading the digest -------------------------------------------------------------------


def _metric(digest: dict[str, Any], name: str) -> dict[str, Any] | None:
    found = (digest.get("metrics") or {}).get(name)
    return found if isinstance(found, dict) else None


def checkin_hidden(metric: dict[str, Any] | None) -> bool:
    """Check-in shares stay out of the channel below three answers."""
    return int((metric or {}).get("responses") or 0) < MIN_CHECKIN_RESPONSES


def worsened(view: MetricView, metric: dict[str, Any] | None) -> bool:
    if metric is None or (view.name == "orchestration" and checkin_hidden(metric)):
        return False
    previous = metric.get("previous")
    return got_worse(
        view.value(metric),
        float(previous) if isinstance(previous, int | float) else None,
        view.lower_is_better,
    )


def worse_metrics(digest: dict[str, Any]) -> list[MetricView]:
    return [v for v in METRICS if worsened(v, _metric(digest, v.name))]


def _number(metric: dict[str, Any], key: str) -> float | None:
    value = metric.get(key)
    return float(value) if isinstance(value, int | float) else None


def has_data(digest: dict[str, Any]) -> bool:
    """Anything counted this week (a zero count of nothing, like no churn, is not data)."""
    for view in METRICS:
        metric = _metric(digest, view.name)
        if (view.sample(metric) or 0) > 0 or view.value(metric) not in (None, 0.0):
            return True
    return False


def _period(digest: dict[str, Any], prompts: Prompts) -> str:
    """Monday to Sunday as local dates (the week ends at the next Monday's midnight)."""
    try:
        zone = ZoneInfo(str(digest.get("time_zone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")

    def day(value: Any, back: timedelta = timedelta(0)) -> str:
        try:
            instant = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return "?"
        return (instant.astimezone(zone) - back).strftime("%a %d %b %Y")

    return prompts.text(
        "digest.digest.period",
        start=day(digest.get("start")),
        end=day(digest.get("end"), timedelta(seconds=1)),
        tz=escape(str(digest.get("time_zone", "UTC"))),
    )


# --- one metric -----------------------------------------------------------------------------


def _value_text(view: MetricView, metric: dict[str, Any], prompts: Prompts, names: bool) -> str:
    """The headline value with the figures that explain it (never a name unless `names`)."""

    def detail(name: str, **values: object) -> str:
        return prompts.text(f"digest.detail.{name}", **values)

    value = fmt(view.value(metric), view.unit, prompts)
    if view.name == "cycle_time":
        p85 = _number(metric, "p85_hours")
        extra = detail("p85", value=fmt(p85, "hours", prompts)) if p85 is not None else ""
        if metric.get("fallback"):
            extra += detail("fallback", count=metric["fallback"])
        return value + extra
    if view.name == "review_rounds":
        mean = _number(metric, "mean")
        return value + (detail("mean", value=f"{mean:.1f}") if mean is not None else "")
    if view.name == "wip":
        over = metric.get("over_limit") or []
        limit = metric.get("limit", "?")
        if names and over:
            return value
        return value + (
            f", {prompts.text('digest.digest.over_limit_count', count=len(over), limit=limit)}"
            if over
            else ""
        )
    if view.name in ("change_failure_rate", "defect_escape_rate"):
        part = metric.get("failed" if view.name == "change_failure_rate" else "escaped")
        total = metric.get("total")
        if part is not None and total is not None:
            noun = "deployments" if view.name == "change_failure_rate" else "bugs"
            return detail(noun, value=value, part=part, total=total)
        return value
    if view.name == "orchestration":
        interrupts = _number(metric, "interrupt_share")
        return detail("interrupts", value=value, share=fmt(interrupts, "ratio", prompts))
    if view.name == "late_intent_churn":
        return detail("churn", value=value, intents=metric.get("intents", 0))
    if view.name == "checks_verified_at_done":
        done = metric.get("done")
        return value + (detail("done", done=done) if done is not None else "")
    return value


def _changes(view: MetricView, metric: dict[str, Any], prompts: Prompts) -> str:
    current = view.value(metric)
    previous = _number(metric, "previous")
    baseline = _number(metric, "baseline")
    n = view.sample(metric)
    last_week, since_baseline = (
        fmt_change(current, other, view.unit, prompts) for other in (previous, baseline)
    )
    parts = [
        f"{last_week} {prompts.text('digest.digest.vs_last_week')}",
        f"{since_baseline} {prompts.text('digest.digest.vs_baseline')}",
        prompts.text("digest.digest.sample", n=n if n is not None else 0),
    ]
    return " · ".join(parts)


def hint_for(view: MetricView, prompts: Prompts) -> str:
    try:
        return truncate(str(prompts.get(f"digest.hints.{view.name}")), HINT_MAX)
    except KeyError:
        return ""


def metric_text(
    view: MetricView, metric: dict[str, Any], prompts: Prompts, names: bool = False
) -> str:
    """One metric's section: value, change vs last week and baseline, n, and the hint."""
    if view.name == "orchestration" and checkin_hidden(metric):
        few = prompts.text("digest.digest.few_answers")
        return f"*{view.label_in(prompts)}*  {few}"
    lines = [
        f"*{view.label_in(prompts)}*  {_value_text(view, metric, prompts, names)}",
        _changes(view, metric, prompts),
    ]
    if view.name == "review_time" and pr_size_line(metric, prompts):
        lines.append(pr_size_line(metric, prompts))
    if worsened(view, metric):
        hint = hint_for(view, prompts)
        if hint:
            lines.append(f":warning: _{prompts.text('digest.digest.what_to_check')}:_ {hint}")
    return truncate("\n".join(lines), SECTION_MAX)


def _headline_field(
    view: MetricView, metric: dict[str, Any] | None, prompts: Prompts
) -> dict[str, Any]:
    value = fmt(view.value(metric), view.unit, prompts)
    change = fmt_change(view.value(metric), _number(metric or {}, "previous"), view.unit, prompts)
    mark = " :warning:" if worsened(view, metric) else ""
    return {"type": "mrkdwn", "text": f"*{view.label_in(prompts)}*\n{value}  {change}{mark}"}


def _headlines(digest: dict[str, Any], prompts: Prompts) -> Block:
    fields = [_headline_field(v, _metric(digest, v.name), prompts) for v in HEADLINES]
    return {"type": "section", "fields": fields}


def _work_button(digest: dict[str, Any], view: MetricView, prompts: Prompts) -> dict[str, Any]:
    value = json.dumps(
        {"team": str(digest.get("team", "")), "week": digest.get("week"), "metric": view.name},
        separators=(",", ":"),
    )
    return button(prompts.text("digest.digest.show_work"), f"digest_explain_{view.name}", value)


def _warnings(digest: dict[str, Any], prompts: Prompts) -> list[Block]:
    warnings = [str(w) for w in digest.get("warnings") or [] if str(w).strip()]
    if not warnings:
        return []
    lines: list[str] = []
    used = len(prompts.text("digest.digest.warnings_title")) + 1
    for i, warning in enumerate(warnings):
        line = f"• {escape(truncate(warning, WARNING_MAX))}"
        rest = len(warnings) - i
        if used + len(line) + 1 > SECTION_MAX - 200:
            more = prompts.text(
                "digest.digest.more_warnings", count=rest, team=escape(str(digest.get("team")))
            )
            lines.append(more)
            break
        lines.append(line)
        used += len(line) + 1
    return [divider(), section("\n".join([prompts.text("digest.digest.warnings_title"), *lines]))]


# --- the channel message ------------------------------------------------------------------------


def digest_blocks(digest: dict[str, Any], prompts: Prompts) -> list[Block]:
    """The channel message: headlines first, then every metric with its "Show the work"
    button, then data-health warnings. Names nobody."""
    team, week = escape(str(digest.get("team", ""))), str(digest.get("week", ""))
    blocks: list[Block] = [
        header(prompts.text("digest.digest.title", team=str(digest.get("team", "")), week=week)),
        *paired_signal_blocks(digest, prompts),  # speed at the cost of quality comes first
        context(_period(digest, prompts)),
    ]
    if not has_data(digest):
        blocks.append(section(prompts.text("digest.digest.no_data", team=team)))
        return blocks + _warnings(digest, prompts)
    blocks.append(_headlines(digest, prompts))
    blocks.append(divider())
    for view in METRICS:
        metric = _metric(digest, view.name)
        if metric is None:
            continue
        blocks.append(
            section(
                metric_text(view, metric, prompts),
                _work_button(digest, view, prompts),
                block_id=f"digest_{view.name}",
            )
        )
    blocks += ai_section_blocks(digest, prompts) + goals_blocks(digest, prompts)
    return blocks + _warnings(digest, prompts)


def digest_fallback(digest: dict[str, Any], prompts: Prompts) -> str:
    """The notification text: the four headline numbers in one line."""
    return prompts.text(
        "digest.digest.fallback",
        team=escape(str(digest.get("team", ""))),
        week=digest.get("week", ""),
        summary=headline_summary(digest, prompts),
    )


def headline_summary(digest: dict[str, Any], prompts: Prompts) -> str:
    return ", ".join(
        f"{v.label_in(prompts).lower()} {fmt(v.value(_metric(digest, v.name)), v.unit, prompts)}"
        for v in HEADLINES
    )


# --- the leaders' DM ----------------------------------------------------------------------------


def _names(names: Sequence[str]) -> str:
    shown: list[str] = []
    used = 0
    for i, name in enumerate(names):
        piece = escape(truncate(str(name), 100))
        if used + len(piece) + 2 > NAMES_MAX:
            shown.append(f"and {len(names) - i} more")
            break
        shown.append(piece)
        used += len(piece) + 2
    return ", ".join(shown)


def leader_dm_blocks(
    digest: dict[str, Any], prompts: Prompts, channel_id: str | None = None
) -> list[Block]:
    """Shorter: the headlines, what got worse with its hint, and who is over the WIP limit."""
    week = str(digest.get("week", ""))
    blocks: list[Block] = [
        header(
            prompts.text("digest.digest.leader_title", team=str(digest.get("team", "")), week=week)
        ),
        *paired_signal_blocks(digest, prompts),
    ]
    if not has_data(digest):
        team = escape(str(digest.get("team", "")))
        blocks.append(section(prompts.text("digest.digest.no_data", team=team)))
    else:
        blocks.append(_headlines(digest, prompts))
        worse = worse_metrics(digest)
        if worse:
            lines = [prompts.text("digest.digest.leader_worse")]
            for view in worse:
                metric = _metric(digest, view.name) or {}
                change = fmt_change(
                    view.value(metric), _number(metric, "previous"), view.unit, prompts
                )
                hint = truncate(hint_for(view, prompts), 300)
                value = fmt(view.value(metric), view.unit, prompts)
                lines.append(f"• *{view.label_in(prompts)}* {value} ({change}): {hint}")
            blocks.append(section(truncate("\n".join(lines), SECTION_MAX)))
        else:
            blocks.append(section(prompts.text("digest.digest.leader_none_worse")))
        wip = _metric(digest, "wip") or {}
        over = [str(n) for n in wip.get("over_limit") or []]
        if over:
            text = prompts.text(
                "digest.digest.leader_over_limit", limit=wip.get("limit", "?"), names=_names(over)
            )
            blocks.append(section(truncate(text, SECTION_MAX)))
        blocks += leader_ai_line(digest, prompts) + goals_blocks(digest, prompts)
    if channel_id:
        blocks.append(context(prompts.text("digest.digest.leader_link", channel=channel_id)))
    return blocks


# --- "Show the work" ------------------------------------------------------------------------------


def _item_line(item: dict[str, Any], unit: str, prompts: Prompts) -> str:
    mark = "✓" if item.get("counted") else "✗"
    parts = [f"{mark} *{escape(str(item.get('ref', '?')))}*"]
    value = item.get("value")
    if isinstance(value, int | float):
        parts.append(fmt(float(value), unit if unit != "ratio" else "number", prompts))
    if item.get("reason"):
        parts.append(f"_{escape(str(item['reason']))}_")
    times = item.get("times") or {}
    shown = [f"{k} {str(v)[:16].replace('T', ' ')}" for k, v in times.items() if v]
    if shown:
        parts.append(" → ".join(shown))
    if item.get("detail"):
        parts.append(escape(str(item["detail"])))
    return truncate(" · ".join(parts), EXPLAIN_LINE_MAX)


def explain_pages(count: int) -> int:
    return max(1, -(-count // EXPLAIN_PAGE_ITEMS))


def explain_modal(
    items: Sequence[Any],
    prompts: Prompts,
    team: str,
    week: str,
    metric: str,
    page: int = 1,
) -> dict[str, Any]:
    """The items behind a figure, counted first, a page of them at a time; the page and what
    it belongs to travel in `private_metadata`."""
    rows = [i.as_dict() if hasattr(i, "as_dict") else dict(i) for i in items]
    view = BY_NAME.get(metric)
    label = view.label_in(prompts) if view else metric
    unit = view.unit if view else "number"
    pages = explain_pages(len(rows))
    page = min(max(1, page), pages)
    counted = sum(1 for r in rows if r.get("counted"))
    blocks: list[Block] = [
        section(
            prompts.text(
                "digest.explain.heading",
                label=label,
                week=escape(week),
                counted=counted,
                left_out=len(rows) - counted,
            )
        )
    ]
    if not rows:
        blocks.append(section(prompts.text("digest.explain.empty")))
    chunk = rows[(page - 1) * EXPLAIN_PAGE_ITEMS : page * EXPLAIN_PAGE_ITEMS]
    text = ""
    for row in chunk:
        line = _item_line(row, unit, prompts)
        if len(text) + len(line) + 1 > SECTION_MAX:
            blocks.append(section(text))
            text = ""
        text = f"{text}\n{line}" if text else line
    if text:
        blocks.append(section(text))
    if pages > 1:
        blocks.append(context(prompts.text("digest.explain.page", page=page, pages=pages)))
        buttons = []
        if page > 1:
            buttons.append(
                button(
                    prompts.text("digest.explain.previous"), "digest_explain_page", str(page - 1)
                )
            )
        if page < pages:
            buttons.append(
                button(prompts.text("digest.explain.next"), "digest_explain_page", str(page + 1))
            )
        blocks.append(actions(*buttons, block_id="explain_pages"))
    metadata = json.dumps({"team": team, "week": week, "metric": metric, "page": page})
    return {
        "type": "modal",
        "callback_id": "digest_explain",
        "title": plain(prompts.text("digest.explain.title")[:24]),
        "close": plain(prompts.text("digest.explain.close")),
        "private_metadata": metadata,
        "blocks": blocks,
    }


# --- the Friday check-in ------------------------------------------------------------------------


def _share_select(action_id: str, value_prefix: str, chosen: float | None, prompts: Prompts):
    options = [{"text": plain(f"{pct}%"), "value": f"{value_prefix}|{pct}"} for pct in SHARE_STEPS]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain(prompts.text("digest.checkin.placeholder")),
        "options": options,
    }
    if chosen is not None:
        pct = int(round(chosen * 10)) * 10
        element["initial_option"] = options[min(max(pct // 10, 0), 10)]
    return element


def checkin_blocks(
    team: str,
    team_id: int,
    week: str,
    prompts: Prompts,
    orchestration: float | None = None,
    interrupts: float | None = None,
    note: str | None = None,
) -> list[Block]:
    """Two selects, one tap each; the answer is saved on every change."""
    prefix = f"{team_id}|{week}"
    blocks: list[Block] = [
        section(prompts.text("digest.checkin.intro", team=escape(team), week=week)),
        section(
            prompts.text("digest.checkin.orchestration"),
            _share_select("checkin_orchestration", prefix, orchestration, prompts),
            block_id="checkin_orchestration",
        ),
        section(
            prompts.text("digest.checkin.interrupts"),
            _share_select("checkin_interrupts", prefix, interrupts, prompts),
            block_id="checkin_interrupts",
        ),
    ]
    if note:
        blocks.append(context(note))
    return blocks


# --- App Home -------------------------------------------------------------------------------------


def home_digest_section(
    prompts: Prompts, posted: Sequence[tuple[str, dict[str, Any]]]
) -> list[Block]:
    """The latest posted digest's headlines for each of my teams."""
    if not posted:
        return []
    blocks: list[Block] = [section(prompts.text("digest.digest.home_title"))]
    for team, digest in posted[:10]:
        line = f"*{escape(team)}* · {escape(str(digest.get('week', '')))}\n"
        line += " · ".join(
            f"{v.label_in(prompts)} {fmt(v.value(_metric(digest, v.name)), v.unit, prompts)}"
            for v in HEADLINES
        )
        blocks.append(section(truncate(line, SECTION_MAX)))
    return blocks


# --- /digest setup ----------------------------------------------------------------------------

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
    "goals",
)
SETUP_PEOPLE_FIELDS: tuple[str, ...] = ()


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
        from chatbot.teams.escape import describe_escape_rule

        return describe_escape_rule(value or None)
    if field == "status_overrides":
        return "\n".join(f"{name}={category}" for name, category in (value or {}).items())
    if field == "goals":
        return "\n".join(describe_goal(metric, goal) for metric, goal in (value or {}).items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def setup_modal(team: Any, prompts: Prompts, channel_id: str | None = None) -> dict[str, Any]:
    """Every team setting in one form; `team` None creates a team for `channel_id`."""
    from chatbot.slack.blocks import text_input

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
        default = {"tz": "UTC", "digest_time": "09:00", "checkin_time": "15:00", "wip_limit": "2"}
        value = _setting_text(field, getattr(team, field, None)) if team is not None else ""
        blocks.append(
            text_input(
                field,
                label,
                value=truncate(value or default.get(field, ""), 3000),
                optional=field not in {"tz", "digest_time", "checkin_time", "wip_limit"},
                hint=hint,
                multiline=field in {"status_overrides", "jira_jql", "goals"},
                max_length=2000,
            )
        )
    for field in SETUP_PEOPLE_FIELDS:
        label = prompts.text(f"digest.setup.labels.{field}")
        element: dict[str, Any] = {"type": "multi_users_select", "action_id": "value"}
        people = list(getattr(team, field, []) or []) if team is not None else []
        if people:
            element["initial_users"] = people[:100]
        blocks.append(
            {
                "type": "input",
                "block_id": field,
                "label": plain(label),
                "optional": True,
                "element": element,
            }
        )
    metadata = json.dumps({"team": team.name if team is not None else None})
    return {
        "type": "modal",
        "callback_id": "digest_setup",
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
