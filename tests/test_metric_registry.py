"""One list of metrics (`chatbot.metrics.keys.MetricKey`): the engine computes each, the digest's
catalogue shows each, and the two agree on what the headline is and which way is better."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from chatbot.digest import catalogue
from chatbot.metrics import engine
from chatbot.metrics.keys import IncompleteRegistry, MetricKey, by_key
from chatbot.prompts import Prompts
from chatbot.teams.goals import GOAL_UNITS

PROMPTS = Prompts(Path(__file__).resolve().parent.parent / "prompts")


@dataclass(frozen=True)
class Entry:
    name: str


def test_every_metric_is_computed_and_shown_once() -> None:
    assert set(engine.BY_NAME) == set(MetricKey) == set(catalogue.BY_NAME)
    assert [m.name for m in engine.METRICS] == list(MetricKey)
    shown = [v.name for v in (*catalogue.METRICS, *catalogue.AI_METRICS)]
    assert sorted(shown) == sorted(MetricKey)


@pytest.mark.parametrize("key", list(MetricKey))
def test_the_view_reads_the_metric_as_the_engine_writes_it(key: MetricKey) -> None:
    metric, view = engine.BY_NAME[key], catalogue.BY_NAME[key]
    assert view.headline == metric.headline
    neutral = bool(getattr(metric, "neutral", False))
    assert view.neutral == neutral
    if not neutral:
        assert view.lower_is_better == metric.lower_is_better
    assert view.label_in(PROMPTS).strip()


def test_the_ai_metrics_are_shown_as_the_ai_section_shows_them() -> None:
    views = catalogue.BY_NAME
    assert [v.name for v in catalogue.AI_METRICS] == [
        MetricKey.AI_SHARE,
        MetricKey.AI_VS_OTHER,
        MetricKey.UNREVIEWED_AI,
        MetricKey.AI_CHANGE_FAILURE,
    ]
    share, failure = views[MetricKey.AI_SHARE], views[MetricKey.AI_CHANGE_FAILURE]
    assert (share.unit, share.better_direction) == ("ratio", None)  # never "worse"
    assert views[MetricKey.UNREVIEWED_AI].unit == "count"
    assert failure.value({"ai": {"value": 0.25}, "other": {"value": 0.5}}) == 0.25
    assert views[MetricKey.AI_VS_OTHER].value({"ai": {}, "other": {}}) is None
    # The section's own AI metrics are not repeated in the metrics section.
    assert not {v.name for v in catalogue.METRICS} & {v.name for v in catalogue.AI_METRICS}


def test_a_goal_names_a_metric() -> None:
    assert all(isinstance(key, MetricKey) for key in GOAL_UNITS)
    typed_in = {"days": "hours", "hours": "hours", "ratio": "ratio"}
    for name, unit in GOAL_UNITS.items():
        assert typed_in.get(catalogue.BY_NAME[name].unit, "number") == unit, name


def test_a_registry_that_lacks_a_metric_does_not_load() -> None:
    every = [Entry(key.value) for key in MetricKey]
    assert set(by_key(every, "test")) == set(MetricKey)
    with pytest.raises(IncompleteRegistry, match="no entry for ai_change_failure"):
        by_key(every[:-1], "the digest's catalogue")
    with pytest.raises(IncompleteRegistry, match="wip is there twice"):
        by_key([*every, Entry("wip")], "the metrics engine")
    with pytest.raises(ValueError):
        by_key([*every, Entry("velocity")], "the metrics engine")  # not a metric at all
