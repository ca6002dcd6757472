"""The digest's AI-assisted work section, its goals and the paired-signal line, in Block Kit.

Pure functions of the digest JSON (docs/ai-signals.md, 6.7) and the prompts, like the rest of the
digest's blocks. The AI share is neutral: it is shown with its change, never as "worse". The
split of AI-assisted and other PRs is shown only when both sides have at least
`MIN_SIDE` merged PRs; with fewer, the medians say more about one PR than about the team.
"""

from __future__ import annotations

from typing import Any

from chatbot.digest.catalogue import BY_NAME, fmt, fmt_change
from chatbot.github.ai_signals import SIGNAL_KINDS
from chatbot.metrics.keys import MetricKey
from chatbot.prompts import Prompts
from chatbot.slack.blocks import Block, section
from chatbot.slack.text import truncate

MIN_SIDE = 5
SECTION_MAX = 2900


def _metric(digest: dict[str, Any], name: str) -> dict[str, Any]:
    found = (digest.get("metrics") or {}).get(name)
    return found if isinstance(found, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def split_shown(digest: dict[str, Any]) -> bool:
    """Both sides have at least `MIN_SIDE` merged PRs this week."""
    share = _metric(digest, MetricKey.AI_SHARE)
    ai, total = int(share.get("ai") or 0), int(share.get("total") or 0)
    return ai >= MIN_SIDE and total - ai >= MIN_SIDE


def _split_lines(digest: dict[str, Any], prompts: Prompts) -> list[str]:
    share = _metric(digest, MetricKey.AI_SHARE)
    ai, total = int(share.get("ai") or 0), int(share.get("total") or 0)
    if not split_shown(digest):
        return [prompts.text("ai.section.too_few", ai=ai, other=total - ai)]
    split = _metric(digest, MetricKey.AI_VS_OTHER)
    lines = [prompts.text("ai.section.split_title")]
    for side in ("ai", "other"):
        figures = split.get(side) or {}
        lines.append(
            prompts.text(
                "ai.section.split_line",
                side=prompts.text(f"ai.section.side_{side}"),
                review=fmt(_number(figures.get("review_time_median_hours")), "hours", prompts),
                review_n=figures.get("review_n", 0),
                rounds=fmt(_number(figures.get("review_rounds_mean")), "number", prompts),
                rounds_n=figures.get("rounds_n", 0),
                cycle=fmt(_number(figures.get("cycle_time_median_hours")), "days", prompts),
                cycle_n=figures.get("cycle_n", 0),
                size=fmt(_number(figures.get("pr_size_median_lines")), "count", prompts),
            )
        )
    return lines


def ai_section_blocks(digest: dict[str, Any], prompts: Prompts) -> list[Block]:
    """The channel's short "AI-assisted work" section; nothing when the digest has no AI
    figures (a digest stored before they existed)."""
    share = _metric(digest, MetricKey.AI_SHARE)
    if not share:
        return []
    lines = [prompts.text("ai.section.title")]
    total = int(share.get("total") or 0)
    if total == 0:
        lines.append(prompts.text("ai.section.no_prs"))
        return [section(truncate("\n".join(lines), SECTION_MAX), block_id="digest_ai")]
    value = _number(share.get("value"))
    lines.append(
        prompts.text(
            "ai.section.share",
            value=fmt(value, "ratio", prompts),
            total=total,
            ai=share.get("ai", 0),
            change=fmt_change(value, _number(share.get("previous")), "ratio", prompts),
        )
    )
    names = prompts.get("ai.section.signal_names")
    found = share.get("signals") or {}
    kinds = [f"{names[k]} {found[k]}" for k in SIGNAL_KINDS if found.get(k)]
    if kinds:
        lines.append(prompts.text("ai.section.signals", signals=", ".join(kinds)))
    lines += _split_lines(digest, prompts)
    unreviewed = int(_metric(digest, MetricKey.UNREVIEWED_AI).get("count") or 0)
    if unreviewed:
        lines.append(prompts.text("ai.section.unreviewed", count=unreviewed))
    elif share.get("ai"):
        lines.append(prompts.text("ai.section.unreviewed_none"))
    failure = _metric(digest, MetricKey.AI_CHANGE_FAILURE)
    ai_side, other_side = failure.get("ai") or {}, failure.get("other") or {}
    if ai_side.get("total") or other_side.get("total"):
        lines.append(
            prompts.text(
                "ai.section.failure",
                ai=fmt(_number(ai_side.get("value")), "ratio", prompts),
                ai_failed=ai_side.get("failed", 0),
                ai_total=ai_side.get("total", 0),
                other=fmt(_number(other_side.get("value")), "ratio", prompts),
                other_failed=other_side.get("failed", 0),
                other_total=other_side.get("total", 0),
            )
        )
    return [section(truncate("\n".join(lines), SECTION_MAX), block_id="digest_ai")]


def leader_ai_line(digest: dict[str, Any], prompts: Prompts) -> list[Block]:
    """The leaders' DM: the AI share and the unreviewed count in one line."""
    share = _metric(digest, MetricKey.AI_SHARE)
    if not share or not share.get("total"):
        return []
    text = prompts.text(
        "ai.section.leader",
        share=fmt(_number(share.get("value")), "ratio", prompts),
        unreviewed=int(_metric(digest, MetricKey.UNREVIEWED_AI).get("count") or 0),
    )
    return [section(text)]


def _unit(metric: str) -> str:
    view = BY_NAME.get(metric)  # type: ignore[call-overload]
    # A name no metric has any more (a digest stored long ago) is shown as a plain number.
    return view.unit if view is not None else "number"


def _label(metric: str, prompts: Prompts) -> str:
    view = BY_NAME.get(metric)  # type: ignore[call-overload]
    return view.label_in(prompts) if view is not None else metric.replace("_", " ")


def goals_blocks(digest: dict[str, Any], prompts: Prompts) -> list[Block]:
    """Each goal as baseline → this week → goal and the share of the way done."""
    goals = digest.get("goals") or {}
    if not goals:
        return []
    lines = [prompts.text("ai.goals.title")]
    for metric, goal in goals.items():
        unit = _unit(metric)
        progress = _number(goal.get("progress"))
        lines.append(
            prompts.text(
                "ai.goals.line",
                metric=_label(metric, prompts),
                baseline=fmt(_number(goal.get("baseline")), unit, prompts),
                now=fmt(_number(goal.get("now")), unit, prompts),
                goal=fmt(_number(goal.get("goal")), unit, prompts),
                progress=(
                    prompts.text("ai.goals.no_progress")
                    if progress is None
                    else prompts.text("digest.units.percent", value=f"{progress * 100:.0f}")
                ),
            )
        )
    return [section(truncate("\n".join(lines), SECTION_MAX), block_id="digest_goals")]


def paired_signal_blocks(digest: dict[str, Any], prompts: Prompts) -> list[Block]:
    """The digest's first line when speed came at the cost of quality (docs/metrics.md)."""
    paired = digest.get("paired_signal")
    if not isinstance(paired, dict):
        return []
    speed, quality = paired.get("speed") or {}, paired.get("quality") or {}
    text = prompts.text(
        "ai.paired.line",
        speed_now=fmt(_number(speed.get("now")), "days", prompts),
        speed_baseline=fmt(_number(speed.get("baseline")), "days", prompts),
        quality=_label(str(quality.get("metric", "")), prompts).lower(),
        quality_now=fmt(_number(quality.get("now")), "ratio", prompts),
        quality_baseline=fmt(_number(quality.get("baseline")), "ratio", prompts),
    )
    return [section(text, block_id="digest_paired")]


def pr_size_line(metric: dict[str, Any], prompts: Prompts) -> str:
    """Review time's companion figure: the median size of the week's merged PRs and its
    change, so "are diffs too large?" can be answered from the digest."""
    size = _number(metric.get("pr_size_median_lines"))
    if size is None:
        return ""
    trend = metric.get("pr_size_median_lines_trend") or []
    previous = _number(trend[-2]) if len(trend) >= 2 else None
    return prompts.text(
        "ai.section.pr_size",
        size=fmt(size, "count", prompts),
        change=fmt_change(size, previous, "count", prompts),
        n=metric.get("pr_size_n", 0),
    )
