"""Sustained `/intent` throughput: the bot against a bare Bolt app doing the same visible work.

Both run under the same gunicorn settings (`ThroughlineServer`'s configuration: the edge worker,
WEB_CONCURRENCY workers of WEB_THREADS threads, a listener pool of LISTENER_THREADS), talk to
the same fake Slack Web API (its own process) and store into a fresh database of the same kind.
For each signed `/intent <title>` command:
  - the bot does everything it does in production (draft, revision, guided conversation, card
    timestamps, the embedded clock running alongside),
  - the bare app acknowledges, inserts one draft row and posts two messages (the root and the
    first question in its thread), as Bolt's own `SlackRequestHandler` would behind gunicorn.

N client threads send commands back to back over kept-alive connections for a fixed time; a
setup's throughput is the commands sent divided by the time from the first send until the fake
Slack has received both posts of every one of them (acknowledging fast while the work piles up
does not count). The setups alternate for `--rounds` rounds so that a change in machine load
hits both; the table gives each round and the median ratio.

`--count` instead drives the bot in-process and counts, per command, what its after-ack path
does: SQL statements, transactions, full-text index work (read from the statements) and Slack
Web API calls. The throughput table also gives the server processes' CPU time per command.

Usage:
  .venv/bin/python bench/intent_throughput.py [--clients 20] [--seconds 15] [--rounds 2]
      [--database sqlite|postgresql] [--setups bare,bot] [--write-docs]
  .venv/bin/python bench/intent_throughput.py --count [--requests 200] [--database postgresql]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._readme import write_section  # noqa: E402
from bench.support import (  # noqa: E402
    free_port,
    markdown_table,
    pg_schema,
    serve_env,
    start_fake,
    start_serve,
    stop_fake,
    stop_serve,
    wait_healthy,
)
from tests.slack_driver import TEAM, sign  # noqa: E402

CHANNEL = "CBENCH"
BARE_SERVER = ROOT / "bench" / "bare_bolt_intent.py"
DOCS = ROOT / "docs" / "performance.md"


def command_body(n: int, response_url: str) -> bytes:
    """The form Slack sends for `/intent Throughput <n>` (as tests/slack_driver.py builds it)."""
    return urlencode(
        {
            "token": "x",
            "team_id": TEAM,
            "team_domain": "bench",
            "channel_id": CHANNEL,
            "channel_name": "bench",
            "user_id": f"U{n % 50:03d}",
            "user_name": "bench",
            "command": "/intent",
            "text": f"Throughput {n}: ship the export",
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": f"{response_url}-{n}",
            "trigger_id": f"trig-{n}",
        }
    ).encode()


def posts_seen(fake_root: str) -> int:
    with urllib.request.urlopen(fake_root + "_stats", timeout=10) as resp:
        return int(json.loads(resp.read())["by_method"].get("chat.postMessage", 0))


def wait_for_posts(fake_root: str, target: int, timeout: float = 300.0) -> float:
    """Waits until the fake has received `target` posts; returns when (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if posts_seen(fake_root) >= target:
            return time.perf_counter()
        time.sleep(0.02)
    raise SystemExit(f"the server did not post {target} messages in {timeout:.0f} s")


class LoadGenerator:
    """`clients` threads, each sending signed commands back to back on one kept-alive
    connection (reconnecting when the server closes it)."""

    def __init__(self, url: str, response_url: str, clients: int) -> None:
        parsed = urlparse(url)
        self._host, self._port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self._response_url = response_url
        self._clients = clients
        self._lock = threading.Lock()
        self._next = 0
        self.sent = 0
        self.failed = 0

    def _number(self) -> int:
        with self._lock:
            self._next += 1
            return self._next

    def _send(self, conn: http.client.HTTPConnection, n: int) -> bool:
        body = command_body(n, self._response_url)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(body, timestamp),
        }
        conn.request("POST", "/slack/events", body, headers)
        response = conn.getresponse()
        response.read()
        return response.status == 200

    def _client(self, until: float) -> None:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
        sent = failed = 0
        while time.perf_counter() < until:
            try:
                ok = self._send(conn, self._number())
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
                ok = False
            sent += ok
            failed += not ok
        conn.close()
        with self._lock:
            self.sent += sent
            self.failed += failed

    def run(self, seconds: float) -> None:
        until = time.perf_counter() + seconds
        threads = [
            threading.Thread(target=self._client, args=(until,)) for _ in range(self._clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


@contextmanager
def database(kind: str, tmp: str, name: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/{name}.db"
        return
    with pg_schema(f"bench_{name}") as (url, _schema):
        yield url


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its children (gunicorn's master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid, *(int(p) for p in children.read_text().split())] if children.exists() else [pid]
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def start_bare(env: dict[str, str], cwd: str) -> subprocess.Popen[Any]:
    return subprocess.Popen([sys.executable, str(BARE_SERVER)], env=env, cwd=cwd)


def measure(
    setup: str, kind: str, api_url: str, clients: int, seconds: float, extra_env: dict[str, str]
) -> tuple[float, int, int, float]:
    """(requests/s, commands sent, refused or failed, server CPU ms per command) for one setup
    on a fresh database."""
    fake_root = api_url.removesuffix("api/")
    with tempfile.TemporaryDirectory() as tmp, database(kind, tmp, setup) as db_url:
        port = free_port()
        env = serve_env(api_url, db_url, PORT=str(port), LOG_LEVEL="WARNING", **extra_env)
        proc = start_serve(env, tmp) if setup == "bot" else start_bare(env, tmp)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, timeout=60)
            load = LoadGenerator(url, fake_root + "api/respond/bench", clients)
            # Warm-up: lazy imports, auth.test, the channel's privacy, connection pools.
            before = posts_seen(fake_root)
            load.run(2.0)
            wait_for_posts(fake_root, before + 2 * load.sent)
            load = LoadGenerator(url, fake_root + "api/respond/bench", clients)
            before = posts_seen(fake_root)
            cpu_before = cpu_seconds(proc.pid)
            started = time.perf_counter()
            load.run(seconds)
            done = wait_for_posts(fake_root, before + 2 * load.sent)
            cpu = cpu_seconds(proc.pid) - cpu_before
        finally:
            stop_serve(proc)
    sent = max(load.sent, 1)
    return load.sent / (done - started), load.sent, load.failed, 1000 * cpu / sent


def throughput(args: argparse.Namespace) -> None:
    fake, api_url = start_fake("tests.fakes.slack_api")
    extra_env = {"WEB_CONCURRENCY": str(args.workers)}
    results: dict[str, list[float]] = {"bot": [], "bare": []}
    cpu: dict[str, list[float]] = {"bot": [], "bare": []}
    rows = []
    try:
        for round_number in range(1, args.rounds + 1):
            order = ("bare", "bot") if round_number % 2 else ("bot", "bare")
            for setup in (o for o in order if o in args.setups):
                rps, sent, failed, cpu_ms = measure(
                    setup, args.database, api_url, args.clients, args.seconds, extra_env
                )
                results[setup].append(rps)
                cpu[setup].append(cpu_ms)
                print(
                    f"round {round_number} {setup}: {rps:.0f} req/s ({sent} sent, {failed} "
                    f"failed), server CPU {cpu_ms:.1f} ms per command",
                    file=sys.stderr,
                )
            if len(args.setups) < 2:
                continue
            bot, bare = results["bot"][-1], results["bare"][-1]
            rows.append(
                (
                    f"round {round_number}",
                    f"{bot:.0f}",
                    f"{bare:.0f}",
                    f"{bot / bare:.2f}",
                    f"{cpu['bot'][-1]:.1f} / {cpu['bare'][-1]:.1f}",
                    load_note(),
                )
            )
    finally:
        stop_fake(fake)
    if len(args.setups) < 2:
        return
    ratios = [b / f for b, f in zip(results["bot"], results["bare"], strict=True)]
    rows.append(
        (
            "median",
            f"{statistics.median(results['bot']):.0f}",
            f"{statistics.median(results['bare']):.0f}",
            f"{statistics.median(ratios):.2f}",
            f"{statistics.median(cpu['bot']):.1f} / {statistics.median(cpu['bare']):.1f}",
            "",
        )
    )
    header = (
        f"{args.database}, {args.workers} worker(s) × {os.environ.get('WEB_THREADS', '16')} "
        f"threads, {args.clients} clients × {args.seconds:g} s",
        "bot req/s",
        "bare Bolt req/s",
        "ratio",
        "server CPU ms per command (bot / bare)",
        "load average (1 min) after",
    )
    table = markdown_table(header, rows)
    print(table)
    if args.write_docs:
        write_section("intent_throughput", table, DOCS)


def load_note() -> str:
    one, _five, _fifteen = os.getloadavg()
    return f"{one:.1f} on {os.cpu_count()} CPUs"


# --- --count: what one command costs after the ack ----------------------------------------------


class Tally:
    """SQL statements, transactions and full-text index work seen on the bot's engine.

    The full-text work is read from the statements themselves: on SQLite an INSERT into
    `intent` runs the FTS insert trigger and an UPDATE that sets an indexed column runs the
    delete-and-insert one; on PostgreSQL every UPDATE of the row recomputes the generated
    tsvector, whichever columns it sets.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statements = 0
        self.transactions = 0
        # PostgreSQL: transactions that send BEGIN and COMMIT (not autocommit), and pings
        self.sent_transactions = 0
        self.checkouts = 0
        self.fts: dict[str, int] = {}

    def reset(self) -> None:
        with self.lock:
            self.statements = self.transactions = self.sent_transactions = self.checkouts = 0
            self.fts.clear()

    def checkout(self, *_args: Any) -> None:
        with self.lock:
            self.checkouts += 1

    def statement(
        self, _conn: Any, _cursor: Any, sql: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        work = _fulltext_work(sql)
        with self.lock:
            self.statements += 1
            for name in work:
                self.fts[name] = self.fts.get(name, 0) + 1

    def begin(self, conn: Any) -> None:
        raw = conn.connection.dbapi_connection
        with self.lock:
            self.transactions += 1
            # psycopg in autocommit sends neither BEGIN nor COMMIT (Database.autocommit)
            if not getattr(raw, "autocommit", True):
                self.sent_transactions += 1


def _fulltext_work(sql: str) -> list[str]:
    from chatbot.decisions.fulltext import INDEXED

    words = sql.split(None, 3)
    work = []
    for table, columns in INDEXED.items():
        if words[:3] == ["INSERT", "INTO", table]:
            work.append(f"{table}: FTS insert trigger (SQLite), tsvector computed (PostgreSQL)")
        elif words[:2] == ["UPDATE", table] and len(words) > 3:
            set_clause = words[3].split(" WHERE ")[0]
            if any(f"{column}=" in set_clause for column in columns):
                work.append(f"{table}: FTS update trigger (SQLite)")
            work.append(f"{table}: tsvector recomputed (PostgreSQL, any UPDATE)")
    return work


def count(args: argparse.Namespace) -> None:
    from sqlalchemy import event

    from chatbot.background import TrackedExecutor
    from chatbot.root import build_root, build_web
    from chatbot.services import build_services
    from chatbot.settings import Settings
    from tests.slack_driver import SIGNING_SECRET, AppServer, SlackDriver

    fake, api_url = start_fake("tests.fakes.slack_api")
    fake_root = api_url.removesuffix("api/")
    tally = Tally()
    try:
        with tempfile.TemporaryDirectory() as tmp, _count_database(args.database, tmp) as url:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                slack_bot_token="xoxb-bench",
                slack_signing_secret=SIGNING_SECRET,
                slack_api_url=api_url,
                database_url=url,
            )
            services = build_services(settings, migrate=True)
            engine = services.db.engine
            event.listen(engine, "before_cursor_execute", tally.statement)
            event.listen(engine, "begin", tally.begin)
            event.listen(engine.pool, "checkout", tally.checkout)
            executor = TrackedExecutor()
            router, _app = build_web(build_root(services, executor))
            server = AppServer(router)
            driver = SlackDriver(server.url, fake_root + "api/respond/bench")
            try:
                for i in range(20):  # warm-up: auth.test, the channel's privacy
                    driver.command("/intent", f"Warm-up {i}", channel=CHANNEL)
                executor.wait_idle(60)
                calls_before = _calls(fake_root)
                tally.reset()
                for i in range(args.requests):
                    driver.command("/intent", f"Counted {i}: ship it", channel=CHANNEL)
                executor.wait_idle(120)
                calls = _calls(fake_root)
            finally:
                server.close()
                executor.shutdown()
    finally:
        stop_fake(fake)
    n = args.requests
    postgresql = args.database == "postgresql"
    round_trips = tally.statements + 2 * tally.sent_transactions + tally.checkouts
    rows = [
        ("SQL statements", f"{tally.statements / n:.1f}"),
        ("transactions", f"{tally.transactions / n:.1f}"),
        *(
            [
                (
                    "of which with BEGIN and COMMIT (not autocommit)",
                    f"{tally.sent_transactions / n:.1f}",
                ),
                ("pooled connections checked out (each pinged)", f"{tally.checkouts / n:.1f}"),
                ("round trips to PostgreSQL", f"{round_trips / n:.1f}"),
            ]
            if postgresql
            else []
        ),
        *((name, f"{runs / n:.1f}") for name, runs in sorted(tally.fts.items())),
        *(
            (f"Slack {method}", f"{(calls.get(method, 0) - calls_before.get(method, 0)) / n:.1f}")
            for method in sorted(calls)
            if calls.get(method, 0) != calls_before.get(method, 0)
        ),
    ]
    kind = "PostgreSQL" if postgresql else "SQLite"
    print(markdown_table((f"per /intent command ({kind}, {n} commands)", "count"), rows))


@contextmanager
def _count_database(kind: str, tmp: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/count.db"
        return
    with pg_schema("count") as (url, _schema):
        yield url


def _calls(fake_root: str) -> dict[str, int]:
    with urllib.request.urlopen(fake_root + "_stats", timeout=10) as resp:
        return dict(json.loads(resp.read())["by_method"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="WEB_CONCURRENCY for both")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--setups", type=lambda v: v.split(","), default=["bare", "bot"], help="e.g. bot"
    )
    parser.add_argument(
        "--write-docs", action="store_true", help="put the table in docs/performance.md"
    )
    parser.add_argument("--count", action="store_true", help="count the after-ack work instead")
    parser.add_argument("--requests", type=int, default=200, help="commands for --count")
    args = parser.parse_args()
    if args.count:
        count(args)
    else:
        throughput(args)


if __name__ == "__main__":
    main()
