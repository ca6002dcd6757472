"""The context pack over HTTP (bearer token) and from the CLI; decisions written to Jira."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from chatbot.decisions.service import DecisionDraft, DecisionService, Origin
from chatbot.jira.writes import comment_row_key
from chatbot.outbox import store
from chatbot.teams.service import TeamService
from tests.conftest import Bot
from tests.factories import settle
from tests.fakes.jira_api import FakeJiraServer
from tests.jira_fixtures import jira_server_fixture, jira_settings  # noqa: F401  (fixtures)


@pytest.fixture
def bot_settings(jira_server: FakeJiraServer) -> dict[str, Any]:
    return {"context_http_token": "pack-token", **jira_settings(jira_server.url, "dc")}


def _seed(bot: Bot) -> None:
    TeamService(bot.services.db, bot.services.clock).add("payments", "CPAY1", jira_project="PAY")
    service = DecisionService(bot.services.db, bot.services.clock)
    service.record(
        DecisionDraft.from_text("Use Stripe because API"), "U1", "U1", Origin("CPAY1", False)
    )
    service.record(
        DecisionDraft.from_text("Refund cap for PAY-3"), "U1", "U1", Origin("COTHER1", False)
    )
    service.record(
        DecisionDraft.from_text("Secret PAY-3 pricing"), "U1", "U1", Origin("CPAY1", True)
    )


def test_http_pack_needs_the_token_and_shows_public_only(bot: Bot) -> None:
    _seed(bot)
    refused = bot.slack.get("/context/payments.md")
    assert refused.status == 401
    assert refused.json() == {"ok": False, "error": "bearer token required"}
    wrong = {"Authorization": "Bearer nope"}
    assert bot.slack.get("/context/payments.md", wrong).status == 401
    ok = {"Authorization": "Bearer pack-token"}
    unknown = bot.slack.get("/context/nobody.md", ok)
    assert unknown.status == 404
    assert unknown.json() == {"ok": False, "error": "unknown team"}
    for path in ("/context/payments", "/context/payments/x.md", "/context/a%2Fpayments.md"):
        misnamed = bot.slack.get(path, ok)
        assert misnamed.status == 404, path
        assert misnamed.json() == {"ok": False, "error": "use /context/<team>.md"}, path
    resp = bot.slack.get("/context/payments.md", ok)
    assert resp.status == 200 and resp.content_type == "text/markdown; charset=utf-8"
    body = resp.body.decode()
    assert body.startswith("# Context pack: team payments")
    assert "Use Stripe" in body and "Refund cap for PAY-3" in body and "Secret" not in body
    keyed = bot.slack.get("/context/payments.md?key=PAY-3", ok).body.decode()
    assert "Refund cap" in keyed and "Use Stripe" not in keyed and "Secret" not in keyed


@pytest.mark.drill
def test_cli_pack_prints_the_same_markdown(bot: Bot, db_url: str) -> None:
    _seed(bot)
    bot.fake.user_names["U1"] = "Ada Lovelace"
    bot.fake.channel_names["CPAY1"] = "payments"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_"))}
    env["DATABASE_URL"] = db_url
    env["SLACK_BOT_TOKEN"] = "xoxb-test-token"  # names come from the (fake) Slack, as over HTTP
    env["SLACK_API_URL"] = bot.fake.base_url + "api/"
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "context", "pack", "--team", "payments"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd="/tmp",
    )
    assert result.returncode == 0, result.stderr
    http = bot.slack.get("/context/payments.md", {"Authorization": "Bearer pack-token"})
    assert result.stdout == http.body.decode() and "Secret" not in result.stdout
    assert "- By: @Ada Lovelace" in result.stdout and "- Channel: #payments" in result.stdout
    assert "U1" not in result.stdout and "CPAY1" not in result.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "chatbot", "context", "pack", "--team", "nobody"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd="/tmp",
    )
    assert missing.returncode == 2 and "nobody" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_decision_with_a_key_is_written_to_jira_through_the_outbox(
    bot: Bot, jira_server: FakeJiraServer
) -> None:
    assert bot.services.jira is not None
    jira_server.fake.reset("dc")
    jira_server.fake.add_issue("PAY-12")
    bot.fake.private_channels.add("GPRIV02")
    try:
        assert bot.slack.command("/decision", "Use Stripe for PAY-12 because API").status == 200
        bot.settle()
        assert bot.slack.command("/decision", "Hidden PAY-12 plan", channel="GPRIV02").status == 200
        bot.settle()
    finally:
        bot.fake.private_channels.discard("GPRIV02")
    row = store.by_key(bot.services.db, comment_row_key("decision:1:PAY-12"))
    assert row is not None and row.payload["issue_key"] == "PAY-12"
    assert "Use Stripe for PAY-12" in row.payload["text"] and "Why: API" in row.payload["text"]
    assert "https://test.slack.com/archives/C1/" in row.payload["text"]  # the card's permalink
    # a private conversation's decision never goes to Jira
    assert store.by_key(bot.services.db, comment_row_key("decision:2:PAY-12")) is None
    # an edit updates the same comment (same row, re-armed), never a second one
    flow = bot.root.slack.decisions
    flow.write_to_jira(flow.decisions.edit(1, "U1", why="better API"))
    again = store.by_key(bot.services.db, comment_row_key("decision:1:PAY-12"))
    assert again is not None and again.id == row.id and "better API" in again.payload["text"]
    # sent right away, without waiting for the clock process: one comment, edited in place
    settle(bot)
    comments = jira_server.fake.issues["PAY-12"].comments
    assert len(comments) == 1 and "better API" in str(comments)
