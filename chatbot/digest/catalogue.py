"""What the digest shows of each metric: its headline field, unit and good direction; its
name as people read it is `digest.metrics.<name>.label` in prompts/digest.toml.

One view per `chatbot.metrics.keys.MetricKey` (checked as this module loads, so a metric the
engine computes cannot lack its view), shared by the Slack message, the leaders' DM, the
chart, the CLI's table and the demo, so they all present the metrics in the same order with
the same units. `METRICS` are the metrics section's, in its order; `AI_METRICS` the
"AI-assisted work" section's (`chatbot.slack.blocks.ai`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatbot.metrics.goals import headline_value
from chatbot.metrics.keys import MetricKey, by_key
from chatbot.prompts import Prompts, default_prompts


@dataclass(frozen=True)
class MetricView:
    name: MetricKey  # the key in the digest JSON's `metrics`
    # The field carrying the headline value (a dotted path reaches into a side: `ai.value`);
    # None for a comparison with no headline (AI vs other), as the engine's metric says.
    headline: str | None
    # days · hours · ratio · count · number (docs/metrics.md: one unit per metric everywhere);
    # AI vs other shows each side's figures in their own metrics' units.
    unit: str
    lower_is_better: bool = True
    is_headline: bool = False  # among the four numbers shown first
    # Shown with its change but never called better or worse (the AI share, docs/metrics.md).
    neutral: bool = False

    @property
    def better_direction(self) -> bool | None:
        """`lower_is_better` for `fmt_change`, or None for a neutral metric (no judgement)."""
        return None if self.neutral else self.lower_is_better

    def label_in(self, prompts: Prompts) -> str:
        """The metric's name as the digest shows it (prompts/digest.toml `[metrics.<name>]`)."""
        return prompts.text(f"digest.metrics.{self.name}.label")

    @property
    def label(self) -> str:
        """The name in the project's own prompts."""
        return self.label_in(default_prompts())

    def value(self, metric: dict[str, Any] | None) -> float | None:
        if not metric or self.headline is None:
            return None
        value = headline_value(metric, self.headline)
        return float(value) if isinstance(value, int | float) else None

    def sample(self, metric: dict[str, Any] | None) -> int | None:
        """`n` of the figure (a rate's `total`, the check-in's `responses`)."""
        if not metric:
            return None
        for key in ("n", "total", "responses", "done"):
            if isinstance(metric.get(key), int):
                return int(metric[key])
        return None


METRICS: tuple[MetricView, ...] = (
    MetricView(MetricKey.CYCLE_TIME, "median_hours", "days", is_headline=True),
    MetricView(MetricKey.REVIEW_TIME, "median_hours", "hours", is_headline=True),
    MetricView(MetricKey.CHANGE_FAILURE_RATE, "value", "ratio", is_headline=True),
    MetricView(MetricKey.DEFECT_ESCAPE_RATE, "value", "ratio", is_headline=True),
    MetricView(MetricKey.REVIEW_ROUNDS, "median", "number"),
    MetricView(MetricKey.WIP, "mean", "number"),
    MetricView(MetricKey.ORCHESTRATION, "orchestration_share", "ratio", False),
    MetricView(MetricKey.LATE_INTENT_CHURN, "revisions", "count"),
    MetricView(MetricKey.CHECKS_VERIFIED_AT_DONE, "value", "ratio", False),
)
AI_METRICS: tuple[MetricView, ...] = (
    MetricView(MetricKey.AI_SHARE, "value", "ratio", False, neutral=True),
    MetricView(MetricKey.AI_VS_OTHER, None, "number", neutral=True),
    MetricView(MetricKey.UNREVIEWED_AI, "count", "count"),
    MetricView(MetricKey.AI_CHANGE_FAILURE, "ai.value", "ratio"),
)
BY_NAME: dict[MetricKey, MetricView] = by_key((*METRICS, *AI_METRICS), "the digest's catalogue")
HEADLINES = tuple(m for m in METRICS if m.is_headline)
# Check-in shares are shown in the channel only with this many answers (docs/metrics.md).
MIN_CHECKIN_RESPONSES = 3


def fmt(value: float | None, unit: str, prompts: Prompts) -> str:
    """A value as people read it in its metric's unit: 2.4 d, 5.2 h, 12%, 1.4, 3 (words from
    `[units]` in prompts/digest.toml). Durations arrive in hours, shares as fractions."""
    if value is None:
        return prompts.text("digest.units.none")
    if unit == "days":
        return prompts.text("digest.units.days", value=f"{value / 24:.1f}")
    if unit == "hours":
        return prompts.text("digest.units.hours", value=f"{value:.1f}")
    if unit == "ratio":
        return prompts.text("digest.units.percent", value=f"{value * 100:.0f}")
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.1f}"


def fmt_change(
    current: float | None,
    other: float | None,
    unit: str,
    prompts: Prompts,
    lower_is_better: bool | None = None,
) -> str:
    """The change from `other` to `current` in the metric's unit, with an arrow for its
    direction and, given `lower_is_better`, a word for its meaning: ▲ +0.5 d worse,
    ▼ −4 pts better, = no change. Shares change in percentage points."""
    if current is None or other is None:
        return prompts.text("digest.units.none")
    delta = current - other
    if abs(delta) < 1e-9:
        return prompts.text("digest.units.no_change")
    arrow = "▲" if delta > 0 else "▼"
    sign = "+" if delta > 0 else "−"
    size = abs(delta)
    if unit == "ratio":
        amount = prompts.text("digest.units.points", value=f"{size * 100:.0f}")
    elif unit in ("days", "hours"):
        amount = fmt(size, unit, prompts)
    elif unit == "count":
        amount = f"{size:.0f}"
    else:
        amount = f"{size:.1f}"
    text = f"{arrow} {sign}{amount}"
    if lower_is_better is None:
        return text
    better = (delta < 0) == lower_is_better
    return f"{text} {prompts.text('digest.units.better' if better else 'digest.units.worse')}"


def scaled(value: float, unit: str) -> float:
    """A headline value in the unit its metric is shown in (the chart's axis)."""
    if unit == "days":
        return value / 24
    if unit == "ratio":
        return value * 100
    return value
