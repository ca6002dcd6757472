"""What the digest shows of each metric: its headline field, unit and good direction; its
name as people read it is `digest.metrics.<name>.label` in prompts/digest.toml.

One list shared by the Slack message, the leaders' DM, the chart and the demo, so they all
present the metrics in the same order with the same units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatbot.prompts import Prompts, default_prompts


@dataclass(frozen=True)
class MetricView:
    name: str  # the key in the digest JSON's `metrics`
    headline: str  # the field carrying the headline value
    unit: str  # hours · ratio · count · number
    lower_is_better: bool = True
    is_headline: bool = False  # among the four numbers shown first

    def label_in(self, prompts: Prompts) -> str:
        """The metric's name as the digest shows it (prompts/digest.toml `[metrics.<name>]`)."""
        return prompts.text(f"digest.metrics.{self.name}.label")

    @property
    def label(self) -> str:
        """The name in the project's own prompts."""
        return self.label_in(default_prompts())

    def value(self, metric: dict[str, Any] | None) -> float | None:
        if not metric:
            return None
        value = metric.get(self.headline)
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
    MetricView("cycle_time", "median_hours", "hours", is_headline=True),
    MetricView("review_time", "median_hours", "hours", is_headline=True),
    MetricView("change_failure_rate", "value", "ratio", is_headline=True),
    MetricView("defect_escape_rate", "value", "ratio", is_headline=True),
    MetricView("review_rounds", "median", "number"),
    MetricView("wip", "mean", "number"),
    MetricView("orchestration", "orchestration_share", "ratio", False),
    MetricView("late_intent_churn", "revisions", "count"),
    MetricView("checks_verified_at_done", "value", "ratio", False),
)
BY_NAME = {m.name: m for m in METRICS}
HEADLINES = tuple(m for m in METRICS if m.is_headline)
# Check-in shares are shown in the channel only with this many answers (docs/metrics.md).
MIN_CHECKIN_RESPONSES = 3


def fmt(value: float | None, unit: str, prompts: Prompts) -> str:
    """A value as people read it: 30.5 h, 12%, 1.4, 3 (words from `[units]` in
    prompts/digest.toml)."""
    if value is None:
        return prompts.text("digest.units.none")
    if unit == "hours":
        return _duration(value, prompts)
    if unit == "ratio":
        return prompts.text("digest.units.percent", value=f"{value * 100:.0f}")
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.1f}"


def fmt_change(current: float | None, other: float | None, unit: str, prompts: Prompts) -> str:
    """The change from `other` to `current` with an arrow: ▲ +2.5 h, ▼ −4 pts, = no change."""
    if current is None or other is None:
        return prompts.text("digest.units.none")
    delta = current - other
    if abs(delta) < 1e-9:
        return prompts.text("digest.units.no_change")
    arrow = "▲" if delta > 0 else "▼"
    sign = "+" if delta > 0 else "−"
    size = abs(delta)
    if unit == "ratio":
        return f"{arrow} {sign}" + prompts.text("digest.units.points", value=f"{size * 100:.0f}")
    if unit == "hours":
        return f"{arrow} {sign}{_duration(size, prompts)}"
    if unit == "count":
        return f"{arrow} {sign}{size:.0f}"
    return f"{arrow} {sign}{size:.1f}"


def _duration(hours: float, prompts: Prompts) -> str:
    """Hours, or days from 48 hours on."""
    if abs(hours) >= 48:
        return prompts.text("digest.units.days", value=f"{hours / 24:.1f}")
    return prompts.text("digest.units.hours", value=f"{hours:.1f}")
