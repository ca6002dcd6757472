"""MCP find_context over HTTP against the same search in-process, with 100,000 decisions.

    .venv/bin/python bench/mcp_find_context.py [--rows 100000] [--queries 200] [--write-readme]

(`--write-readme` writes the table into docs/performance.md.)

Fills a SQLite file with the decisions of bench/decisions_search.py, adds a team whose channels
hold them and a person's agent token, starts `chatbot serve` (gunicorn, one worker) on it with
a fake Slack API, and then, query by query, side by side in one run:
  - in-process: what the tool runs for that person (`AgentService.find_context`: the person's
    visible channels, intent + decision search, same ranking as /context);
  - over MCP: `tools/call find_context` from the official SDK client, one connected session,
    through HTTP, the bearer check, the rate-limit count and the SDK server.
Also the round trip of an MCP `tools/list` (HTTP, the token check and the protocol alone)
and the overhead per call (MCP time minus in-process time of the same query). Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._readme import write_section  # noqa: E402
from bench.decisions_search import fill, make_queries, make_rows  # noqa: E402
from bench.support import (  # noqa: E402
    ROOT,
    free_port,
    percentile,
    serve_env,
    start_serve,
    stop_serve,
    wait_healthy,
)
from chatbot.agents.access import viewer_for  # noqa: E402
from chatbot.agents.service import AgentService  # noqa: E402
from chatbot.agents.tokens import TokenService  # noqa: E402
from chatbot.clock import SystemClock  # noqa: E402
from chatbot.db.engine import Database, make_engine  # noqa: E402
from chatbot.db.migrate import upgrade  # noqa: E402
from chatbot.teams.service import TeamService  # noqa: E402
from tests.fakes.slack_api import FakeSlackServer  # noqa: E402
from tests.mcp_helpers import http_client  # noqa: E402

USER = "U0001"
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"
TEAM_CHANNELS = [f"C{n:04d}" for n in range(1, 61)]  # every channel the rows use


class _Members:
    """The membership the server sees, for the in-process side: the same answers."""

    def __init__(self, members: dict[str, set[str]]) -> None:
        self._members = members

    def members(self, channel_id: str) -> frozenset[str] | None:
        found = self._members.get(channel_id)
        return frozenset(found) if found is not None else None


def prepare(db: Database, rows: int) -> str:
    fill(db, make_rows(rows, random.Random(42)))
    teams = TeamService(db, SystemClock())
    # One team per channel, so the person's visible set is every public decision (the same
    # work /context does) plus the private channels they are in.
    for channel in TEAM_CHANNELS:
        teams.add(f"team-{channel.lower()}", channel)
    return TokenService(db, SystemClock()).create(USER, "bench").secret


def in_process(db: Database, members: dict[str, set[str]], queries: list[str]) -> list[float]:
    agents = AgentService(db, SystemClock())
    membership = _Members(members)
    teams = TeamService(db, SystemClock()).all()
    times = []
    for q in queries:
        started = time.perf_counter()
        viewer = viewer_for(db, USER, teams, membership)
        agents.find_context(viewer, q, limit=10)
        times.append((time.perf_counter() - started) * 1000)
    return times


def over_mcp(url: str, token: str, queries: list[str]) -> tuple[list[float], list[float]]:
    async def work(client: Any) -> tuple[list[float], list[float]]:
        await client.call_tool("find_context", {"query": "warm up"})
        calls, pings = [], []
        for q in queries:
            started = time.perf_counter()
            result = await client.call_tool("find_context", {"query": q, "limit": 10})
            calls.append((time.perf_counter() - started) * 1000)
            if result.is_error:
                raise SystemExit(f"find_context failed: {result.content[0].text}")
            started = time.perf_counter()
            await client.list_tools()
            pings.append((time.perf_counter() - started) * 1000)
        return calls, pings

    async def main() -> tuple[list[float], list[float]]:
        async with http_client(url, token) as client:
            return await work(client)

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    queries = make_queries(args.queries, random.Random(7))
    members = {c: {USER, "U0002"} for c in TEAM_CHANNELS[:30]}
    members |= {c: {"U0002"} for c in TEAM_CHANNELS[30:]}

    with tempfile.TemporaryDirectory() as tmp, FakeSlackServer() as slack:
        slack.fake.channel_members.update(members)
        url = f"sqlite:///{tmp}/bench.db"
        db = Database(make_engine(url))
        upgrade(db.engine)
        token = prepare(db, args.rows)
        in_process(db, members, queries[:20])  # warm the page cache
        port = free_port()
        proc = start_serve(
            serve_env(slack.api_url, url, PORT=str(port), MCP_CALLS_PER_MINUTE="10000"),
            tmp,
            "--no-clock",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, timeout=180)
            local: list[float] = []
            remote: list[float] = []
            pings: list[float] = []
            # Interleaved in rounds so both sides see the same machine load.
            for start in range(0, len(queries), 50):
                batch = queries[start : start + 50]
                local += in_process(db, members, batch)
                calls, rtts = over_mcp(base + "/mcp", token, batch)
                remote += calls
                pings += rtts
        finally:
            stop_serve(proc)
            db.engine.dispose()

    overhead = [r - local_ms for r, local_ms in zip(remote, local, strict=True)]
    ratio = percentile(remote, 0.95) / percentile(local, 0.95)
    lines = [
        f"{args.rows:,} decisions, {len(queries)} queries, SQLite, `chatbot serve` (one gunicorn "
        f"worker) on this machine; the person sees 60 team channels and 30 of the private "
        f"ones. Target: MCP p95 within 1.5× of in-process.",
        "",
        "| find_context | p50 | p95 | max |",
        "|---|---|---|---|",
        f"| in-process (AgentService) | {statistics.median(local):.1f} ms | "
        f"{percentile(local, 0.95):.1f} ms | {max(local):.1f} ms |",
        f"| MCP over HTTP (SDK client) | {statistics.median(remote):.1f} ms | "
        f"{percentile(remote, 0.95):.1f} ms | {max(remote):.1f} ms |",
        f"| overhead per call (MCP − in-process) | {statistics.median(overhead):.1f} ms | "
        f"{percentile(overhead, 0.95):.1f} ms | {max(overhead):.1f} ms |",
        f"| MCP tools/list round trip (token check, no search) | "
        f"{statistics.median(pings):.1f} ms | "
        f"{percentile(pings, 0.95):.1f} ms | {max(pings):.1f} ms |",
        "",
        f"p95 ratio MCP / in-process: **{ratio:.2f}×**.",
    ]
    table = "\n".join(lines)
    print(table)
    if args.write_readme:  # the numbers live in docs/performance.md; README links there
        write_section("mcp_find_context", table, PERFORMANCE_DOC)


if __name__ == "__main__":
    main()
