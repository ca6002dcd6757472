"""`chatbot digest` as a user runs it (in-process, typer's runner) over a database the test
filled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chatbot.db.engine import Database
from chatbot.metrics.engine import weekly_digest_for
from chatbot.metrics.week import Week
from tests.cli_helpers import Invoked, invoke_chatbot
from tests.metrics_reference import load

REPO = "acme/pay"
AT = datetime(2026, 11, 10, tzinfo=UTC)


def _chatbot(db_url: str, tmp: Path, *args: str) -> Invoked:
    env = {"DATABASE_URL": db_url, "COLUMNS": "220"}
    return invoke_chatbot("digest", *args, cwd=tmp, env=env)


def _history() -> dict:
    return {
        "team": {"name": "pay", "tz": "Europe/Berlin", "repos": [REPO], "services": ["pay-api"]},
        "prs": [
            {
                "repo": REPO,
                "number": 1,
                "created_at": AT,
                "merged_at": AT + timedelta(hours=2),
                "author_login": "ann",
                "head_branch": "f1",
            },
            {
                "repo": REPO,
                "number": 2,
                "created_at": AT,
                "merged_at": AT + timedelta(hours=3),
                "author_login": "ann",
                "head_branch": "f2",
            },
        ],
        "commits": [
            {"repo": REPO, "sha": "c1", "authored_at": AT - timedelta(hours=10), "branches": ["f1"]}
        ],
        "reviews": [
            {
                "review_id": 1,
                "repo": REPO,
                "number": 1,
                "reviewer_login": "bob",
                "state": "approved",
                "submitted_at": AT + timedelta(hours=1),
            },
        ],
        "deployments": [
            {
                "external_id": "d-1",
                "service": "pay-api",
                "environment": "production",
                "status": "success",
                "deployed_at": AT + timedelta(days=1),
                "changes": [("pr", f"{REPO}#1"), ("pr", f"{REPO}#2")],
            },
        ],
    }


def test_digest_json_table_and_explain(db: Database, db_url: str, tmp_path: Path) -> None:
    load(db, _history())
    as_json = _chatbot(db_url, tmp_path, "--team", "pay", "--week", "2026-W46", "--json")
    assert as_json.returncode == 0, as_json.stderr
    printed = json.loads(as_json.stdout)
    expected = weekly_digest_for(db, "pay", "2026-W46", datetime.now(UTC))
    assert printed["metrics"] == expected["metrics"]
    assert printed["metrics"]["cycle_time"]["median_hours"] == (34 + 24) / 2
    assert printed["metrics"]["review_time"]["excluded"] == {"no_approval": 1}

    table = _chatbot(db_url, tmp_path, "--team", "pay", "--week", "2026-W46")
    assert table.returncode == 0, table.stderr
    # cycle time reads in days (29 h), its changes with what they mean
    assert "cycle time" in table.stdout and "1.2 d" in table.stdout

    work = _chatbot(
        db_url, tmp_path, "--team", "pay", "--week", "2026-W46", "--explain", "cycle_time"
    )
    assert work.returncode == 0, work.stderr
    assert f"{REPO}#1" in work.stdout and f"{REPO}#2" in work.stdout and "fallback" in work.stdout
    assert "Mon 2026-11-09 14:00 UTC" in work.stdout  # PR 1's first commit


def test_bad_input_is_one_line_and_exit_2(db: Database, db_url: str, tmp_path: Path) -> None:
    load(db, _history())
    for args, says in [
        (("--team", "nope"), "No team 'nope'"),
        (("--team", "pay", "--week", "2026-47"), "is not an ISO week"),
        (("--team", "pay", "--week", "2026-W54"), "has no week 54"),
        (("--team", "pay", "--explain", "speed"), "No metric 'speed'"),
        (("--team", "pay", "--week", "2099-W01"), "2099-W01 has not started yet"),
        (("--team", "pay", "--week", "2099-W01", "--json"), "try `--week 20"),
        (("--team", "pay", "--week", "2099-W01", "--explain", "wip"), "has not started"),
    ]:
        done = _chatbot(db_url, tmp_path, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert says in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_the_running_week_is_marked_partial(db: Database, db_url: str, tmp_path: Path) -> None:
    load(db, _history())
    now = datetime.now(UTC)
    running = Week.containing(now, "Europe/Berlin")
    as_json = _chatbot(db_url, tmp_path, "--team", "pay", "--week", running.label, "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["partial"] is True
    table = _chatbot(db_url, tmp_path, "--team", "pay", "--week", running.label)
    assert "· partial" in table.stdout
    assert f"{running.label} is not over yet" in table.stdout
    complete = _chatbot(db_url, tmp_path, "--team", "pay", "--week", "2026-W46", "--json")
    assert json.loads(complete.stdout)["partial"] is False
    assert "partial" not in _chatbot(db_url, tmp_path, "--team", "pay", "--week", "2026-W46").stdout
