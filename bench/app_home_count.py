"""What one App Home open costs the database: SQL statements and transactions per open.

Drives the real Bolt app in-process with signed `app_home_opened` events against the fake
Slack Web API, on a fresh SQLite file and a fresh PostgreSQL schema, for a person with a
team, three open intents and a decision; counts what the bot's engine runs from the event to
the `views.publish` (warm-up opens first, so the row exists and the caches are full). A
transaction is counted at `BEGIN`; SQLite's `BEGIN IMMEDIATE` is not counted as a statement.

Usage:
  .venv/bin/python bench/app_home_count.py [--opens 50] [--databases sqlite,postgresql]
      [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402

from bench.support import markdown_table, pg_schema, publish  # noqa: E402
from chatbot.background import TrackedExecutor  # noqa: E402
from chatbot.root import build_root, build_web  # noqa: E402
from chatbot.services import build_services  # noqa: E402
from chatbot.settings import Settings  # noqa: E402
from tests.factories import make_decision, make_intent, make_team  # noqa: E402
from tests.fakes.slack_api import FakeSlackServer  # noqa: E402
from tests.slack_driver import SIGNING_SECRET, AppServer, SlackDriver  # noqa: E402

USER = "U5"
OPENED = {"type": "app_home_opened", "user": USER, "channel": "D1", "tab": "home"}


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statements = 0
        self.transactions = 0

    def statement(self, _conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        if not sql.startswith("BEGIN"):
            with self.lock:
                self.statements += 1

    def begin(self, *_args: Any) -> None:
        with self.lock:
            self.transactions += 1


def count(database_url: str, opens: int) -> tuple[float, float, float]:
    """(statements, transactions, views.publish calls) per open."""
    tally = Tally()
    with FakeSlackServer() as slack:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            slack_bot_token="xoxb-bench",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            database_url=database_url,
        )
        services = build_services(settings, migrate=True)
        db, clock = services.db, services.clock
        make_team(db, clock, "payments", "CPAY1", leaders=[USER])
        for i in range(3):
            make_intent(db, clock, f"Intent {i}", user=USER)
        make_decision(db, clock, "Use the ledger because it is the source of truth", author=USER)
        executor = TrackedExecutor(max_workers=4)
        router, _app = build_web(build_root(services, executor))
        server = AppServer(router)
        driver = SlackDriver(server.url, slack.response_url("bench"))
        try:
            for _ in range(3):  # warm-up: the row exists, auth and caches are done
                driver.event(OPENED)
                executor.wait_idle(30)
            before = len(slack.fake.of("views.publish"))
            event.listen(db.engine, "before_cursor_execute", tally.statement)
            event.listen(db.engine, "begin", tally.begin)
            for _ in range(opens):  # one at a time: each open's work alone
                driver.event(OPENED)
                executor.wait_idle(30)
            published = len(slack.fake.of("views.publish")) - before
        finally:
            server.close()
            executor.shutdown(wait=True)
            db.engine.dispose()
    return tally.statements / opens, tally.transactions / opens, published / opens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opens", type=int, default=50)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    rows = []
    for name in args.databases.split(","):
        with ExitStack() as stack:
            if name == "sqlite":
                tmp = stack.enter_context(tempfile.TemporaryDirectory())
                url = f"sqlite:///{tmp}/home.db"
            else:
                url, _schema = stack.enter_context(pg_schema("bench_home"))
            statements, transactions, published = count(url, args.opens)
        rows.append((name, f"{statements:.1f}", f"{transactions:.1f}", f"{published:.1f}"))
    load = os.getloadavg()[0]
    header = (
        f"per App Home open ({args.opens} opens; load {load:.1f} on {os.cpu_count()} CPUs)",
        "SQL statements",
        "transactions",
        "views.publish",
    )
    publish("app_home_count", markdown_table(header, rows), args.write_docs)


if __name__ == "__main__":
    main()
