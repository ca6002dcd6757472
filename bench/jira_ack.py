"""Ack latency of the Create / Link Jira buttons while Jira answers after 5 s, and the
number of Jira requests each action makes.

Serves the real app (Bolt over WSGI, threaded) in-process against the fake Slack API and a
fake Jira Cloud that sleeps 5 s before every answer, fires signed button clicks
(`--concurrency` at a time, `--requests` in all, half Create, half Link) and prints the
client-side ack p50/p99. Then, with Jira answering at once, counts requests per action.
Usage: .venv/bin/python bench/jira_ack.py [--requests 300] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import (  # noqa: E402
    free_port,
    percentile,
    publish,
    serve_env,
    start_fake,
    start_serve,
    stop_serve,
    wait_healthy,
)
from chatbot.background import TrackedExecutor  # noqa: E402
from chatbot.root import Root, build_root, build_web  # noqa: E402
from chatbot.services import build_services  # noqa: E402
from chatbot.teams.service import TeamService  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.factories import posted_intent  # noqa: E402
from tests.fakes.jira_api import FakeJiraServer  # noqa: E402
from tests.fakes.slack_api import FakeSlackServer  # noqa: E402
from tests.jira_fixtures import jira_settings  # noqa: E402
from tests.slack_driver import AppServer, SlackDriver  # noqa: E402

CHANNEL = "CBENCH1"


class _Bot:  # what tests.factories.posted_intent needs
    def __init__(self, root: Root) -> None:
        self.root = root
        self.services = root.services


def serve_and_click(args: argparse.Namespace, tmp: str) -> list[str]:
    """Part 1, out of process: `chatbot serve` (gunicorn), fake Slack and a fake Jira that
    answers after 5 s each run in their own process; clicks arrive in bursts."""
    fakes: list[subprocess.Popen[str]] = []

    def start(*cmd: str) -> str:
        proc, url = start_fake(*cmd)
        fakes.append(proc)
        return url

    api_url = start("tests.fakes.slack_api")
    jira_url = start("tests.fakes.jira_api", "--delay", "5", "--issues", "40")
    db_url = f"sqlite:///{tmp}/serve.db"
    settings = make_settings(db_url, api_url, **jira_settings(jira_url, "cloud", timeout=10))
    services = build_services(settings, migrate=True)
    TeamService(services.db, services.clock).add("bench", CHANNEL, jira_project="PAY")
    intents = [
        posted_intent(_Bot(build_root(services)), channel=CHANNEL, title=f"Intent {n}")  # type: ignore[arg-type]
        for n in range(args.requests)
    ]
    services.db.engine.dispose()
    port = free_port()
    env = serve_env(
        api_url,
        db_url,
        PORT=str(port),
        LOG_LEVEL="WARNING",
        JIRA_URL=jira_url,
        JIRA_EMAIL=str(settings.jira_email),
        JIRA_API_TOKEN=settings.jira_api_token.get_secret_value()
        if settings.jira_api_token
        else "",
    )
    server = start_serve(env, tmp)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url)
    driver = SlackDriver(url, api_url + "respond/bench")

    def click(n: int) -> float:
        action = "intent_jira_create" if n % 2 == 0 else "intent_jira_link"
        result = driver.action(action, str(intents[n].intent.id), channel=CHANNEL)
        assert result.status == 200, result.status
        return result.elapsed * 1000

    def show(n: int) -> float:
        return (
            driver.action("intent_show", str(intents[n].intent.id), channel=CHANNEL).elapsed * 1000
        )

    for n in range(10):  # warm-up: lazy imports, auth.test
        show(n)

    def bursts(fn: Callable[[int], float]) -> list[float]:
        out: list[float] = []
        for start_at in range(0, args.requests, args.concurrency):
            ids = range(start_at, min(args.requests, start_at + args.concurrency))
            gate = threading.Barrier(len(ids))

            def gated(n: int, gate: threading.Barrier = gate) -> float:
                gate.wait()
                return fn(n)

            with ThreadPoolExecutor(len(ids)) as pool:
                out += list(pool.map(gated, ids))
            time.sleep(0.5)  # bursts, as when a team clicks together; Jira work stays in flight
        return out

    base = bursts(show)
    acks = bursts(click)
    stop_serve(server)
    for proc in fakes:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.kill()
    return [
        f"| Show button ack, no Jira (bursts of {args.concurrency}) | "
        f"{statistics.median(base):.1f} ms | {percentile(base, 0.99):.1f} ms | |",
        f"| Create/Link button ack, Jira answering after 5 s ({len(acks)} clicks, bursts of "
        f"{args.concurrency}) | {statistics.median(acks):.1f} ms | "
        f"{percentile(acks, 0.99):.1f} ms | ≤ 100 ms |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--write-docs",
        "--write-readme",
        action="store_true",
        help="put the table in docs/performance.md",
    )
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    acks = serve_and_click(args, tmp)
    counts: list[str] = []
    with FakeSlackServer() as slack, FakeJiraServer("cloud") as jira:
        settings = make_settings(
            f"sqlite:///{tmp}/bench.db",
            slack.api_url,
            **jira_settings(jira.url, "cloud", timeout=10),
        )
        services = build_services(settings, migrate=True)
        TeamService(services.db, services.clock).add("bench", CHANNEL, jira_project="PAY")
        executor = TrackedExecutor(max_workers=settings.web_threads)
        root = build_root(services, executor)
        bot = _Bot(root)
        router, _app = build_web(root)
        server = AppServer(router)
        driver = SlackDriver(server.url, slack.response_url("bench"))

        # Requests per action, Jira answering at once (in-process: a count, not a timing).
        kicker = root.kicker
        outbox = root.outbox
        flow = root.slack.intents

        def count(label: str, do: object) -> None:
            before = len(jira.fake.requests)
            do()  # type: ignore[operator]
            executor.wait_idle(30)
            kicker.wait_idle(30)
            outbox.run_due()
            made = jira.fake.requests[before:]
            paths = ", ".join(f"{r.method} {r.path.split('/', 4)[-1]}" for r in made)
            counts.append(f"| {label} | {len(made)} | {paths} |")

        fresh = [
            posted_intent(bot, channel=CHANNEL, title=f"Count {n}")  # type: ignore[arg-type]
            for n in range(3)
        ]
        jira.fake.add_issue("OPS-99")
        count(
            "link existing ticket",
            lambda: driver.command("/intent", f"link {fresh[0].ref} OPS-99", channel=CHANNEL),
        )
        count(
            "create ticket",
            lambda: driver.action("intent_jira_create", str(fresh[1].intent.id), channel=CHANNEL),
        )
        count(
            "revision (edit)",
            lambda: flow.intents.edit(fresh[0].intent.id or 0, "U1", outcome="A changed outcome"),
        )
        count("verify a check", lambda: flow.intents.verify_check(fresh[0].checks[0].id or 0, "U1"))
        count(
            "unknown key (validation)",
            lambda: driver.command("/intent", f"link {fresh[2].ref} OPS-404", channel=CHANNEL),
        )
        server.close()
    table = "\n".join(
        [
            "| measure | p50 | p99 | target |",
            "|---|---|---|---|",
            *acks,
            "",
            "| action | Jira requests | which |",
            "|---|---|---|",
            *counts,
        ]
    )
    publish("jira_ack", table, args.write_docs)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
