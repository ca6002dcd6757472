"""Goals and the paired signal (spec 6.7): pure arithmetic over the digest's metric figures.

A goal is stored per metric as `{"relative": -0.4}` (a signed fraction of the baseline) or
`{"absolute": 8.0}` (in the metric's JSON unit: hours, a fraction, a count). Typed, it is
`cycle_time=-40%`, `review_time=8h`, `cycle_time=2d`, `change_failure_rate=10%`: a signed
percentage is relative to the baseline, anything else an absolute value in the metric's unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# The metrics a goal may name, with the unit their goal is typed in. The AI share has none:
# it is neutral (spec 6.2), so there is no better direction to aim at.
HOURS = "hours"
RATIO = "ratio"
NUMBER = "number"
GOAL_UNITS: dict[str, str] = {
    "cycle_time": HOURS,
    "review_time": HOURS,
    "review_rounds": NUMBER,
    "wip": NUMBER,
    "defect_escape_rate": RATIO,
    "change_failure_rate": RATIO,
    "orchestration": RATIO,
    "late_intent_churn": NUMBER,
    "checks_verified_at_done": RATIO,
    "unreviewed_ai": NUMBER,
    "ai_change_failure": RATIO,
}
# Relative change above which the paired signal calls a move real (as "got worse", 6.2).
PAIRED_THRESHOLD = 0.10
PAIRED_MIN_N = 5

_GOAL = re.compile(
    r"^\s*(?P<metric>[a-z_]+)\s*=\s*(?P<sign>[-+−])?\s*(?P<number>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>%|h|d)?\s*$"
)


class GoalError(ValueError):
    """A goal that cannot be read; `key` names the prompt that says what to type."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Goal:
    metric: str
    relative: float | None = None  # a signed fraction of the baseline
    absolute: float | None = None  # in the metric's JSON unit

    def as_setting(self) -> dict[str, float]:
        if self.relative is not None:
            return {"relative": self.relative}
        assert self.absolute is not None
        return {"absolute": self.absolute}


def parse_goal(text: str) -> Goal:
    """`cycle_time=-40%` · `review_time=8h` · `cycle_time=2d` · `change_failure_rate=10%`."""
    match = _GOAL.match(text.lower().replace(" ", ""))
    if match is None:
        raise GoalError("teams.errors.bad_goal", value=text)
    metric = match["metric"]
    unit = GOAL_UNITS.get(metric)
    if unit is None:
        raise GoalError("teams.errors.goal_metric", metric=metric, valid=", ".join(GOAL_UNITS))
    number = float(match["number"])
    signed = match["sign"] is not None
    negative = match["sign"] in ("-", "−")
    typed = match["unit"]
    if typed == "%" and signed:
        return Goal(metric, relative=round((-number if negative else number) / 100, 6))
    if signed:
        raise GoalError("teams.errors.goal_signed", metric=metric)
    if unit == HOURS:
        if typed not in ("h", "d"):
            raise GoalError("teams.errors.goal_hours", metric=metric)
        return Goal(metric, absolute=number * 24 if typed == "d" else number)
    if unit == RATIO:
        if typed != "%" or number > 100:
            raise GoalError("teams.errors.goal_percent", metric=metric)
        return Goal(metric, absolute=round(number / 100, 6))
    if typed is not None:
        raise GoalError("teams.errors.goal_number", metric=metric)
    return Goal(metric, absolute=number)


def describe_goal(metric: str, setting: dict[str, float]) -> str:
    """A stored goal as it is typed back: `cycle_time=-40%`, `review_time=8h`."""
    if "relative" in setting:
        value = setting["relative"] * 100
        return f"{metric}={'+' if value > 0 else '-'}{abs(value):g}%"
    value = setting["absolute"]
    unit = GOAL_UNITS.get(metric, NUMBER)
    if unit == HOURS:
        return f"{metric}={value:g}h"
    if unit == RATIO:
        return f"{metric}={value * 100:g}%"
    return f"{metric}={value:g}"


def goal_value(setting: dict[str, float], baseline: float | None) -> float | None:
    """The goal in the metric's unit: a relative goal needs the baseline."""
    if "relative" in setting:
        return None if baseline is None else baseline * (1 + setting["relative"])
    return setting.get("absolute")


def progress(baseline: float | None, now: float | None, goal: float | None) -> float | None:
    """Share of the way done = (baseline − now) ÷ (baseline − goal), clamped to 0–1; None
    ("—") when the baseline or the goal is unknown, the baseline equals the goal, or there
    is no figure this week."""
    if baseline is None or goal is None or now is None or baseline == goal:
        return None
    return min(1.0, max(0.0, (baseline - now) / (baseline - goal)))


def goal_progress(
    metrics: dict[str, dict[str, Any]], headlines: dict[str, str], goals: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each goal as baseline → now → goal with the share of the way, for the digest JSON.
    `headlines` maps a metric to its headline field."""
    shown: dict[str, dict[str, Any]] = {}
    for metric in sorted(goals):
        figure = metrics.get(metric)
        setting = goals[metric]
        if figure is None or metric not in headlines or not isinstance(setting, dict):
            continue
        baseline = _number(figure.get("baseline"))
        now = _number(headline_value(figure, headlines[metric]))
        goal = goal_value(setting, baseline)
        share = progress(baseline, now, goal)
        shown[metric] = {
            "target": describe_goal(metric, setting),
            "baseline": baseline,
            "now": now,
            "goal": None if goal is None else round(goal, 4),
            "progress": None if share is None else round(share, 4),
        }
    return shown


def headline_value(fields: dict[str, Any], headline: str) -> Any:
    """A figure's headline field; a dotted path reaches into a side (`ai.value`)."""
    value: Any = fields
    for part in headline.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _worse(now: float, baseline: float) -> bool:
    if baseline == 0:
        return now > 0
    return (now - baseline) / abs(baseline) > PAIRED_THRESHOLD


def paired_signal(metrics: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Speed at the cost of quality (spec 6.7): cycle time better than its baseline by more
    than 10 % while the defect escape or change failure rate is worse than its baseline by
    more than 10 % (or rose from 0); each figure non-null with n ≥ 5 this week. None when
    it does not hold."""
    speed = metrics.get("cycle_time") or {}
    now, baseline = _number(speed.get("median_hours")), _number(speed.get("baseline"))
    if now is None or baseline is None or (speed.get("n") or 0) < PAIRED_MIN_N:
        return None
    if not now < baseline * (1 - PAIRED_THRESHOLD):
        return None
    for name in ("change_failure_rate", "defect_escape_rate"):
        quality = metrics.get(name) or {}
        value, base = _number(quality.get("value")), _number(quality.get("baseline"))
        if value is None or base is None or (quality.get("total") or 0) < PAIRED_MIN_N:
            continue
        if _worse(value, base):
            return {
                "speed": {"metric": "cycle_time", "now": now, "baseline": baseline},
                "quality": {"metric": name, "now": value, "baseline": base},
            }
    return None
