"""The weekly digest in Block Kit: the channel message, the leaders' DM, the "Show the work"
modal and the App Home section (the Friday check-in is in `checkin`, the team settings form
in `team_setup`).

Pure functions of the digest JSON (docs/metrics.md) and the prompts, so a posted digest can be
rendered again exactly as it was. The channel message names nobody (docs/metrics.md): WIP over the
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
from chatbot.metrics import stats
from chatbot.prompts import Prompts
from chatbot.slack.blocks import Block, actions, button, context, divider, header, plain, section
from chatbot.slack.blocks.ai import (
    ai_section_blocks,
    goals_blocks,
    leader_ai_line,
    paired_signal_blocks,
    pr_size_line,
)
from chatbot.slack.ids import DigestId
from chatbot.slack.text import escape, truncate

HINT_MAX = 700
WARNING_MAX = 400
SECTION_MAX = 2900
EXPLAIN_PAGE_ITEMS = 30
EXPLAIN_LINE_MAX = 400
NAMES_MAX = 2500


# --- reading the digest -------------------------------------------------------------------


def _metric(digest: dict[str, Any], name: str) -> dict[str, Any] | None:
    found = (digest.get("metrics") or {}).get(name)
    return found if isinstance(found, dict) else None


def checkin_hidden(metric: dict[str, Any] | None) -> bool:
    """Check-in shares stay out of the channel below three answers."""
    return int((metric or {}).get("responses") or 0) < MIN_CHECKIN_RESPONSES


def worse_against(view: MetricView, metric: dict[str, Any] | None) -> tuple[str, ...]:
    """What the metric got worse against: "last_week", "baseline" (docs/metrics.md), or nothing."""
    if metric is None or (view.name == "orchestration" and checkin_hidden(metric)):
        return ()
    return stats.worse_against(
        view.value(metric),
        _number(metric, "previous"),
        _number(metric, "baseline"),
        view.lower_is_better,
    )


def worsened(view: MetricView, metric: dict[str, Any] | None) -> bool:
    return bool(worse_against(view, metric))


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
        extra = detail("p85", value=fmt(p85, view.unit, prompts)) if p85 is not None else ""
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
        fmt_change(current, other, view.unit, prompts, view.lower_is_better)
        for other in (previous, baseline)
    )
    parts = [
        f"{last_week} {prompts.text('digest.digest.vs_last_week')}",
        f"{since_baseline} {prompts.text('digest.digest.vs_baseline')}",
        prompts.text("digest.digest.sample", n=n if n is not None else 0),
    ]
    return " · ".join(parts)


def worse_reason(against: Sequence[str], prompts: Prompts) -> str:
    """Which comparison made the figure worse: last week, the baseline or both."""
    return prompts.text(f"digest.digest.worse_vs_{'_and_'.join(against)}")


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
    against = worse_against(view, metric)
    if against:
        hint = hint_for(view, prompts)
        if hint:
            title = prompts.text("digest.digest.what_to_check")
            why = worse_reason(against, prompts)
            lines.append(f":warning: _{title} ({why}):_ {hint}")
    return truncate("\n".join(lines), SECTION_MAX)


def _headline_field(
    view: MetricView, metric: dict[str, Any] | None, prompts: Prompts
) -> dict[str, Any]:
    value = fmt(view.value(metric), view.unit, prompts)
    previous = _number(metric or {}, "previous")
    change = fmt_change(view.value(metric), previous, view.unit, prompts, view.lower_is_better)
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
    return button(prompts.text("digest.digest.show_work"), f"{DigestId.EXPLAIN}{view.name}", value)


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
        *_partial(digest, prompts),
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


def _partial(digest: dict[str, Any], prompts: Prompts) -> list[Block]:
    """A week not over yet says so (its figures will still change)."""
    if not digest.get("partial"):
        return []
    return [context(prompts.text("digest.digest.partial", week=str(digest.get("week", ""))))]


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
        *_partial(digest, prompts),
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
                    view.value(metric),
                    _number(metric, "previous"),
                    view.unit,
                    prompts,
                    view.lower_is_better,
                )
                hint = truncate(hint_for(view, prompts), 300)
                value = fmt(view.value(metric), view.unit, prompts)
                why = worse_reason(worse_against(view, metric), prompts)
                label = view.label_in(prompts)
                lines.append(f"• *{label}* {value} ({change}; {why}): {hint}")
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
                    prompts.text("digest.explain.previous"), DigestId.EXPLAIN_PAGE, str(page - 1)
                )
            )
        if page < pages:
            buttons.append(
                button(prompts.text("digest.explain.next"), DigestId.EXPLAIN_PAGE, str(page + 1))
            )
        blocks.append(actions(*buttons, block_id="explain_pages"))
    metadata = json.dumps({"team": team, "week": week, "metric": metric, "page": page})
    return {
        "type": "modal",
        "callback_id": DigestId.EXPLAIN_MODAL,
        "title": plain(prompts.text("digest.explain.title")[:24]),
        "close": plain(prompts.text("digest.explain.close")),
        "private_metadata": metadata,
        "blocks": blocks,
    }


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
