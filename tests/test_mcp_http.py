"""The MCP server through the running app, driven by the official MCP SDK client over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from chatbot.agents.tokens import TokenService
from tests.conftest import Bot
from tests.factories import make_decision, make_intent, make_team
from tests.mcp_helpers import http_client, run, tool_json

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


def _world(bot: Bot) -> dict[str, Any]:
    """Team payments (public CPAY1: U1, U2); private CSEC (U2 only); U1's token."""
    db, clock = bot.services.db, bot.services.clock
    make_team(db, clock, "payments", "CPAY1")
    bot.fake.channel_members.update({"CPAY1": {"U1", "U2"}, "CSEC": {"U2"}})
    bot.fake.private_channels.add("CSEC")
    public = make_decision(
        db,
        clock,
        "Use Postgres advisory locks for refunds because one refund per order",
        channel="CPAY1",
    )
    secret = make_decision(
        db,
        clock,
        "Rotate the refund signing key weekly because auditors asked",
        channel="CSEC",
        private=True,
        author="U2",
    )
    intent = make_intent(db, clock, "Refunds in one click", channel="CPAY1", jira_key=None)
    made = TokenService(db, clock).create("U1", "laptop-claude")
    return {"public": public, "secret": secret, "intent": intent, "token": made.secret}


def _url(bot: Bot) -> str:
    return bot.server.url + "/mcp"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_lists_tools_and_reads_as_the_tokens_person(bot: Bot, mode: str) -> None:
    world = _world(bot)

    async def work(client: Any) -> Any:
        tools = await client.list_tools()
        found = await client.call_tool("find_context", {"query": "refund"})
        return tools, found

    tools, found = run(http_client(_url(bot), world["token"], mode), work)
    assert {t.name for t in tools.tools} == TOOL_NAMES
    refs = [r["ref"] for r in tool_json(found)["results"]]
    assert f"D-{world['public'].id}" in refs
    assert f"D-{world['secret'].id}" not in refs
