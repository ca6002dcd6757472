"""`chatbot deploy record` as a CI step runs it: a real process on both databases."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import col, select

from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange
from tests.cli_helpers import run_chatbot

SHA = "ab" * 20


def _chatbot(db_url: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_chatbot("deploy", "record", *args, cwd=tmp, env={"DATABASE_URL": db_url})


def _rows(db: Database) -> list[Deployment]:
    with db.session() as s:
        return list(s.exec(select(Deployment).order_by(col(Deployment.id))).all())


def test_record_with_changes_and_an_offset(db_url: str, db: Database, tmp_path: Path) -> None:
    args = ["--id", "d-118", "--service", "payments-api", "--env", "production"]
    done = _chatbot(
        db_url,
        tmp_path,
        *args,
        "--status",
        "success",
        "--pr",
        "acme/payments#12",
        "--pr",
        "acme/payments#13",
        "--commit",
        SHA,
        "--issue",
        "pay-7",
        "--hotfix-of",
        "d-117",
        "--at",
        "2026-11-18T11:00:00+01:00",
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip() == "Deployment d-118: success, 2026-11-18T10:00:00Z (4 changes added)"
    )
    [row] = _rows(db)
    assert (row.source, row.service, row.environment, row.status, row.hotfix_of) == (
        "cli",
        "payments-api",
        "production",
        "success",
        "d-117",
    )
    assert row.deployed_at == datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    with db.session() as s:
        changes = {(c.kind, c.value) for c in s.exec(select(DeploymentChange)).all()}
    assert changes == {
        ("pr", "acme/payments#12"),
        ("pr", "acme/payments#13"),
        ("commit", SHA),
        ("issue", "PAY-7"),
    }
    # The same id again adds changes, never a second deployment, and keeps the first time.
    again = _chatbot(
        db_url,
        tmp_path,
        *args,
        "--status",
        "failure",
        "--issue",
        "PAY-8",
        "--at",
        "2026-11-19T10:00:00Z",
    )
    assert again.returncode == 0, again.stderr
    assert (
        again.stdout.strip() == "Deployment d-118: success, 2026-11-18T10:00:00Z (1 change added)"
    )
    [row] = _rows(db)
    assert row.status == "success" and row.deployed_at == datetime(2026, 11, 18, 10, tzinfo=UTC)


def test_without_at_the_time_is_now(db_url: str, db: Database, tmp_path: Path) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    done = _chatbot(
        db_url, tmp_path, "--id", "d-1", "--service", "web", "--env", "prod", "--status", "success"
    )
    assert done.returncode == 0, done.stderr
    [row] = _rows(db)
    assert row.deployed_at is not None and before <= row.deployed_at <= datetime.now(UTC)


def test_pending_is_not_yet_a_deployment(db_url: str, db: Database, tmp_path: Path) -> None:
    args = ["--id", "d-2", "--service", "web", "--env", "prod"]
    pending = _chatbot(db_url, tmp_path, *args, "--status", "in_progress")
    assert pending.returncode == 0, pending.stderr
    assert "in_progress" not in pending.stdout and "not deployed yet" in pending.stdout
    [row] = _rows(db)
    assert row.status == "pending" and row.deployed_at is None


def test_bad_input_is_one_line_exit_2_and_stores_nothing(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    base = ["--id", "d-3", "--service", "web", "--env", "prod", "--status", "success"]
    cases = {
        ("--at", "2026-11-18T10:00:00"): "has no zone offset",
        ("--at", "tomorrow"): "is not a time",
        ("--pr", "payments#12"): "is not a pull request; write it as owner/repo#12",
        ("--commit", "abc123"): "is not a full commit SHA",
        ("--issue", "nope"): "is not a Jira key",
    }
    for extra, reason in cases.items():
        done = _chatbot(db_url, tmp_path, *base, *extra)
        assert done.returncode == 2, (extra, done.stdout)
        assert reason in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    bad_status = _chatbot(
        db_url, tmp_path, "--id", "d-3", "--service", "web", "--env", "prod", "--status", "shipped"
    )
    assert bad_status.returncode == 2 and "status must be one of" in bad_status.stderr
    assert _rows(db) == []
