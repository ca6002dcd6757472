"""`chatbot demo`: no credentials, no network; a realistic team's digest in the terminal,
its Block Kit JSON (within Slack's limits) and its chart (a PNG that opens)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatbot.cli import app
from chatbot.db.engine import Database, make_engine
from chatbot.demo.cli import DemoResult, run_demo
from chatbot.digest.catalogue import BY_NAME, HEADLINES
from chatbot.metrics.engine import team_row, weekly_digest_for
from chatbot.metrics.week import Week
from chatbot.slack.blockkit import message_problems
from tests.fakes.block_kit import message_errors

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@dataclass(frozen=True)
class Demo:
    result: DemoResult
    out: Path
    db_path: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One run of the demo for the tests that only read what it wrote (a run takes about a
    second, most of this module's time)."""
    base = tmp_path_factory.mktemp("demo")
    result = run_demo(base / "out", base / "demo.db", now=NOW)
    return Demo(result, base / "out", base / "demo.db")


def test_demo_writes_a_valid_message_and_chart(demo: Demo) -> None:
    result, tmp_out, db_path = demo.result, demo.out, demo.db_path
    payload = json.loads((tmp_out / "demo-digest.json").read_text("utf-8"))
    assert message_problems(payload["text"], payload["blocks"]) == []
    assert message_errors(payload["text"], payload["blocks"]) == []
    assert "Weekly digest · payments · 2026-W47" in json.dumps(payload, ensure_ascii=False)
    width, height = _png_size((tmp_out / "demo-digest.png").read_bytes())
    assert width >= 800 and height >= 700

    metrics = result.digest["metrics"]
    assert result.digest["week"] == "2026-W47"
    for name in ("cycle_time", "review_time", "change_failure_rate", "defect_escape_rate"):
        assert metrics[name]["n"] > 0, name
        known = [v for v in metrics[name]["trend"] if v is not None]
        assert len(known) == 8, name
    # a real team's weeks differ
    assert len({round(v, 1) for v in metrics["cycle_time"]["trend"]}) >= 6
    assert len({round(v, 1) for v in metrics["review_time"]["trend"]}) >= 6
    assert metrics["orchestration"]["responses"] >= 3
    assert metrics["checks_verified_at_done"]["done"] > 0
    assert result.counts.weeks >= 12

    with sqlite3.connect(db_path) as conn:
        weeks = conn.execute("SELECT COUNT(DISTINCT week) FROM check_in").fetchone()[0]
        rollbacks = conn.execute(
            "SELECT COUNT(*) FROM deployment WHERE rollback_of IS NOT NULL"
        ).fetchone()[0]
        failures = conn.execute(
            "SELECT COUNT(*) FROM deployment WHERE status = 'failure'"
        ).fetchone()[0]
        reviews = conn.execute("SELECT COUNT(*) FROM pull_request_review").fetchone()[0]
        commits = conn.execute("SELECT COUNT(*) FROM git_commit").fetchone()[0]
    assert weeks >= 12 and rollbacks >= 1 and failures >= 1 and reviews > 100 and commits > 100


def test_demo_is_repeatable_and_recreates_its_database(demo: Demo, tmp_path: Path) -> None:
    first = demo.result
    shutil.copy(demo.db_path, tmp_path / "demo.db")  # a demo database already there
    second = run_demo(tmp_path, tmp_path / "demo.db", now=NOW)
    assert first.digest == second.digest  # same seed, same team; the file was recreated
    other = run_demo(tmp_path / "b", tmp_path / "b.db", now=NOW, seed=8)
    assert other.digest["metrics"] != first.digest["metrics"]


def test_chatbot_demo_command_prints_the_digest(tmp_path: Path, monkeypatch) -> None:
    # No Slack, Jira or GitHub settings at all, and no .env to find.
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL", "JIRA_URL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "cycle time" in result.output and "demo-digest.png" in result.output
    assert (tmp_path / "demo-digest.json").exists() and (tmp_path / "demo.db").exists()
    refused = CliRunner().invoke(app, ["demo", "--db", str(tmp_path / "nope" / "x" / "\0.db")])
    assert refused.exit_code == 2 and "Traceback" not in refused.output


def test_no_demo_headline_moves_more_than_three_times_its_baseline(demo: Demo) -> None:
    """The demo starts with work already in flight, as a real team's first synced weeks do:
    against its baseline, no later week of the four headline figures or WIP is more than 3×
    higher or lower (a rate whose baseline is 0 has no ratio and is left out)."""
    result = demo.result
    db = Database(make_engine(f"sqlite:///{demo.db_path}"))
    reported = Week.parse(result.digest["week"], "UTC")
    earlier = weekly_digest_for(db, "payments", reported.shift(-8), NOW, with_warnings=False)
    row = team_row(db, "payments")
    baseline_label = row.baseline_week or row.baseline_week_chosen
    trend_labels = [w.label for w in (*reported.shift(-8).trend(8), *reported.trend(8))]
    for view in (*HEADLINES, BY_NAME["wip"]):
        baseline = result.digest["metrics"][view.name]["baseline"]
        if view.name in ("cycle_time", "review_time", "wip"):
            assert baseline, view.name
        if not baseline:
            continue
        values = (
            earlier["metrics"][view.name]["trend"] + result.digest["metrics"][view.name]["trend"]
        )
        later = [v for label, v in zip(trend_labels, values, strict=True) if label > baseline_label]
        assert later, view.name
        for value in later:
            assert value is not None and baseline / 3 <= value <= baseline * 3, (view.name, value)


@pytest.mark.parametrize(
    "later",
    [datetime(2026, 11, 26, 15, 30, tzinfo=UTC), datetime(2026, 11, 29, 22, 59, tzinfo=UTC)],
    ids=["thursday-afternoon", "sunday-night"],
)
def test_the_demo_shows_the_same_week_whatever_day_it_is_run(
    demo: Demo, tmp_path: Path, later: datetime
) -> None:
    # Run later in the same week, the running week holds more of its made-up work; the
    # reported week, and so the paired signal the README promises, must not change with it.
    again = run_demo(tmp_path / "out", tmp_path / "demo.db", now=later)
    assert again.digest["week"] == demo.result.digest["week"]
    for name, figures in demo.result.digest["metrics"].items():
        mine = again.digest["metrics"][name]
        for key in ("n", "value", "median_hours", "baseline", "total", "ai"):
            assert mine.get(key) == figures.get(key), (name, key)
    assert again.digest["paired_signal"] == demo.result.digest["paired_signal"]


def test_demo_shows_ai_assisted_work_a_goal_and_the_paired_signal(demo: Demo) -> None:
    result = demo.result
    metrics = result.digest["metrics"]
    share = metrics["ai_share"]
    # Both sides of the split have at least 5 PRs, every kind of signal appears, and an agent's
    # PR merged without a human approval.
    assert share["ai"] >= 5 and share["total"] - share["ai"] >= 5
    assert all(share["signals"][kind] > 0 for kind in ("agent", "co_author", "marker", "label"))
    assert metrics["unreviewed_ai"]["count"] >= 1
    # Adoption grows over the weeks.
    trend = share["trend"]
    assert sum(trend[-3:]) > sum(trend[:3])
    assert result.digest["paired_signal"]["quality"]["metric"] == "change_failure_rate"
    assert result.digest["goals"]["cycle_time"]["progress"] is not None
    text = json.dumps(result.payload["blocks"], ensure_ascii=False)
    assert "Speed is coming at the cost of quality" in result.payload["blocks"][1]["text"]["text"]
    assert "AI-assisted work" in text and "AI-assisted: review" in text
    assert "merged without a human approval" in text and "of the way" in text
