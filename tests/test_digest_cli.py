"""`chatbot digest --post`: the same week slot as the clock and `/digest post`."""

from __future__ import annotations

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from chatbot.cli import app
from chatbot.db.engine import Database
from chatbot.digest.models import DigestPost
from chatbot.teams.service import TeamService
from tests.fakes.slack_api import FakeSlack, FakeSlackServer
from tests.slack_driver import SIGNING_SECRET


@pytest.fixture
def env(
    db_url: str,
    slack_server: FakeSlackServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    monkeypatch.chdir(tmp_path_factory.mktemp("cli"))  # no .env from the working folder
    values = {
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_server.api_url,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_post_takes_the_slot_and_again_reposts(
    env: dict[str, str], db: Database, fake_slack: FakeSlack
) -> None:
    from chatbot.clock import SystemClock

    TeamService(db, SystemClock()).add("payments", "C1", tz="Europe/Berlin")
    runner = CliRunner()
    first = runner.invoke(app, ["digest", "--team", "payments", "--post"])
    assert first.exit_code == 0, first.output
    assert "Posted the" in first.output and "C1" in first.output
    second = runner.invoke(app, ["digest", "--team", "payments", "--post"])
    assert second.exit_code == 2 and "already posted" in second.output
    third = runner.invoke(app, ["digest", "--team", "payments", "--post", "--again"])
    assert third.exit_code == 0, third.output
    posts = [c for c in fake_slack.of("chat.postMessage", ok=True) if c.params["channel"] == "C1"]
    assert len(posts) == 2
    with db.session() as s:
        assert sorted(p.reason for p in s.exec(select(DigestPost)).all()) == ["again", "manual"]
    missing = runner.invoke(app, ["digest", "--team", "nope", "--post"])
    assert missing.exit_code == 2 and "No team 'nope'" in missing.output
    bad_week = runner.invoke(app, ["digest", "--team", "payments", "--post", "--week", "W1"])
    assert bad_week.exit_code == 2 and "2026-W47" in bad_week.output


def _slot_key(db: Database, team: str) -> str:
    from chatbot.clock import SystemClock
    from chatbot.digest.publish import slot_key
    from chatbot.metrics.week import Week

    row = TeamService(db, SystemClock()).get(team)
    assert row is not None and row.id is not None
    return slot_key(row.id, Week.last_complete(SystemClock().now(), row.tz).label)


def test_a_slot_being_posted_says_since_when_not_already_posted(
    env: dict[str, str], db: Database, fake_slack: FakeSlack
) -> None:
    from datetime import UTC, datetime, timedelta

    from chatbot.clock import FrozenClock, SystemClock
    from chatbot.db.claims import claim_run

    TeamService(db, SystemClock()).add("payments", "C1")
    started = FrozenClock(datetime.now(UTC) - timedelta(minutes=2))  # another process, alive
    assert claim_run(db, started, _slot_key(db, "payments"), "digest")
    result = CliRunner().invoke(app, ["digest", "--team", "payments", "--post"])
    assert result.exit_code == 2
    assert f"being posted right now (since {started.now():%H:%M} UTC)" in result.output
    assert "already posted" not in result.output


@pytest.mark.parametrize(
    ("error", "said"),
    [
        ("internal_error", "The clock retries it by itself."),
        ("channel_not_found", "It will not be retried by itself"),
        ("invalid_auth", "It will not be retried by itself"),
    ],
)
def test_a_refused_post_says_whether_it_will_be_retried(
    env: dict[str, str], db: Database, fake_slack: FakeSlack, error: str, said: str
) -> None:
    from chatbot.clock import SystemClock

    TeamService(db, SystemClock()).add("payments", "C1")
    fake_slack.fail_next("chat.postMessage", error, times=3)
    result = CliRunner().invoke(app, ["digest", "--team", "payments", "--post"])
    assert result.exit_code == 2
    assert f"Slack refused the digest ({error})" in result.output and said in result.output
