"""`chatbot deploy record` as a CI step runs it (in-process, typer's runner), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from chatbot.clock import SystemClock
from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange
from chatbot.teams.service import TeamService
from tests.cli_helpers import Invoked, invoke_chatbot

SHA = "ab" * 20


@pytest.fixture(autouse=True)
def _team_of_the_services(db: Database) -> None:
    # A deployment of a service no team lists is refused (its team could never count it).
    TeamService(db, SystemClock()).add("pay", "C0PAY1", services=["payments-api", "web"])


def _chatbot(db_url: str, tmp: Path, *args: str) -> Invoked:
    return invoke_chatbot("deploy", "record", *args, cwd=tmp, env={"DATABASE_URL": db_url})


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
    # ...and a later failure is not recorded: said in one line, exit 2, with what to do instead.
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.replace("\n", " ").strip() == (
        "Deployment d-118 was already final (success, 2026-11-18T10:00:00Z), so failure was not "
        "recorded (1 change added): record a rollback or a fix as a new deployment with "
        "--rollback-of d-118 or --hotfix-of d-118."
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


def test_a_final_status_again_is_fine(db_url: str, db: Database, tmp_path: Path) -> None:
    args = ["--id", "d-5", "--service", "web", "--env", "prod", "--status", "success"]
    assert _chatbot(db_url, tmp_path, *args).returncode == 0
    repeated = _chatbot(db_url, tmp_path, *args)  # a retried CI step: nothing to tell
    assert repeated.returncode == 0 and repeated.stderr == "", repeated.stderr
    late = _chatbot(db_url, tmp_path, *args[:-1], "inactive")
    assert late.returncode == 0 and "d-5: success" in late.stdout


def test_an_unknown_service_is_refused_with_a_hint(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    done = _chatbot(
        db_url,
        tmp_path,
        "--id",
        "d-6",
        "--service",
        "paymnets-api",
        "--env",
        "production",
        "--status",
        "success",
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "No team lists the service 'paymnets-api' (teams list: payments-api, web)" in (
        done.stderr
    )
    assert "chatbot team set TEAM --service paymnets-api" in done.stderr
    assert _rows(db) == []
