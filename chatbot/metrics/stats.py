"""The digest's statistics, exactly as docs/metrics.md defines them (same result on every database,
because they run here over values the database has already filtered)."""

from __future__ import annotations

from collections.abc import Sequence


def median(values: Sequence[float]) -> float | None:
    """The middle value; for an even n the mean of the two middle values; None for n = 0."""
    return percentile_cont(values, 0.5)


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's `percentile_cont`: position 1 + fraction × (n − 1) of the sorted values,
    interpolated linearly between its two neighbours."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    weight = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * weight


def p85(values: Sequence[float]) -> float | None:
    return percentile_cont(values, 0.85)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def rate(part: int, total: int) -> float | None:
    """A share that is None only when there is nothing to count (a real 0 stays 0.0)."""
    return part / total if total else None


def got_worse(current: float | None, previous: float | None, lower_is_better: bool) -> bool:
    """Moved in its bad direction by more than 10 % against the previous week, or rose from 0."""
    if current is None or previous is None:
        return False
    if previous == 0:
        return current > 0 if lower_is_better else False
    change = (current - previous) / abs(previous)
    return change > 0.10 if lower_is_better else change < -0.10


def worse_against(
    current: float | None,
    previous: float | None,
    baseline: float | None,
    lower_is_better: bool,
) -> tuple[str, ...]:
    """What a figure got worse against (docs/metrics.md): "last_week", "baseline", both or neither;
    each by `got_worse` (more than 10 % in its bad direction, or rose from 0)."""
    return tuple(
        name
        for name, other in (("last_week", previous), ("baseline", baseline))
        if got_worse(current, other, lower_is_better)
    )
