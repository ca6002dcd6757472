"""`chatbot sync jira` as a user runs it, and the clock's 10-minute job, against the fake
Jira and both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.jira.models import WorkItem, WorkItemChange
from chatbot.teams.service import TeamService
from tests.cli_helpers import Invoked, invoke_chatbot
from tests.conftest import Bot
from tests.fakes.jira_api import CLOUD_EMAIL, CLOUD_TOKEN, FakeJiraServer
from tests.jira_fixtures import jira_server_fixture, jira_settings  # noqa: F401  (fixture)

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def _chatbot(db_url: str, tmp: Path, *args: str, **env: str) -> Invoked:
    return invoke_chatbot(*args, cwd=tmp, env={"DATABASE_URL": db_url, **env})


@pytest.fixture
def cloud(jira_server: FakeJiraServer) -> dict[str, str]:
    jira_server.fake.reset("cloud")
    return {"JIRA_URL": jira_server.url, "JIRA_EMAIL": CLOUD_EMAIL, "JIRA_API_TOKEN": CLOUD_TOKEN}


def _count(db: Database, model: Any) -> int:
    with db.session() as s:
        return len(s.exec(select(model)).all())


def test_sync_jira_stores_and_says_what_it_did(
    db_url: str,
    db: Database,
    clock: FrozenClock,
    tmp_path: Path,
    jira_server: FakeJiraServer,
    cloud: dict[str, str],
) -> None:
    TeamService(db, clock).add("payments", "C0PAY1", jira_project="PAY")
    fake = jira_server.fake
    for n in range(1, 4):
        fake.add_issue(f"PAY-{n}", created=T0)
        fake.transition(f"PAY-{n}", "In Progress", at=T0.replace(hour=9 + n))
    done = _chatbot(db_url, tmp_path, "sync", "jira", "--team", "payments", **cloud)
    assert done.returncode == 0, done.stderr
    assert "payments: 3 issues read, 3 new changes" in done.stdout
    assert _count(db, WorkItem) == 3 and _count(db, WorkItemChange) == 3

    again = _chatbot(db_url, tmp_path, "sync", "jira", **cloud)  # every team
    assert again.returncode == 0, again.stderr
    # the issue within the five-minute overlap is read again, and nothing is added
    assert "payments: 1 issue read, 0 new changes, 1 Jira request" in again.stdout


def test_sync_jira_refuses_in_one_line(
    db_url: str,
    db: Database,
    clock: FrozenClock,
    tmp_path: Path,
    jira_server: FakeJiraServer,
    cloud: dict[str, str],
) -> None:
    unconfigured = _chatbot(db_url, tmp_path, "sync", "jira")
    assert unconfigured.returncode == 2 and "JIRA_URL" in unconfigured.stderr
    no_teams = _chatbot(db_url, tmp_path, "sync", "jira", **cloud)
    assert no_teams.returncode == 2 and "team set NAME --jira-project KEY" in no_teams.stderr
    unknown = _chatbot(db_url, tmp_path, "sync", "jira", "--team", "nope", **cloud)
    assert unknown.returncode == 2 and "No team named 'nope'" in unknown.stderr

    TeamService(db, clock).add("payments", "C0PAY1", jira_project="PAY")
    refused = _chatbot(
        db_url, tmp_path, "sync", "jira", **{**cloud, "JIRA_API_TOKEN": "wrong-token"}
    )
    assert refused.returncode == 2 and "jira check" in refused.stderr
    assert "wrong-token" not in refused.stderr + refused.stdout
    for result in (unconfigured, no_teams, unknown, refused):
        assert "Traceback" not in result.stderr


@pytest.fixture
def bot_settings(jira_server: FakeJiraServer) -> dict[str, Any]:
    jira_server.fake.reset("cloud")
    return jira_settings(jira_server.url, "cloud")


def test_the_clock_syncs_every_ten_minutes(bot: Bot, jira_server: FakeJiraServer) -> None:
    services = bot.services
    TeamService(services.db, services.clock).add("payments", "C0PAY1", jira_project="PAY")
    TeamService(services.db, services.clock).add("nojira", "C0NOJ1")
    jira_server.fake.add_issue("PAY-1", created=T0)
    [job] = [j for j in bot.root.jobs if j.name == "jira-history"]
    assert job.seconds == 600
    results = job.run()
    assert [(r.team, r.issues) for r in results] == [("payments", 1)]  # type: ignore[attr-defined]
    assert _count(services.db, WorkItem) == 1
