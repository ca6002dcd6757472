"""Goals (docs/metrics.md): the exact syntax `chatbot team set` takes, the arithmetic of
"share of the way", the paired signal, and how the digest shows them with the AI-assisted
work section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chatbot.clock import SystemClock
from chatbot.db.engine import Database
from chatbot.digest.chart import ai_share_trend, chart_alt_text, render_chart
from chatbot.metrics.goals import goal_progress, paired_signal, progress
from chatbot.prompts import Prompts
from chatbot.settings import DEFAULT_PROMPTS_DIR
from chatbot.slack.blocks.ai import MIN_SIDE
from chatbot.slack.blocks.digest import digest_blocks, leader_dm_blocks
from chatbot.teams.goals import parse_goal
from chatbot.teams.service import TeamService
from tests.cli_helpers import Invoked, invoke_chatbot

PROMPTS = Prompts(DEFAULT_PROMPTS_DIR)


@pytest.fixture
def run(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    def _chatbot(*args: str) -> Invoked:
        return invoke_chatbot(*args, cwd=tmp_path, env={"DATABASE_URL": db_url, "COLUMNS": "250"})

    return _chatbot


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("cycle_time=-40%", {"relative": -0.4}),
        ("review_time=8h", {"absolute": 8.0}),
        ("cycle_time=2d", {"absolute": 48.0}),
        ("change_failure_rate=10%", {"absolute": 0.1}),
        ("review_rounds=1.5", {"absolute": 1.5}),
        ("defect_escape_rate=+5%", {"relative": 0.05}),
    ],
)
def test_the_goal_syntax_of_the_spec(typed: str, stored: dict[str, float]) -> None:
    assert parse_goal(typed).as_setting() == stored


def test_team_set_stores_goals_and_ai_settings(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    assert run("team", "add", "pay", "--channel", "C0PAY").returncode == 0
    done = run(
        "team",
        "set",
        "pay",
        "--goal",
        "cycle_time=-40%",
        "--goal",
        "review_time=8h",
        "--ai-agent",
        "Robo-Dev",
        "--ai-marker",
        r"^AI-Tool: \w+",
        "--ai-label",
        "ai-assisted",
        "--ai-label",
        "Agent Work",
    )
    assert done.returncode == 0, done.stderr
    team = TeamService(db, SystemClock()).get("pay")
    assert team is not None
    assert team.goals == {"cycle_time": {"relative": -0.4}, "review_time": {"absolute": 8.0}}
    assert team.ai_agents == ["robo-dev"]
    assert team.ai_markers == [r"^AI-Tool: \w+"]
    assert team.ai_labels == ["ai-assisted", "agent work"]
    # One goal changes or goes; the others stay.
    assert run("team", "set", "pay", "--goal", "cycle_time=").returncode == 0
    assert run("team", "set", "pay", "--goal", "change_failure_rate=10%").returncode == 0
    team = TeamService(db, SystemClock()).get("pay")
    assert team is not None
    assert team.goals == {
        "review_time": {"absolute": 8.0},
        "change_failure_rate": {"absolute": 0.1},
    }


@pytest.mark.parametrize(
    ("goal", "reason"),
    [
        ("ai_share=50%", "not the AI share"),
        ("review_time=8", "is a time like review_time=8h"),
        ("cycle_time=40%", "is a time like cycle_time=8h"),
        ("change_failure_rate=0.1", "a percentage up to 100"),
        ("cycle_time", "Write a goal as --goal METRIC=VALUE"),
        ("review_rounds=-2", "is a percentage against the baseline"),
    ],
)
def test_a_bad_goal_is_one_line_exit_2(run, goal: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    assert run("team", "add", "pay", "--channel", "C0PAY").returncode == 0
    done = run("team", "set", "pay", "--goal", goal)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert reason in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_bad_marker_pattern_is_refused_with_the_reason(run) -> None:  # type: ignore[no-untyped-def]
    assert run("team", "add", "pay", "--channel", "C0PAY").returncode == 0
    done = run("team", "set", "pay", "--ai-marker", "Generated with (Claude")
    assert done.returncode == 2 and "is not one (missing )" in done.stderr, done.stderr


def test_share_of_the_way() -> None:
    assert progress(40.0, 30.0, 24.0) == pytest.approx(10 / 16)
    assert progress(40.0, 20.0, 24.0) == 1.0  # past the goal: clamped
    assert progress(40.0, 50.0, 24.0) == 0.0  # worse than the baseline: clamped
    assert progress(None, 30.0, 24.0) is None  # no baseline: "—"
    assert progress(24.0, 30.0, 24.0) is None  # baseline equals the goal: "—"
    # A higher-is-better metric: the same formula, both differences negative.
    assert progress(0.5, 0.6, 0.8) == pytest.approx(1 / 3)


def test_a_relative_goal_is_measured_from_the_baseline() -> None:
    metrics = {"cycle_time": {"median_hours": 36.0, "baseline": 50.0, "n": 9}}
    shown = goal_progress(
        metrics, {"cycle_time": "median_hours"}, {"cycle_time": {"relative": -0.4}}
    )
    assert shown == {
        "cycle_time": {
            "target": "cycle_time=-40%",
            "baseline": 50.0,
            "now": 36.0,
            "goal": 30.0,
            "progress": 0.7,
        }
    }


def _quality(value: float | None, baseline: float | None, total: int) -> dict[str, Any]:
    return {"value": value, "baseline": baseline, "total": total}


def test_the_paired_signal_needs_both_sides_moving_with_enough_data() -> None:
    fast = {"median_hours": 30.0, "baseline": 40.0, "n": 6}
    worse = _quality(0.3, 0.2, 8)
    assert paired_signal({"cycle_time": fast, "change_failure_rate": worse}) == {
        "speed": {"metric": "cycle_time", "now": 30.0, "baseline": 40.0},
        "quality": {"metric": "change_failure_rate", "now": 0.3, "baseline": 0.2},
    }
    # Rose from 0 counts as worse.
    from_zero = paired_signal({"cycle_time": fast, "defect_escape_rate": _quality(0.1, 0.0, 5)})
    assert from_zero is not None and from_zero["quality"]["metric"] == "defect_escape_rate"
    # Exactly 10 % faster is not "more than 10 %".
    edge = {"median_hours": 36.0, "baseline": 40.0, "n": 6}
    assert paired_signal({"cycle_time": edge, "change_failure_rate": worse}) is None
    # Too few deployments, too few PRs, or quality only 10 % worse: no signal.
    assert paired_signal({"cycle_time": fast, "change_failure_rate": _quality(0.3, 0.2, 4)}) is None
    few = {**fast, "n": 4}
    assert paired_signal({"cycle_time": few, "change_failure_rate": worse}) is None
    assert (
        paired_signal({"cycle_time": fast, "change_failure_rate": _quality(0.22, 0.2, 9)}) is None
    )


def _digest(ai: int, total: int, **extra: Any) -> dict[str, Any]:
    side = {
        "review_time_median_hours": 5.0,
        "review_n": 5,
        "review_rounds_mean": 1.2,
        "rounds_n": 5,
        "cycle_time_median_hours": 30.0,
        "cycle_n": 5,
        "pr_size_median_lines": 120.0,
        "pr_size_n": 5,
    }
    return {
        "team": "pay",
        "week": "2026-W46",
        "time_zone": "UTC",
        "start": "2026-11-09T00:00:00Z",
        "end": "2026-11-16T00:00:00Z",
        "metrics": {
            "cycle_time": {"median_hours": 30.0, "n": 9, "previous": 40.0, "baseline": 40.0},
            "ai_share": {
                "value": ai / total if total else None,
                "ai": ai,
                "total": total,
                "n": total,
                "signals": {"agent": 2, "co_author": 1, "marker": 0, "label": 1},
                "previous": 0.9,
                "baseline": 0.0,
                "trend": [0.0] * 7 + [ai / total if total else None],
            },
            "ai_vs_other": {"ai": side, "other": {**side, "review_time_median_hours": 9.0}},
            "unreviewed_ai": {"count": 2, "n": ai, "prs": ["acme/a#1", "acme/a#2"]},
            "ai_change_failure": {
                "ai": {"value": 0.5, "failed": 1, "total": 2},
                "other": {"value": 0.0, "failed": 0, "total": 3},
            },
        },
        "warnings": [],
        **extra,
    }


def _texts(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in blocks)


def test_the_ai_section_shows_the_split_only_with_five_on_each_side() -> None:
    both = _texts(digest_blocks(_digest(MIN_SIDE, 2 * MIN_SIDE), PROMPTS))
    assert "AI-assisted work" in both and "50% of 10 merged PRs (5 AI-assisted)" in both
    assert "AI-assisted: review 5.0 h (n = 5)" in both and "Other: review 9.0 h" in both
    assert "too few to compare" not in both
    few = _texts(digest_blocks(_digest(MIN_SIDE, 2 * MIN_SIDE - 1), PROMPTS))
    assert "too few to compare (each side needs 5 PRs; 5 AI-assisted, 4 other)" in few
    assert "Other: review" not in few
    assert "2 AI-assisted PRs merged without a human approval" in both
    assert "with AI-assisted PRs 50% (1 of 2) · without 0% (0 of 3)" in both


def test_the_ai_share_is_never_worse() -> None:
    """A share that fell from 90 % is shown with its change and no warning (neutral)."""
    text = _texts(digest_blocks(_digest(1, 10), PROMPTS))
    share_line = next(line for line in text.splitlines() if "*AI share*" in line)
    assert "▼ −80 pts" in share_line and ":warning:" not in share_line


def test_paired_signal_is_the_first_line_and_goals_are_listed() -> None:
    digest = _digest(
        5,
        10,
        paired_signal={
            "speed": {"metric": "cycle_time", "now": 30.0, "baseline": 40.0},
            "quality": {"metric": "change_failure_rate", "now": 0.3, "baseline": 0.2},
        },
        goals={
            "cycle_time": {
                "target": "cycle_time=-40%",
                "baseline": 40.0,
                "now": 30.0,
                "goal": 24.0,
                "progress": 0.625,
            },
            "review_time": {
                "target": "review_time=8h",
                "baseline": None,
                "now": 9.0,
                "goal": 8.0,
                "progress": None,
            },
        },
    )
    blocks = digest_blocks(digest, PROMPTS)
    assert blocks[0]["type"] == "header"
    first = blocks[1]["text"]["text"]
    assert "Speed is coming at the cost of quality" in first
    assert "1.2 d (baseline 1.7 d)" in first and "30% (baseline 20%)" in first
    text = _texts(blocks)
    assert "1.7 d → 1.2 d → goal 1.0 d · 62% of the way" in text  # cycle time in days
    assert "– → 9.0 h → goal 8.0 h · — of the way" in text
    dm = _texts(leader_dm_blocks(digest, PROMPTS))
    assert "Speed is coming at the cost of quality" in dm
    assert "*AI-assisted work:* 50% of merged PRs; 2 merged without human approval." in dm
    assert "62% of the way" in dm


def test_the_chart_draws_the_ai_share_and_says_so() -> None:
    digest = _digest(5, 10)
    assert ai_share_trend(digest) == [0.0] * 7 + [50.0]
    assert "AI share from 0% to 50%" in chart_alt_text(digest, PROMPTS)
    assert render_chart(digest, PROMPTS).startswith(b"\x89PNG")


def test_review_time_shows_the_median_pr_size_and_its_change() -> None:
    digest = _digest(5, 10)
    digest["metrics"]["review_time"] = {
        "median_hours": 6.0,
        "n": 7,
        "previous": 5.0,
        "baseline": 5.0,
        "trend": [None] * 6 + [5.0, 6.0],
        "excluded": {},
        "pr_size_median_lines": 420.0,
        "pr_size_n": 9,
        "pr_size_median_lines_trend": [None] * 6 + [180.0, 420.0],
    }
    text = _texts(digest_blocks(digest, PROMPTS))
    assert "Median PR size 420 lines (▲ +240 vs last week, n = 9)" in text
