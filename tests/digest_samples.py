"""Digest JSON objects shaped exactly like the digest JSON (docs/metrics.md), for rendering tests
and benchmarks."""

from __future__ import annotations

import copy
from typing import Any

from slack_sdk import WebClient

from chatbot.clock import FrozenClock
from chatbot.services import Services, build_services
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlackServer

_BASE: dict[str, Any] = {
    "team": "payments",
    "week": "2026-W47",
    "time_zone": "Europe/Berlin",
    "start": "2026-11-15T23:00:00Z",
    "end": "2026-11-22T23:00:00Z",
    "warnings": [],
}


def _metric(headline: str, value: Any, previous: Any, baseline: Any, **fields: Any) -> dict:
    trend = [None, None, None, None, None, None, previous, value]
    return {headline: value, "previous": previous, "baseline": baseline, "trend": trend, **fields}


def no_data() -> dict[str, Any]:
    """A new team: every figure null, nothing counted."""
    digest = copy.deepcopy(_BASE)
    digest["metrics"] = {
        "cycle_time": _metric(
            "median_hours",
            None,
            None,
            None,
            p85_hours=None,
            n=0,
            source="git+deploy",
            fallback=0,
            excluded={},
        ),
        "review_time": _metric("median_hours", None, None, None, n=0, excluded={}),
        "review_rounds": _metric("median", None, None, None, mean=None, n=0, excluded={}),
        "wip": _metric(
            "mean",
            None,
            None,
            None,
            by_person={},
            over_limit=[],
            limit=2,
            daily=[None] * 7,
            excluded={},
        ),
        "defect_escape_rate": _metric(
            "value", None, None, None, escaped=0, total=0, window_days=14, excluded={}
        ),
        "change_failure_rate": _metric("value", None, None, None, failed=0, total=0, excluded={}),
        "orchestration": _metric(
            "orchestration_share", None, None, None, interrupt_share=None, responses=0, excluded={}
        ),
        "late_intent_churn": _metric("revisions", 0, 0, None, intents=0, excluded={}),
        "checks_verified_at_done": _metric("value", None, None, None, done=0, excluded={}),
    }
    digest["warnings"] = ["No deployment seen for 14 days: cycle time uses Jira instead"]
    return digest


def one_item() -> dict[str, Any]:
    digest = no_data()
    m = digest["metrics"]
    m["cycle_time"].update(median_hours=30.5, p85_hours=30.5, n=1, trend=[None] * 7 + [30.5])
    m["review_time"].update(median_hours=5.0, n=1)
    m["change_failure_rate"].update(value=0.0, failed=0, total=1)
    digest["warnings"] = []
    return digest


def _full(factor: float, previous_factor: float) -> dict[str, Any]:
    """Every metric with data; `factor` scales this week, `previous_factor` last week."""
    digest = copy.deepcopy(_BASE)

    def trio(base: float) -> tuple[float, float, float]:
        return round(base * factor, 3), round(base * previous_factor, 3), base

    def trend(base: float) -> list[float]:
        return [base * (1 + 0.05 * k) for k in range(6)] + [
            round(base * previous_factor, 3),
            round(base * factor, 3),
        ]

    ct, ct_prev, ct_base = trio(30.0)
    rt, rt_prev, rt_base = trio(5.0)
    rr, rr_prev, rr_base = trio(1.5)
    wip, wip_prev, wip_base = trio(2.0)
    esc, esc_prev, esc_base = trio(0.2)
    cfr, cfr_prev, cfr_base = trio(0.1)
    churn, churn_prev, churn_base = trio(4)
    # Higher is better for these two, so they move the other way.
    orch, orch_prev, orch_base = round(0.4 / factor, 3), round(0.4 / previous_factor, 3), 0.4
    chk, chk_prev, chk_base = (
        round(min(1.0, 0.8 / factor), 3),
        round(min(1.0, 0.8 / previous_factor), 3),
        0.8,
    )
    digest["metrics"] = {
        "cycle_time": {
            "median_hours": ct,
            "p85_hours": ct * 2.2,
            "n": 12,
            "source": "git+deploy",
            "fallback": 2,
            "excluded": {"negative_span": 1},
            "previous": ct_prev,
            "baseline": ct_base,
            "trend": trend(30.0),
        },
        "review_time": {
            "median_hours": rt,
            "n": 9,
            "excluded": {"no_approval": 1},
            "previous": rt_prev,
            "baseline": rt_base,
            "trend": trend(5.0),
        },
        "review_rounds": {
            "median": rr,
            "mean": rr * 1.1,
            "n": 9,
            "excluded": {},
            "previous": rr_prev,
            "baseline": rr_base,
            "trend": trend(1.5),
        },
        "wip": {
            "mean": wip,
            "by_person": {"Ann Lee": 3, "Bo Chen": 2},
            "over_limit": ["Ann Lee"],
            "limit": 2,
            "daily": [wip] * 7,
            "excluded": {"unassigned": 1},
            "previous": wip_prev,
            "baseline": wip_base,
            "trend": trend(2.0),
        },
        "defect_escape_rate": {
            "value": esc,
            "escaped": 2,
            "total": 8,
            "window_days": 14,
            "excluded": {},
            "previous": esc_prev,
            "baseline": esc_base,
            "trend": trend(0.2),
        },
        "change_failure_rate": {
            "value": cfr,
            "failed": 1,
            "total": 10,
            "excluded": {},
            "previous": cfr_prev,
            "baseline": cfr_base,
            "trend": trend(0.1),
        },
        "orchestration": {
            "orchestration_share": orch,
            "interrupt_share": 0.35,
            "responses": 3,
            "excluded": {},
            "previous": orch_prev,
            "baseline": orch_base,
            "trend": trend(0.4),
        },
        "late_intent_churn": {
            "revisions": churn,
            "intents": 1,
            "excluded": {},
            "previous": churn_prev,
            "baseline": churn_base,
            "trend": trend(4),
        },
        "checks_verified_at_done": {
            "value": chk,
            "done": 5,
            "excluded": {},
            "previous": chk_prev,
            "baseline": chk_base,
            "trend": trend(0.8),
        },
    }
    digest["warnings"] = ["2 PRs have no commit data: their cycle time starts at PR creation"]
    return digest


def every_metric_worse() -> dict[str, Any]:
    return _full(1.5, 1.0)


def every_metric_better() -> dict[str, Any]:
    return _full(0.7, 1.0)


def oversize() -> dict[str, Any]:
    """30 people over the WIP limit, 8 long warnings, hostile names, every metric worse."""
    digest = every_metric_worse()
    people = [f"Person <!channel> {i:02d} " + "x" * 60 for i in range(30)]
    digest["team"] = "t" * 80
    digest["metrics"]["wip"]["over_limit"] = people
    digest["metrics"]["wip"]["by_person"] = {p: 5 for p in people}
    digest["warnings"] = [f"Warning {i} <!here> " + "w" * 900 for i in range(8)]
    return digest


def long_hints(prompts_dir: Any, tmp_dir: Any) -> Any:
    """A prompts folder whose digest hints are 10,000 characters long."""
    import shutil
    import tomllib

    from chatbot.prompts import Prompts

    target = tmp_dir / "prompts"
    shutil.copytree(prompts_dir, target)
    data = tomllib.loads((target / "digest.toml").read_text(encoding="utf-8"))
    lines = ["[hints]"] + [f'{name} = "{"h" * 10_000}"' for name in data["hints"]]
    text = (target / "digest.toml").read_text(encoding="utf-8")
    rest = text.split("[digest]", 1)[1]
    (target / "digest.toml").write_text("\n".join(lines) + "\n\n[digest]" + rest, encoding="utf-8")
    return Prompts(target)


SAMPLES = {
    "no_data": no_data,
    "one_item": one_item,
    "every_metric_worse": every_metric_worse,
    "every_metric_better": every_metric_better,
    "oversize": oversize,
}


def digest_services(db_url: str, server: FakeSlackServer, clock: FrozenClock) -> Services:
    """Services as `chatbot serve` builds them, talking to the fake Slack, for the digest's
    schedule and crash tests."""
    settings = make_settings(db_url, server.api_url)
    client = WebClient(token="xoxb-test-token", base_url=server.api_url)
    return build_services(settings, clock=clock, migrate=False, slack=client)
