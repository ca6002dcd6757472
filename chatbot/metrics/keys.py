"""Registries keyed by every metric (`MetricKey`, defined in `chatbot.metric_keys`).

The engine (`chatbot.metrics.engine.BY_NAME`) and the digest's
catalogue (`chatbot.digest.catalogue.BY_NAME`) are each keyed by it and refuse to load when
a key lacks its entry, so a metric cannot be computed without a way to show it, or shown
without being computed. Kept free of heavy imports: the catalogue is read by quick CLI
commands that never load the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from chatbot.metric_keys import MetricKey

__all__ = ["IncompleteRegistry", "MetricKey", "by_key"]


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
