"""`python -m chatbot mcp --url …` over stdio, driven by the official MCP SDK client: the same
tools and permissions as /mcp, because every request is forwarded there."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from chatbot.agents.tokens import TokenService
from tests.cli_helpers import run_chatbot
from tests.conftest import Bot
from tests.factories import make_decision, make_intent, make_team
from tests.mcp_helpers import run, tool_json


def _stdio(url: str, token: str) -> Client:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env["THROUGHLINE_TOKEN"] = token
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "chatbot", "mcp", "--url", url], env=env
    )
    return Client(params, cache=None)


def test_stdio_lists_tools_reads_and_writes_as_the_tokens_person(bot: Bot) -> None:
    db, clock = bot.services.db, bot.services.clock
    make_team(db, clock, "payments", "CPAY1")
    bot.fake.channel_members.update({"CPAY1": {"U1"}, "CSEC": {"U2"}})
    public = make_decision(db, clock, "Refunds use advisory locks", channel="CPAY1")
    secret = make_decision(db, clock, "Refund keys rotate", channel="CSEC", private=True)
    intent = make_intent(db, clock, "Refunds in one click", channel="CPAY1")
    token = TokenService(db, clock).create("U1", "stdio-agent").secret

    async def work(client: Any) -> dict[str, Any]:
        return {
            "tools": await client.list_tools(),
            "find": await client.call_tool("find_context", {"query": "refund"}),
            "intent": await client.call_tool("get_intent", {"ref": intent.ref}),
            "log": await client.call_tool(
                "log_decision", {"request_id": "s-1", "decision": "Refund via the ledger API"}
            ),
            "pack": await client.read_resource("throughline://pack/payments"),
            "templates": await client.list_resource_templates(),
        }

    got = run(_stdio(bot.server.url + "/mcp", token), work)
    assert "log_decision" in {t.name for t in got["tools"].tools}
    refs = [h["ref"] for h in tool_json(got["find"])["results"]]
    assert f"D-{public.id}" in refs and f"D-{secret.id}" not in refs
    assert tool_json(got["intent"])["ref"] == intent.ref
    assert tool_json(got["log"])["status"] == "proposed"
    assert "Refund via the ledger API" in got["pack"].contents[0].text
    assert {t.name for t in got["templates"].resource_templates} == {"context-pack", "intent"}
    assert tool_json(got["log"])["posted"] is True


def test_stdio_without_a_token_or_with_a_revoked_one_says_so_and_exits_2(
    bot: Bot, tmp_path: Path
) -> None:
    url = bot.server.url + "/mcp"
    no_token = run_chatbot("mcp", "--url", url, cwd=tmp_path, drop=("THROUGHLINE_",))
    assert no_token.returncode == 2 and "Set THROUGHLINE_TOKEN" in no_token.stderr
    bad_url = run_chatbot(
        "mcp", "--url", "localhost/mcp", cwd=tmp_path, env={"THROUGHLINE_TOKEN": "x"}
    )
    assert bad_url.returncode == 2 and "--url must be" in bad_url.stderr
    tokens = TokenService(bot.services.db, bot.services.clock)
    made = tokens.create("U1", "gone")
    tokens.revoke_user("U1")
    revoked = run_chatbot("mcp", "--url", url, cwd=tmp_path, env={"THROUGHLINE_TOKEN": made.secret})
    assert revoked.returncode == 2, revoked.stderr
    assert "token was revoked" in revoked.stderr and "Traceback" not in revoked.stderr
    assert made.secret not in revoked.stderr
