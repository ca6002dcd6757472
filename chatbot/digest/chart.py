"""The digest's 8-week trend chart: one small panel per headline metric, two columns, large
type, so it stays readable on a phone. Rendered with the Agg backend (no display needed)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chatbot.digest.catalogue import BY_NAME, HEADLINES, MetricView, fmt, scaled
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.stats import worse_against
from chatbot.metrics.week import Week, WeekError
from chatbot.prompts import Prompts, default_prompts

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 9.0, 110
_LINE, _REFERENCE = "#1d3557", "#6c757d"
WORSE_COLOUR, GOOD_COLOUR = "#d62828", "#2a9d8f"
SMALL_SAMPLE = 5  # fewer items than this in a week: its point is drawn hollow


def trend_in_unit(view: MetricView, metric: dict[str, Any]) -> list[float]:
    """The 8 trend values in the metric's unit (days, hours, %), NaN where there is none."""
    values = list(metric.get("trend") or [])[-8:]
    values = [None] * (8 - len(values)) + values
    return [scaled(v, view.unit) if isinstance(v, int | float) else math.nan for v in values]


def small_sample_weeks(metric: dict[str, Any]) -> list[bool]:
    """Which of the 8 weeks rest on fewer than `SMALL_SAMPLE` items (a known n only)."""
    sizes = list(metric.get("trend_n") or [])[-8:]
    sizes = [None] * (8 - len(sizes)) + sizes
    return [isinstance(n, int) and n < SMALL_SAMPLE for n in sizes]


def _number(metric: dict[str, Any], key: str) -> float | None:
    value = metric.get(key)
    return float(value) if isinstance(value, int | float) else None


def current_point_colour(view: MetricView, metric: dict[str, Any]) -> str:
    """Red when the figure got worse against last week or the baseline (docs/metrics.md), green
    otherwise: the colour says good or bad, whichever way the line points."""
    worse = worse_against(
        view.value(metric),
        _number(metric, "previous"),
        _number(metric, "baseline"),
        view.lower_is_better,
    )
    return WORSE_COLOUR if worse else GOOD_COLOUR


def _week_labels(digest: dict[str, Any], prompts: Prompts) -> list[str]:
    try:
        week = Week.parse(str(digest.get("week", "")), "UTC")
    except WeekError:
        return [f"-{k}" for k in range(7, 0, -1)] + [prompts.text("digest.chart.now")]
    return [f"W{w.number:02d}" for w in week.trend(8)]


def chart_alt_text(digest: dict[str, Any], prompts: Prompts | None = None) -> str:
    """What the chart shows, in words: first and last known value of each panel (worded by
    `prompts`, or the project's own prompts)."""
    prompts = prompts or default_prompts()
    parts = []
    for view in HEADLINES:
        metric = (digest.get("metrics") or {}).get(view.name) or {}
        known = [v for v in metric.get("trend") or [] if isinstance(v, int | float)]
        if known:
            first, last = (
                fmt(float(known[0]), view.unit, prompts),
                fmt(float(known[-1]), view.unit, prompts),
            )
            parts.append(
                prompts.text(
                    "digest.chart.alt_metric",
                    metric=view.label_in(prompts).lower(),
                    first=first,
                    last=last,
                )
            )
        else:
            parts.append(
                prompts.text("digest.chart.alt_no_data", metric=view.label_in(prompts).lower())
            )
    shares = [v for v in ai_share_trend(digest) if not math.isnan(v)]
    if shares:
        parts.append(
            prompts.text(
                "digest.chart.alt_metric",
                metric=BY_NAME[MetricKey.AI_SHARE].label_in(prompts),
                first=fmt(shares[0] / 100, "ratio", prompts),
                last=fmt(shares[-1] / 100, "ratio", prompts),
            )
        )
    return prompts.text(
        "digest.chart.alt",
        team=digest.get("team", ""),
        week=digest.get("week", ""),
        metrics="; ".join(parts),
    )


def chart_title(digest: dict[str, Any], prompts: Prompts) -> str:
    """Team, week and span; a week not over yet says it is partial."""
    key = "digest.chart.partial" if digest.get("partial") else "digest.chart.title"
    return prompts.text(key, team=digest.get("team", ""), week=digest.get("week", ""))


def render_chart(
    digest: dict[str, Any],
    prompts: Prompts | None = None,
    goals: Mapping[str, float] | None = None,
) -> bytes:
    """The PNG bytes of the 2×2 trend chart and the AI share under it (worded by `prompts`,
    or the project's own).
    `goals` are target values by metric name, in the headline's own terms (hours, fractions),
    drawn where set."""
    prompts = prompts or default_prompts()
    if goals is None:  # the team's goals as the digest states them
        goals = {
            name: float(goal["goal"])
            for name, goal in (digest.get("goals") or {}).items()
            if isinstance(goal, dict) and isinstance(goal.get("goal"), int | float)
        }
    # Fixed margins: a layout engine would double the drawing time.
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    figure.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.05, hspace=0.5, wspace=0.25)
    FigureCanvasAgg(figure)
    labels = _week_labels(digest, prompts)
    grid = figure.add_gridspec(3, 2, height_ratios=(1, 1, 0.7))
    axes = [figure.add_subplot(grid[row, col]) for row in (0, 1) for col in (0, 1)]
    _ai_share_bars(figure.add_subplot(grid[2, :]), digest, labels, prompts)
    for ax, view in zip(axes, HEADLINES, strict=True):
        metric = (digest.get("metrics") or {}).get(view.name) or {}
        values = trend_in_unit(view, metric)
        x = list(range(len(values)))
        ax.plot(x, values, color=_LINE, linewidth=2.5, marker="o", markersize=6)
        # Weeks with few items: hollow points, so a jump on two PRs reads as such.
        small = [i for i, few in enumerate(small_sample_weeks(metric)) if few]
        if small:
            ax.plot(
                [x[i] for i in small],
                [values[i] for i in small],
                linestyle="none",
                marker="o",
                markersize=8,
                markerfacecolor="white",
                markeredgecolor=_LINE,
                markeredgewidth=2,
                label=prompts.text("digest.chart.small_sample"),
            )
        last = values[-1]
        if not math.isnan(last):
            ax.plot(
                [x[-1]], [last], marker="o", markersize=11, color=current_point_colour(view, metric)
            )
        baseline = _number(metric, "baseline")
        if baseline is not None:
            ax.axhline(
                scaled(baseline, view.unit),
                color=_REFERENCE,
                linestyle="--",
                linewidth=1.5,
                label=prompts.text("digest.chart.baseline"),
            )
        goal = goals.get(view.name)
        if goal is not None:
            ax.axhline(
                scaled(goal, view.unit),
                color=GOOD_COLOUR,
                linestyle=":",
                linewidth=2,
                label=prompts.text("digest.chart.goal"),
            )
        unit = prompts.text(f"digest.chart.axis.{view.unit}")
        title = f"{view.label_in(prompts)}: {fmt(view.value(metric), view.unit, prompts)}"
        ax.set_title(title, fontsize=16, fontweight="bold", loc="left")
        ax.set_ylabel(unit, fontsize=12)
        ax.set_xticks(x, labels, fontsize=9)
        ax.tick_params(axis="y", labelsize=12)
        ax.grid(axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        if all(math.isnan(v) for v in values):
            ax.text(
                0.5,
                0.5,
                prompts.text("digest.chart.no_data"),
                ha="center",
                va="center",
                fontsize=14,
                transform=ax.transAxes,
                color="#888888",
            )
            ax.set_yticks([])
        else:
            ax.set_ylim(bottom=0)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=9, frameon=False)
    figure.suptitle(chart_title(digest, prompts), fontsize=15, y=0.98)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def ai_share_trend(digest: dict[str, Any]) -> list[float]:
    """The AI share of the 8 weeks in percent (NaN where no PR merged)."""
    metric = (digest.get("metrics") or {}).get("ai_share") or {}
    values = list(metric.get("trend") or [])[-8:]
    values = [None] * (8 - len(values)) + values
    return [v * 100 if isinstance(v, int | float) else math.nan for v in values]


def _ai_share_bars(ax: Any, digest: dict[str, Any], labels: list[str], prompts: Prompts) -> None:
    """AI share as bars under the headline panels: neutral, so one colour and no warning."""
    values = ai_share_trend(digest)
    x = list(range(len(values)))
    ax.bar(x, [0 if math.isnan(v) else v for v in values], color="#8d99ae", width=0.6)
    metric = (digest.get("metrics") or {}).get("ai_share") or {}
    value = metric.get("value")
    shown = fmt(float(value) if isinstance(value, int | float) else None, "ratio", prompts)
    ax.set_title(
        prompts.text("digest.chart.ai_share", value=shown),
        fontsize=14,
        fontweight="bold",
        loc="left",
    )
    ax.set_ylim(0, 100)
    ax.set_ylabel(prompts.text("digest.chart.axis.ratio"), fontsize=12)
    ax.set_xticks(x, labels, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
