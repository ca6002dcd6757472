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
