"""Personal agent tokens: made in Slack and shown once, stored hashed, expiring, revoked from
App Home, by `chatbot token` and when Slack deactivates the person."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from chatbot.agents.tokens import Refusal, TokenError, TokenService, hash_secret
from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.outbox.models import OutboxMessage
from chatbot.slack.ids import AgentId
from tests.cli_helpers import Invoked, invoke_chatbot
from tests.conftest import Bot


def test_a_token_is_stored_as_a_hash_and_expires_after_90_days(
    db: Database, clock: FrozenClock
) -> None:
    tokens = TokenService(db, clock)
    made = tokens.create("U1", "  laptop   claude ")
    assert made.secret.startswith("thr_") and len(made.secret) >= 40
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_hash, name FROM agent_token")).one()
    assert stored[0] == hash_secret(made.secret) and made.secret not in stored[0]
    assert stored[1] == "laptop claude"
    assert (made.token.expires_at - made.token.created_at).days == 90

    checked = tokens.check(made.secret, calls_per_minute=10)
    assert checked.token is not None and checked.token.user_id == "U1"
    assert tokens.all("U1")[0].last_used_at == clock.now()
    used_at = clock.now()
    clock.advance(seconds=59)
    tokens.check(made.secret, 10)
    assert tokens.all("U1")[0].last_used_at == used_at  # written at most once a minute
    clock.advance(seconds=1)
    tokens.check(made.secret, 10)
    assert tokens.all("U1")[0].last_used_at == clock.now()
    clock.advance(days=90)
    assert tokens.check(made.secret, 10).refusal == Refusal.EXPIRED
    assert tokens.check(made.secret + "x", 10).refusal == Refusal.UNKNOWN
    assert tokens.check("", 10).refusal == Refusal.MISSING


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_a_token_needs_a_short_name(db: Database, clock: FrozenClock, name: str) -> None:
    with pytest.raises(TokenError):
        TokenService(db, clock).create("U1", name)


def test_revoke_one_a_persons_or_all(db: Database, clock: FrozenClock) -> None:
    tokens = TokenService(db, clock)
    a, b, c = (tokens.create(u, "t") for u in ("U1", "U1", "U2"))
    with pytest.raises(TokenError):
        tokens.revoke(a.token.id or 0, by_user="U2")  # not theirs
    tokens.revoke(a.token.id or 0, by_user="U1")
    assert tokens.check(a.secret, 10).refusal == Refusal.REVOKED
    assert tokens.check(b.secret, 10).token is not None
    assert tokens.revoke_user("U1") == 1
    assert tokens.check(b.secret, 10).refusal == Refusal.REVOKED
    assert tokens.check(c.secret, 10).token is not None
    assert tokens.revoke_all() == 1
    assert tokens.check(c.secret, 10).refusal == Refusal.REVOKED


def test_the_rate_limit_counts_calls_per_token_per_minute(db: Database, clock: FrozenClock) -> None:
    tokens = TokenService(db, clock)
    one, other = tokens.create("U1", "a"), tokens.create("U1", "b")
    assert [tokens.check(one.secret, 2).rate_limited for _ in range(3)] == [False, False, True]
    assert tokens.check(one.secret, 2).retry_after_seconds == 60
    assert not tokens.check(other.secret, 2).rate_limited
    clock.advance(seconds=59)
    assert tokens.check(one.secret, 2).retry_after_seconds == 1
    clock.advance(seconds=1)
    assert not tokens.check(one.secret, 2).rate_limited


# --- Slack ---------------------------------------------------------------------------------
def test_context_connect_shows_the_token_once_with_three_client_configs(bot: Bot) -> None:
    assert bot.slack.command("/context", "connect laptop <!channel>", user="U1").status == 200
    bot.settle()
    shown = bot.fake.wait_for("respond")[-1].params
    blocks = json.dumps(shown["blocks"])
    secret = blocks.split("`thr_")[1].split("`")[0]
    tokens = TokenService(bot.services.db, bot.services.clock)
    mine = tokens.all("U1")
    assert len(mine) == 1 and mine[0].name == "laptop <!channel>"
    assert tokens.check("thr_" + secret, 10).token is not None
    assert "&lt;!channel&gt;" in blocks and "<!channel>" not in blocks
    for client in ("claude mcp add --transport http", "mcpServers", '\\"servers\\"'):
        assert client in blocks, client
    assert "http://localhost:3000/mcp" in blocks
    # Shown straight to Slack: the secret is kept nowhere but as its hash, not in the outbox.
    with bot.services.db.session() as s:
        owed = [json.dumps(r.payload) for r in s.exec(select(OutboxMessage)).all()]
    assert not [p for p in owed if secret in p]


def test_context_connect_without_a_name_says_how(bot: Bot) -> None:
    bot.slack.command("/context", "connect", user="U1")
    bot.settle()
    assert "/context connect NAME" in bot.fake.wait_for("respond")[-1].params["text"]
    assert TokenService(bot.services.db, bot.services.clock).all() == []


def test_app_home_connects_lists_and_revokes(bot: Bot) -> None:
    bot.slack.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    bot.settle()
    home = json.dumps(bot.fake.wait_for("views.publish")[-1].params["view"])
    assert "Connect an agent" in home and AgentId.CONNECT in home

    bot.slack.action(AgentId.CONNECT, "connect", user="U1")
    bot.settle()
    form = bot.fake.wait_for("views.open")[-1].params["view"]
    form = json.loads(form) if isinstance(form, str) else form
    answer = bot.slack.view_submission(form, {"name": "cursor"}, user="U1")
    assert answer.status == 200
    update = answer.json()
    assert update["response_action"] == "update" and "thr_" in json.dumps(update["view"])
    bot.settle()
    home = json.dumps(bot.fake.wait_for("views.publish", count=2)[-1].params["view"])
    token = TokenService(bot.services.db, bot.services.clock).all("U1")[0]
    assert "*cursor*" in home and f"T-{token.id}" in home and "never" in home

    bot.slack.action(AgentId.REVOKE, str(token.id), user="U2")  # not theirs: nothing happens
    bot.settle()
    assert TokenService(bot.services.db, bot.services.clock).all("U1")[0].revoked_at is None
    bot.slack.action(AgentId.REVOKE, str(token.id), user="U1")
    bot.settle()
    assert TokenService(bot.services.db, bot.services.clock).all("U1")[0].revoked_at is not None
    home = json.dumps(bot.fake.wait_for("views.publish", count=3)[-1].params["view"])
    assert "*cursor*" not in home


def test_an_empty_name_in_the_form_is_an_inline_error(bot: Bot) -> None:
    bot.slack.action(AgentId.CONNECT, "connect", user="U1")
    bot.settle()
    form = bot.fake.wait_for("views.open")[-1].params["view"]
    form = json.loads(form) if isinstance(form, str) else form
    answer = bot.slack.view_submission(form, {"name": " "}, user="U1").json()
    assert answer["response_action"] == "errors" and "name" in answer["errors"]


def test_a_person_deactivated_in_slack_loses_their_tokens(bot: Bot) -> None:
    tokens = TokenService(bot.services.db, bot.services.clock)
    mine, theirs = tokens.create("U1", "a"), tokens.create("U2", "b")
    bot.slack.event({"type": "user_change", "user": {"id": "U1", "deleted": False}})
    bot.settle()
    assert tokens.check(mine.secret, 10).token is not None
    bot.slack.event({"type": "user_change", "user": {"id": "U1", "deleted": True}})
    bot.settle()
    assert tokens.check(mine.secret, 10).refusal == Refusal.REVOKED
    assert tokens.check(theirs.secret, 10).token is not None


# --- CLI -----------------------------------------------------------------------------------
@pytest.fixture
def run(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    def _chatbot(*args: str) -> Invoked:
        return invoke_chatbot(*args, cwd=tmp_path, env={"DATABASE_URL": db_url, "COLUMNS": "250"})

    return _chatbot


def test_token_list_and_revoke_from_the_cli(run, db: Database, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    tokens = TokenService(db, clock)
    a, b, c = tokens.create("U1", "laptop"), tokens.create("U1", "ci"), tokens.create("U2", "x")
    listed = run("token", "list")
    assert listed.returncode == 0, listed.stderr
    assert "laptop" in listed.stdout and f"T-{c.token.id}" in listed.stdout
    assert a.secret not in listed.stdout and a.token.secret_hash not in listed.stdout

    assert run("token", "revoke", f"T-{a.token.id}").returncode == 0
    assert tokens.check(a.secret, 10).refusal == Refusal.REVOKED
    assert "Revoked 1" in run("token", "revoke", "--user", "U1").stdout
    assert tokens.check(b.secret, 10).refusal == Refusal.REVOKED
    assert tokens.check(c.secret, 10).token is not None
    assert "revoked" in run("token", "list", "--user", "U1").stdout
    assert run("token", "revoke", "--all").returncode == 0
    assert tokens.check(c.secret, 10).refusal == Refusal.REVOKED


@pytest.mark.parametrize(
    "args, says",
    [
        (("token", "revoke"), "Say which"),
        (("token", "revoke", "T-1", "--all"), "Say which"),
        (("token", "revoke", "abc"), "is not a token id"),
        (("token", "revoke", "T-999"), "No token T-999"),
    ],
)
def test_token_cli_refusals_are_one_line_and_exit_2(run, db: Database, args, says) -> None:  # type: ignore[no-untyped-def]
    done = run(*args)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr
