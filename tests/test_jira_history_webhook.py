"""POST /webhooks/jira keeps the work items current between syncs: issue created, updated
(fields and the changelog entry it carries) and deleted, each delivery idempotent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from chatbot.jira.history import JiraHistorySync
from chatbot.jira.models import WorkItem, WorkItemChange
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService
from tests.conftest import Bot
from tests.fakes.jira_api import FakeJira, FakeJiraServer, jira_time
from tests.jira_fixtures import jira_server_fixture, jira_settings  # noqa: F401  (fixture)

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)


@pytest.fixture
def bot_settings(jira_server: FakeJiraServer) -> dict[str, Any]:
    jira_server.fake.reset("cloud")
    return jira_settings(jira_server.url, "cloud", jira_webhook_secret="hook-secret")


def _issue(
    key: str,
    updated: datetime,
    status: tuple[str, str] = ("1", "To Do"),
    issue_type: str = "Story",
    labels: list[str] | None = None,
    jira_id: str = "10001",
) -> dict[str, Any]:
    return {
        "id": jira_id,
        "key": key,
        "fields": {
            "summary": f"Work {key}",
            "status": {"id": status[0], "name": status[1], "statusCategory": {"key": "new"}},
            "issuetype": {"name": issue_type},
            "assignee": {"accountId": "acc-alice", "displayName": "Alice"},
            "labels": labels or [],
            "project": {"key": key.split("-")[0]},
            "created": jira_time(T0),
            "updated": jira_time(updated),
        },
    }


def _send(bot: Bot, event: str, issue: dict[str, Any], **extra: Any) -> int:
    body = json.dumps({"webhookEvent": event, "issue": issue, **extra}).encode()
    return bot.slack.post(body, "application/json", path="/webhooks/jira?secret=hook-secret").status


def _moved(updated: datetime, changelog_id: str) -> dict[str, Any]:
    return {
        "timestamp": int(updated.timestamp() * 1000),
        "changelog": {
            "id": changelog_id,
            "items": [
                {
                    "field": "status",
                    "fieldtype": "jira",
                    "fieldId": "status",
                    "from": "1",
                    "fromString": "To Do",
                    "to": "3",
                    "toString": "In Progress",
                }
            ],
        },
    }


def _items(bot: Bot) -> dict[str, WorkItem]:
    with bot.services.db.session() as s:
        return {w.key: w for w in s.exec(select(WorkItem)).all()}


def _changes(bot: Bot) -> list[WorkItemChange]:
    with bot.services.db.session() as s:
        return list(s.exec(select(WorkItemChange)).all())


def _team(bot: Bot, **fields: Any) -> Team:
    return TeamService(bot.services.db, bot.services.clock).add(
        "payments", "C0PAY1", jira_project="PAY", **fields
    )


def test_created_updated_deleted(bot: Bot) -> None:
    _team(bot)
    assert _send(bot, "jira:issue_created", _issue("PAY-1", T0)) == 200
    item = _items(bot)["PAY-1"]
    assert (item.status, item.assignee_name, item.deleted) == ("To Do", "Alice", False)

    later = T0 + timedelta(hours=1)
    moved = _issue("PAY-1", later, status=("3", "In Progress"))
    for _ in range(2):  # a redelivery changes nothing more
        assert _send(bot, "jira:issue_updated", moved, **_moved(later, "555")) == 200
    assert _items(bot)["PAY-1"].status == "In Progress"
    [change] = _changes(bot)
    assert (change.history_id, change.field, change.from_value, change.to_value) == (
        "555",
        "status",
        "To Do",
        "In Progress",
    )
    assert change.at == later

    # an older delivery arriving late does not roll the fields back
    assert _send(bot, "jira:issue_updated", _issue("PAY-1", T0 + timedelta(minutes=5))) == 200
    assert _items(bot)["PAY-1"].status == "In Progress"

    assert _send(bot, "jira:issue_deleted", _issue("PAY-1", later)) == 200
    assert _items(bot)["PAY-1"].deleted
    assert len(_changes(bot)) == 1


def test_issues_of_no_team_are_not_stored(bot: Bot) -> None:
    _team(bot)
    TeamService(bot.services.db, bot.services.clock).add(
        "ops", "C0OPS1", jira_jql="project = OPS AND labels = ops"
    )
    assert _send(bot, "jira:issue_created", _issue("OPS-1", T0)) == 200  # JQL teams: next sync
    assert _send(bot, "jira:issue_created", _issue("WEB-1", T0, jira_id="7")) == 200
    assert _items(bot) == {}


def test_malformed_issue_fields_are_refused(bot: Bot) -> None:
    _team(bot)
    broken = _issue("PAY-1", T0)
    broken["fields"]["status"] = "Done"
    assert _send(bot, "jira:issue_created", broken) == 400
    assert _items(bot) == {}


def test_a_bug_changed_by_webhook_gets_its_escape_rule_rechecked(
    bot: Bot, jira_server: FakeJiraServer
) -> None:
    fake_jira: FakeJira = jira_server.fake
    team = _team(bot)
    with bot.services.db.session() as s:
        stored = s.get(Team, team.id)
        assert stored is not None
        stored.escape_rule = {"jql": "labels = prod-bug"}
        s.add(stored)
        team = stored
    fake_jira.add_issue("PAY-1", issue_type="Bug", created=T0)
    sync = JiraHistorySync(bot.services.db, bot.services.clock, bot.services.jira)
    sync.sync_team(team)
    assert not _items(bot)["PAY-1"].escaped

    later = T0 + timedelta(days=1)
    fake_jira.touch("PAY-1", at=later, labels=["prod-bug"])
    bug = _issue(
        "PAY-1", later, issue_type="Bug", labels=["prod-bug"], jira_id=fake_jira.issues["PAY-1"].id
    )
    assert _send(bot, "jira:issue_updated", bug) == 200
    sync.sync_team(team)  # the sync sees no change (the webhook stored it) yet re-checks
    assert _items(bot)["PAY-1"].escaped
