"""Goals and the paired signal (docs/metrics.md): pure arithmetic over the digest's metric
figures. How a goal is typed and stored is `chatbot.teams.goals`."""

from __future__ import annotations

from typing import Any

from chatbot.teams.goals import describe_goal

# Relative change above which the paired signal calls a move real (as "got worse", 6.2).
PAIRED_THRESHOLD = 0.10
PAIRED_MIN_N = 5


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
    """Speed at the cost of quality (docs/metrics.md): cycle time better than its baseline by more
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
