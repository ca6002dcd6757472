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
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot.outbox.jobs import outbox_kicker  # noqa: E402
from chatbot.services import build_services  # noqa: E402
from chatbot.slack.executor import TrackedExecutor  # noqa: E402
from chatbot.slack.intent_flow import intent_flow  # noqa: E402
from chatbot.teams.service import TeamService  # noqa: E402
from chatbot.web.wsgi import build_web  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.fakes.jira_api import FakeJiraServer  # noqa: E402
from tests.fakes.slack_api import FakeSlackServer  # noqa: E402
from tests.jira_fixtures import jira_settings  # noqa: E402
from tests.jira_helpers import ready_intent  # noqa: E402
from tests.slack_driver import AppServer, SlackDriver  # noqa: E402

CHANNEL = "CBENCH1"


class _Bot:  # what tests.jira_helpers.ready_intent needs
    def __init__(self, services: object) -> None:
        self.services = services


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    with FakeSlackServer() as slack, FakeJiraServer("cloud") as jira:
        settings = make_settings(
            f"sqlite:///{tmp}/bench.db",
            slack.api_url,
            **jira_settings(jira.url, "cloud", timeout=10),
        )
        services = build_services(settings, migrate=True)
        TeamService(services.db, services.clock).add("bench", CHANNEL, jira_project="PAY")
        bot = _Bot(services)
        intents = [
            ready_intent(bot, channel=CHANNEL, title=f"Intent {n}")  # type: ignore[arg-type]
            for n in range(args.requests)
        ]
        executor = TrackedExecutor(max_workers=settings.web_threads)
        router, _app = build_web(services, executor)
        server = AppServer(router)
        driver = SlackDriver(server.url, slack.response_url("bench"))

        # 1. Ack latency with Jira answering after 5 s.
        jira.fake.delay = 5.0
        for n in range(1, 21):
            jira.fake.add_issue(f"OPS-{n}")

        def click(n: int) -> float:
            action = "intent_jira_create" if n % 2 == 0 else "intent_jira_link"
            result = driver.action(action, str(intents[n].intent.id), channel=CHANNEL)
            assert result.status == 200, result.status
            return result.elapsed * 1000

        def baseline(n: int) -> float:
            result = driver.action("intent_show", str(intents[n].intent.id), channel=CHANNEL)
            return result.elapsed * 1000

        with ThreadPoolExecutor(args.concurrency) as pool:
            base = list(pool.map(baseline, range(args.requests)))
        executor.wait_idle(60)
        print(
            f"Baseline (Show button, no Jira): p50 {statistics.median(base):.1f} ms, "
            f"p99 {percentile(base, 0.99):.1f} ms"
        )
        with ThreadPoolExecutor(args.concurrency) as pool:
            acks = list(pool.map(click, range(args.requests)))
        print(
            f"Create/Link button ack with Jira answering after 5 s "
            f"({args.requests} clicks, {args.concurrency} concurrent): "
            f"p50 {statistics.median(acks):.1f} ms, p99 {percentile(acks, 0.99):.1f} ms, "
            f"max {max(acks):.1f} ms"
        )

        # 2. Requests per action, Jira answering at once.
        executor.wait_idle(30)
        kicker = outbox_kicker(services)
        outbox = services.extras["outbox_worker"]
        jira.fake.delay = 0.0
        time.sleep(6)  # let the sends in flight from part 1 finish their sleep
        kicker.wait_idle(600)
        flow = intent_flow(services)

        def count(label: str, do: object) -> None:
            before = len(jira.fake.requests)
            do()  # type: ignore[operator]
            executor.wait_idle(30)
            kicker.wait_idle(30)
            outbox.run_due()
            made = jira.fake.requests[before:]
            paths = ", ".join(f"{r.method} {r.path.split('/', 4)[-1]}" for r in made)
            print(f"{label}: {len(made)} Jira requests ({paths})")

        fresh = [
            ready_intent(bot, channel=CHANNEL, title=f"Count {n}")  # type: ignore[arg-type]
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
    sys.stdout.flush()
    os._exit(0)  # sends still sleeping in the fake Jira need not be waited for


if __name__ == "__main__":
    main()
