"""Every metric's key: its name in the digest JSON's `metrics`, in `--explain`, in goals and
in the digest's views.

The one list of metrics. The engine (`chatbot.metrics.engine.BY_NAME`) and the digest's
catalogue (`chatbot.digest.catalogue.BY_NAME`) are each keyed by it and refuse to load when
a key lacks its entry, so a metric cannot be computed without a way to show it, or shown
without being computed. Kept free of imports: the catalogue is read by quick CLI commands
that never load the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TypeVar


class MetricKey(StrEnum):
    CYCLE_TIME = "cycle_time"
    REVIEW_TIME = "review_time"
    REVIEW_ROUNDS = "review_rounds"
    WIP = "wip"
    DEFECT_ESCAPE_RATE = "defect_escape_rate"
    CHANGE_FAILURE_RATE = "change_failure_rate"
    ORCHESTRATION = "orchestration"
    LATE_INTENT_CHURN = "late_intent_churn"
    CHECKS_VERIFIED_AT_DONE = "checks_verified_at_done"
    AI_SHARE = "ai_share"
    AI_VS_OTHER = "ai_vs_other"
    UNREVIEWED_AI = "unreviewed_ai"
    AI_CHANGE_FAILURE = "ai_change_failure"


class IncompleteRegistry(LookupError):
    """A registry keyed by `MetricKey` lacks a key, or holds one twice."""


Entry = TypeVar("Entry")


def by_key(entries: Iterable[Entry], what: str) -> dict[MetricKey, Entry]:
    """`entries` by their `name`, which must be every `MetricKey` exactly once."""
    found: dict[MetricKey, Entry] = {}
    for entry in entries:
        key = MetricKey(entry.name)  # type: ignore[attr-defined]
        if key in found:
            raise IncompleteRegistry(f"{what}: {key} is there twice")
        found[key] = entry
    missing = [key.value for key in MetricKey if key not in found]
    if missing:
        raise IncompleteRegistry(f"{what}: no entry for {', '.join(missing)}")
    return found
