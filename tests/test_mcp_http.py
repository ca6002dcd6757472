"""The MCP server through the running app, driven by the official MCP SDK client over HTTP.

The world: team payments (public CPAY1: U1 and U2), a private channel CSEC that only U2 is in;
U1's token is the agent's. Every tool and resource is called; none may show CSEC's items to U1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from chatbot.agents.tokens import TokenService
from chatbot.decisions.models import Decision
from chatbot.decisions.service import DecisionService
from chatbot.intent.service import IntentService, IntentView
from chatbot.slack.ids import AgentId
from tests.conftest import Bot
from tests.factories import make_decision, make_intent, make_team
from tests.http_raw import request_bytes, send
from tests.mcp_helpers import http_client, run, tool_json, tool_text

TOOL_NAMES = {
    "find_context",
    "get_intent",
    "context_pack",
    "decisions",
    "digest",
    "log_decision",
    "post_progress",
    "propose_evidence",
}
SECRET_WORD = "auditors"


@dataclass
class World:
    public: Decision
    secret: Decision
    intent: IntentView
    private_intent: IntentView
    token: str


def _world(bot: Bot, user: str = "U1") -> World:
    db, clock = bot.services.db, bot.services.clock
    make_team(db, clock, "payments", "CPAY1", leaders=["U9"])
    bot.fake.channel_members.update({"CPAY1": {"U1", "U2"}, "CSEC": {"U2"}})
    bot.fake.private_channels.add("CSEC")
    public = make_decision(
        db,
        clock,
        "Use Postgres advisory locks for refunds because one refund per order #refunds PAY-7",
        channel="CPAY1",
    )
    secret = make_decision(
        db,
        clock,
        f"Rotate the refund signing key weekly because {SECRET_WORD} asked #refunds PAY-7",
        channel="CSEC",
        private=True,
        author="U2",
    )
    intent = make_intent(db, clock, "Refunds in one click", channel="CPAY1", jira_key="PAY-7")
    IntentService(db, clock).set_card(intent.intent.id or 0, "1700000000.000100")
    private_intent = make_intent(
        db, clock, f"Refund key rotation for {SECRET_WORD}", channel="CSEC", user="U2"
    )
    with db.session() as s:
        row = s.get(type(private_intent.intent), private_intent.intent.id)
        assert row is not None
        row.channel_is_private = True
    made = TokenService(db, clock).create(user, "laptop-claude")
    return World(public, secret, intent, private_intent, made.secret)


def _url(bot: Bot) -> str:
    return bot.server.url + "/mcp"


def _ref(d: Decision) -> str:
    return f"D-{d.id}"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_lists_the_tools_and_calls_each_read_tool(bot: Bot, mode: str) -> None:
    world = _world(bot)

    async def work(client: Any) -> dict[str, Any]:
        return {
            "tools": await client.list_tools(),
            "find": await client.call_tool("find_context", {"query": "refund"}),
            "intent": await client.call_tool("get_intent", {"ref": "PAY-7"}),
            "pack": await client.call_tool("context_pack", {}),
            "by_tag": await client.call_tool("decisions", {"tag": "refunds"}),
            "by_key": await client.call_tool("decisions", {"key": _ref(world.public)}),
            "digest": await client.call_tool("digest", {"team": "payments"}),
        }

    got = run(http_client(_url(bot), world.token, mode), work)
    assert {t.name for t in got["tools"].tools} == TOOL_NAMES
    for tool in got["tools"].tools:
        assert "Example" in (tool.description or "") and tool.input_schema["type"] == "object"
    found = tool_json(got["find"])["results"]
    assert [h["ref"] for h in found if h["kind"] == "intent"] == [world.intent.ref]
    assert _ref(world.public) in [h["ref"] for h in found]
    intent = tool_json(got["intent"])
    assert intent["ref"] == world.intent.ref and intent["constraints"] == ["p95 under 300 ms"]
    assert [c["number"] for c in intent["checks"]] == list(range(1, len(intent["checks"]) + 1))
    assert not any(c["verified"] for c in intent["checks"])
    assert [d["ref"] for d in intent["decisions"]] == [_ref(world.public)]
    assert {"kind": "jira", "key": "PAY-7"} in intent["links"]
    pack = tool_text(got["pack"])
    assert pack.startswith("# Context pack: team payments") and world.intent.ref in pack
    assert [d["ref"] for d in tool_json(got["by_tag"])["decisions"]] == [_ref(world.public)]
    assert tool_json(got["by_key"])["decisions"][0]["why"] == "one refund per order #refunds PAY-7"
    digest = tool_json(got["digest"])
    assert digest["team"] == "payments" and "cycle_time" in digest["metrics"]


def test_a_private_channels_items_reach_no_tool_or_resource_of_a_non_member(bot: Bot) -> None:
    world = _world(bot)

    async def work(client: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "find": await client.call_tool("find_context", {"query": SECRET_WORD}),
            "find_all": await client.call_tool("find_context", {"query": "refund"}),
            "by_key": await client.call_tool("decisions", {"key": _ref(world.secret)}),
            "by_jira": await client.call_tool("decisions", {"key": "PAY-7"}),
            "by_tag": await client.call_tool("decisions", {"tag": "refunds"}),
            "by_date": await client.call_tool("decisions", {"since": "2000-01-01"}),
            "intent": await client.call_tool("get_intent", {"ref": world.private_intent.ref}),
            "linked": await client.call_tool("get_intent", {"ref": "PAY-7"}),
            "pack": await client.call_tool("context_pack", {}),
            "pack_key": await client.call_tool("context_pack", {"key": "PAY-7"}),
            "resource": await client.read_resource("throughline://pack/payments"),
        }
        try:
            await client.read_resource(f"throughline://intent/{world.private_intent.ref}")
            out["intent_resource"] = "served"
        except MCPError as exc:
            out["intent_resource"] = exc.message
        return out

    got = run(http_client(_url(bot), world.token), work)
    assert tool_json(got["find"])["results"] == []
    for name in ("find_all", "by_jira", "by_tag", "by_date", "linked"):
        text = tool_text(got[name])
        assert _ref(world.secret) not in text and SECRET_WORD not in text, name
        assert _ref(world.public) in text, name  # public ones are still served
    assert got["by_key"].is_error and "private channel" in tool_text(got["by_key"])
    assert got["intent"].is_error and "private channel" in tool_text(got["intent"])
    for name in ("pack", "pack_key"):
        assert SECRET_WORD not in tool_text(got[name]), name
    assert SECRET_WORD not in got["resource"].contents[0].text
    assert "private channel" in got["intent_resource"]


def test_a_member_of_the_private_channel_sees_its_items(bot: Bot) -> None:
    world = _world(bot, user="U2")

    async def work(client: Any) -> list[Any]:
        return [
            await client.call_tool("find_context", {"query": SECRET_WORD}),
            await client.call_tool("get_intent", {"ref": "PAY-7"}),
            await client.call_tool("decisions", {"key": _ref(world.secret)}),
        ]

    found, intent, by_key = run(http_client(_url(bot), world.token), work)
    refs = [h["ref"] for h in tool_json(found)["results"]]
    assert _ref(world.secret) in refs and world.private_intent.ref in refs
    linked = [d["ref"] for d in tool_json(intent)["decisions"]]
    assert sorted(linked) == sorted([_ref(world.public), _ref(world.secret)])
    assert tool_json(by_key)["decisions"][0]["ref"] == _ref(world.secret)


def test_when_slack_cannot_say_who_is_in_a_channel_private_items_are_withheld(bot: Bot) -> None:
    world = _world(bot, user="U2")
    bot.fake.fail_next("conversations.members", "internal_error", times=50)

    async def work(client: Any) -> Any:
        return await client.call_tool("find_context", {"query": "refund"})

    refs = [h["ref"] for h in tool_json(run(http_client(_url(bot), world.token), work))["results"]]
    # Team membership falls back to the roles named in the team; U2 has none: nothing at all,
    # but the server still answers.
    assert _ref(world.secret) not in refs


def test_membership_answers_are_cached_at_most_five_minutes(bot: Bot) -> None:
    world = _world(bot, user="U2")

    async def work(client: Any) -> Any:
        return await client.call_tool("find_context", {"query": SECRET_WORD})

    def refs() -> list[str]:
        found = tool_json(run(http_client(_url(bot), world.token), work))["results"]
        return [h["ref"] for h in found]

    assert _ref(world.secret) in refs()
    bot.fake.channel_members["CSEC"] = {"U3"}  # U2 leaves the channel
    assert _ref(world.secret) in refs()  # still cached
    bot.services.clock.advance(minutes=5)  # type: ignore[attr-defined]
    assert _ref(world.secret) not in refs()


def test_a_digest_shows_names_only_to_the_teams_leaders(bot: Bot) -> None:
    world = _world(bot)
    leader = TokenService(bot.services.db, bot.services.clock).create("U9", "lead").secret

    async def work(client: Any) -> Any:
        return await client.call_tool("digest", {})

    as_member = tool_json(run(http_client(_url(bot), world.token), work))
    as_leader = tool_json(run(http_client(_url(bot), leader), work))
    assert "by_person" in as_leader["metrics"]["wip"]
    assert "by_person" not in as_member["metrics"]["wip"]
    assert "over_limit" not in as_member["metrics"]["wip"]
    assert as_member["metrics"]["wip"]["over_limit_count"] == len(
        as_leader["metrics"]["wip"]["over_limit"]
    )


def test_revoked_expired_and_unknown_tokens_get_nothing(bot: Bot) -> None:
    world = _world(bot)
    tokens = TokenService(bot.services.db, bot.services.clock)
    expired = tokens.create("U1", "old", days=1).secret
    tokens.revoke_user("U1")
    fresh_then_expired = tokens.create("U1", "short", days=1).secret
    bot.services.clock.advance(days=2)  # type: ignore[attr-defined]

    async def work(client: Any) -> Any:
        return await client.call_tool("find_context", {"query": "refund"})

    for token, says in (
        (world.token, "revoked"),
        (expired, "revoked"),
        (fresh_then_expired, "expired"),
        ("thr_nobody", "No valid token"),
        (None, "No valid token"),
    ):
        with pytest.raises(BaseException) as caught:
            run(http_client(_url(bot), token), work)
        assert says in _mcp_message(caught.value), token
    raw = send(bot.server.url, request_bytes("POST", "/mcp", [], b'{"jsonrpc": "2.0"}'))
    assert raw.status == 401 and "make one in Slack" in raw.json()["error"]["message"]


def _mcp_message(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    assert isinstance(exc, MCPError), repr(exc)
    return exc.message


def test_errors_are_clear_tool_results(bot: Bot) -> None:
    world = _world(bot)

    async def work(client: Any) -> dict[str, Any]:
        return {
            "unknown_intent": await client.call_tool("get_intent", {"ref": "I-999"}),
            "unknown_decision": await client.call_tool("decisions", {"key": "D-999"}),
            "too_long": await client.call_tool(
                "post_progress",
                {"request_id": "r1", "intent": world.intent.ref, "text": "x" * 3001},
            ),
            "bad_args": await client.call_tool("find_context", {"words": "x"}),
            "unknown_tool": await client.call_tool("drop_tables", {}),
        }

    got = run(http_client(_url(bot), world.token), work)
    for name, says in (
        ("unknown_intent", "No intent I-999"),
        ("unknown_decision", "No decision D-999"),
        ("too_long", "at most 3000 characters"),
        ("bad_args", "Bad arguments for find_context"),
        ("unknown_tool", "No tool drop_tables"),
    ):
        assert got[name].is_error, name
        assert says in tool_text(got[name]), (name, tool_text(got[name]))
        assert "Traceback" not in tool_text(got[name])


def test_log_decision_proposes_once_attributed_and_a_click_accepts_it(bot: Bot) -> None:
    world = _world(bot)
    bot.fake.user_names["U1"] = "Ann Lee"
    args = {
        "request_id": "6f1c7d2e-retry",
        "decision": "Cache refund eligibility for 5 minutes",
        "why": "the ledger query is slow",
        "intent": world.intent.ref,
        "tags": ["perf"],
    }

    async def work(client: Any) -> list[Any]:
        first = await client.call_tool("log_decision", args)
        again = await client.call_tool("log_decision", args)
        found = await client.call_tool("find_context", {"query": "eligibility"})
        pack = await client.call_tool("context_pack", {})
        return [first, again, found, pack]

    first, again, found, pack = run(http_client(_url(bot), world.token), work)
    one, two = tool_json(first), tool_json(again)
    assert one["status"] == "proposed" and one["posted"] is True and one["replayed"] is False
    assert two["ref"] == one["ref"] and two["replayed"] is True
    with bot.services.db.session() as s:
        logged = [d for d in s.query(Decision).all() if "eligibility" in d.decision]
    assert len(logged) == 1
    d = logged[0]
    assert (d.author, d.via_agent, d.channel_id, d.intent_id) == (
        "U1",
        "laptop-claude",
        "CPAY1",
        world.intent.intent.id,
    )
    cards = [c for c in bot.fake.of("chat.postMessage", ok=True) if c.params["channel"] == "CPAY1"]
    assert len(cards) == 1
    card = json.dumps(cards[0].params["blocks"])
    assert "Proposed by <@U1> via laptop-claude" in card and AgentId.ACCEPT_DECISION in card
    hit = tool_json(found)["results"][0]
    assert (hit["ref"], hit["status"]) == (one["ref"], "proposed")
    assert hit["via_agent"] == "laptop-claude"
    assert "- By: @Ann Lee via laptop-claude" in tool_text(pack)

    ts = cards[0].response["ts"]
    assert bot.slack.action(AgentId.ACCEPT_DECISION, str(d.id), "U2", "CPAY1", ts).status == 200
    bot.settle()
    accepted = DecisionService(bot.services.db, bot.services.clock).get(d.id)
    assert accepted is not None and accepted.status == "accepted"
    update = bot.fake.wait_for("chat.update", lambda c: c.params.get("ts") == ts)[0]
    assert "Accepted by <@U2>" in json.dumps(update.params["blocks"])


def test_progress_goes_to_the_intents_thread_and_evidence_waits_for_a_person(bot: Bot) -> None:
    world = _world(bot)
    thread = "1700000000.000100"

    async def work(client: Any) -> list[Any]:
        progress = await client.call_tool(
            "post_progress",
            {"request_id": "p-1", "intent": world.intent.ref, "text": "API done <!channel>"},
        )
        retry = await client.call_tool(
            "post_progress",
            {"request_id": "p-1", "intent": world.intent.ref, "text": "API done <!channel>"},
        )
        evidence = await client.call_tool(
            "propose_evidence",
            {
                "request_id": "e-1",
                "intent": world.intent.ref,
                "check": 1,
                "evidence": "test_refund_once passes in CI run 812",
            },
        )
        no_check = await client.call_tool(
            "propose_evidence",
            {"request_id": "e-2", "intent": world.intent.ref, "check": 99, "evidence": "x"},
        )
        return [progress, retry, evidence, no_check]

    progress, retry, evidence, no_check = run(http_client(_url(bot), world.token), work)
    assert tool_json(progress)["posted"] and tool_json(retry)["replayed"] is True
    posts = [c for c in bot.fake.of("chat.postMessage", ok=True) if c.params.get("thread_ts")]
    assert [c.params["thread_ts"] for c in posts] == [thread, thread]  # progress once, evidence
    assert "&lt;!channel&gt;" in posts[0].params["text"] and "<!channel>" not in json.dumps(
        posts[0].params
    )
    assert tool_json(evidence)["check"] == 1
    assert no_check.is_error and "“check” must be 1–" in tool_text(no_check)
    view = IntentService(bot.services.db, bot.services.clock).get(world.intent.intent.id or 0)
    assert view is not None and view.checks[0].verified_at is None  # an agent cannot verify

    check_id = str(view.checks[0].id)
    ts = posts[1].response["ts"]
    assert bot.slack.action(AgentId.VERIFY_EVIDENCE, check_id, "U2", "CPAY1", ts).status == 200
    bot.settle()
    view = IntentService(bot.services.db, bot.services.clock).get(world.intent.intent.id or 0)
    assert view is not None and view.checks[0].verified_by == "U2"


class TestRateLimit:
    @pytest.fixture
    def bot_settings(self) -> dict[str, Any]:
        # Each call_tool is two requests here: the call, and tools/list to check its result.
        return {"mcp_calls_per_minute": 4}

    def test_a_token_over_its_rate_gets_a_clear_error_then_is_served_again(self, bot: Bot) -> None:
        world = _world(bot)

        async def one_call(client: Any) -> Any:
            return await client.call_tool("find_context", {"query": "refund"})

        def call() -> Any:
            return run(http_client(_url(bot), world.token, mode="2026-07-28"), one_call)

        call()
        call()
        with pytest.raises(BaseException) as caught:
            call()
        assert "Too many calls with this token: retry in 60 s" in _mcp_message(caught.value)
        bot.services.clock.advance(minutes=1)  # type: ignore[attr-defined]
        assert tool_json(call())["results"]


def test_a_person_in_several_teams_names_the_team_to_write_to(bot: Bot) -> None:
    world = _world(bot)
    make_team(bot.services.db, bot.services.clock, "ledger", "CLED1", orchestrators=["U1"])
    args = {"request_id": "t-1", "decision": "Book refunds in the ledger at once"}

    async def work(client: Any) -> list[Any]:
        return [
            await client.call_tool("log_decision", args),
            await client.call_tool("log_decision", {**args, "team": "nope"}),
            await client.call_tool("log_decision", {**args, "team": "ledger"}),
        ]

    unnamed, unknown, named = run(http_client(_url(bot), world.token), work)
    assert unnamed.is_error and "several teams (ledger, payments)" in tool_text(unnamed)
    assert unknown.is_error and "not in a team called nope" in tool_text(unknown)
    assert tool_json(named)["team"] == "ledger"  # the refused calls did not use up the id
    cards = [c for c in bot.fake.of("chat.postMessage", ok=True) if c.params["channel"] == "CLED1"]
    assert len(cards) == 1
