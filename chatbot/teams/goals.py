"""A team's goals as settings: how one is typed, stored and described.

A goal is stored per metric as `{"relative": -0.4}` (a signed fraction of the baseline) or
`{"absolute": 8.0}` (in the metric's JSON unit: hours, a fraction, a count). Typed, it is
`cycle_time=-40%`, `review_time=8h`, `cycle_time=2d`, `change_failure_rate=10%`: a signed
percentage is relative to the baseline, anything else an absolute value in the metric's unit.
The arithmetic over the digest's figures is `chatbot.metrics.goals`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.metric_keys import MetricKey

# The metrics a goal may name, with the unit their goal is typed in. The AI share has none:
# it is neutral (docs/metrics.md), so there is no better direction to aim at.
HOURS = "hours"
RATIO = "ratio"
NUMBER = "number"
GOAL_UNITS: dict[MetricKey, str] = {
    MetricKey.CYCLE_TIME: HOURS,
    MetricKey.REVIEW_TIME: HOURS,
    MetricKey.REVIEW_ROUNDS: NUMBER,
    MetricKey.WIP: NUMBER,
    MetricKey.DEFECT_ESCAPE_RATE: RATIO,
    MetricKey.CHANGE_FAILURE_RATE: RATIO,
    MetricKey.ORCHESTRATION: RATIO,
    MetricKey.LATE_INTENT_CHURN: NUMBER,
    MetricKey.CHECKS_VERIFIED_AT_DONE: RATIO,
    MetricKey.UNREVIEWED_AI: NUMBER,
    MetricKey.AI_CHANGE_FAILURE: RATIO,
}

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
    metric: MetricKey
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
    typed_metric = match["metric"]
    if typed_metric not in GOAL_UNITS:
        raise GoalError(
            "teams.errors.goal_metric", metric=typed_metric, valid=", ".join(GOAL_UNITS)
        )
    metric = MetricKey(typed_metric)
    unit = GOAL_UNITS[metric]
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
