"""A flood of garbage at `chatbot serve`: does it still answer /healthz and Slack commands?

Runs the real server (gunicorn) against the fake Slack Web API (in its own process) and a fresh
SQLite file, then:
  1. measures /healthz and a signed `/intent` ack (p50/p99) on a quiet server,
  2. sends 10,000 garbage requests from 32 connections at once (unsigned and forged Slack
     requests, payloads that are not JSON, bad JSON to the webhooks, bodies over the cap,
     malformed Content-Length, unknown paths, bodies that are not UTF-8) while the same two
     latencies are measured alongside,
  3. measures them again once the flood is over,
and reports the answers the flood got (no 5xx expected), and the server log's size and lines.
Usage: .venv/bin/python bench/http_flood.py [--requests 10000] [--concurrency 32] [--write-docs]
"""

from __future__ import annotations

import argparse
import collections
import itertools
import random
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import (  # noqa: E402
    free_port,
    markdown_table,
    percentile,
    publish,
    serve_env,
    start_fake,
    start_serve,
    stop_fake,
    stop_serve,
    wait_healthy,
)
from tests.http_raw import request_bytes, send  # noqa: E402
from tests.slack_driver import SlackDriver, sign  # noqa: E402

FORM = "application/x-www-form-urlencoded"


def garbage(n: int) -> bytes:
    """The n-th garbage request: a rotation of what an outsider would throw at the server."""
    rnd = random.Random(n)
    ts = str(int(time.time()))
    kind = n % 10
    if kind == 0:  # unsigned interactive payload that is not JSON (was a 500 + traceback)
        body = urlencode({"payload": "{not json" + "x" * rnd.randint(0, 200)}).encode()
        return request_bytes("POST", "/slack/events", [("Content-Type", FORM)], body)
    if kind == 1:  # forged signature on a real-looking command
        body = urlencode({"command": "/intent", "text": "forged", "user_id": "U1"}).encode()
        headers = [
            ("Content-Type", FORM),
            ("X-Slack-Request-Timestamp", ts),
            ("X-Slack-Signature", sign(body, int(ts), secret="not-the-secret")),
        ]
        return request_bytes("POST", "/slack/events", headers, body)
    if kind == 2:  # JSON that is not an object
        return request_bytes(
            "POST", "/slack/events", [("Content-Type", "application/json")], b"[1,2,3]"
        )
    if kind == 3:  # broken JSON to the webhooks, no or wrong credentials
        path = rnd.choice(["/webhooks/jira", "/webhooks/github", "/webhooks/deploy"])
        headers = [("Content-Type", "application/json"), ("X-Hub-Signature-256", "sha256=00")]
        return request_bytes("POST", path, headers, b'{"issue": [' + b"9," * rnd.randint(0, 99))
    if kind == 4:  # over the cap: only the headers are sent, the server must not wait
        path = rnd.choice(["/slack/events", "/webhooks/jira", "/webhooks/deploy"])
        return request_bytes("POST", path, [("Content-Type", FORM)], b"", "60000000")
    if kind == 5:  # a Content-Length that is not a number
        return request_bytes("POST", "/webhooks/jira", [], b"{}", rnd.choice(["abc", "-1"]))
    if kind == 6:  # scanners
        path = rnd.choice(["/wp-login.php", "/.env", "/admin", "/slack/events/../x"])
        return request_bytes("GET", path, [], b"")
    if kind == 7:  # not UTF-8
        body = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 300)))
        return request_bytes("POST", "/slack/events", [("Content-Type", FORM)], body)
    if kind == 8:  # stale (replayed) signature
        body = b"command=%2Fintent&text=replay"
        old = int(ts) - 3600
        headers = [
            ("Content-Type", FORM),
            ("X-Slack-Request-Timestamp", str(old)),
            ("X-Slack-Signature", sign(body, old)),
        ]
        return request_bytes("POST", "/slack/events", headers, body)
    # wrong method, bad bearer token on the context pack
    return request_bytes(
        rnd.choice(["PUT", "DELETE", "GET"]),
        rnd.choice(["/webhooks/jira", "/context/team.md", "/slack/events"]),
        [("Authorization", "Bearer nope")],
        b"",
    )


class Probe:
    """Measures /healthz and a signed /intent ack, one after the other, until stopped."""

    def __init__(self, url: str, driver: SlackDriver) -> None:
        self.url = url
        self.driver = driver
        self.health: list[float] = []
        self.command: list[float] = []
        self.failures = 0
        self._ids = itertools.count()

    def once(self) -> None:
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=10) as resp:
                ok = resp.status == 200
        except OSError:
            ok = False
        self.health.append((time.perf_counter() - start) * 1000)
        result = self.driver.command("/intent", f"Probe {next(self._ids)}", channel="CFLOOD")
        self.command.append(result.elapsed * 1000)
        self.failures += (not ok) + (result.status != 200)

    def run(self, count: int, pause: float = 0.0) -> Probe:
        for _ in range(count):
            self.once()
            time.sleep(pause)  # a steady probe rate, not a wait for the server
        return self


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument(
        "--write-docs",
        "--write-readme",
        action="store_true",
        help="put the table in docs/performance.md",
    )
    args = parser.parse_args()

    fake, api_url = start_fake("tests.fakes.slack_api")
    fake_root = api_url.removesuffix("api/")
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        log_path = Path(tmp) / "serve.log"
        env = serve_env(
            api_url,
            f"sqlite:///{tmp}/bench.db",
            PORT=str(port),
            LOG_LEVEL="INFO",
            JIRA_WEBHOOK_SECRET="bench-jira",
            GITHUB_WEBHOOK_SECRET="bench-github",
            DEPLOY_WEBHOOK_TOKEN="bench-deploy",
            CONTEXT_HTTP_TOKEN="bench-context",
        )
        with log_path.open("w") as log_file:
            proc = start_serve(env, tmp, stderr=log_file, stdout=log_file)
            try:
                rows, summary = run(args, f"http://127.0.0.1:{port}", fake_root, log_path)
            finally:
                stop_serve(proc)
    stop_fake(fake)

    header = ("measure", "quiet", "during the flood", "after")
    publish("http_flood", markdown_table(header, rows) + "\n\n" + summary, args.write_docs)


def run(
    args: argparse.Namespace, url: str, fake_root: str, log_path: Path
) -> tuple[list[tuple[str, str, str, str]], str]:
    wait_healthy(url)
    driver = SlackDriver(url, fake_root + "api/respond/flood")
    Probe(url, driver).run(20)  # warm-up: lazy imports, auth.test
    quiet = Probe(url, driver).run(args.probes)
    log_before = log_path.stat().st_size

    statuses: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()

    def hit(n: int) -> None:
        try:
            status = send(url, garbage(n), timeout=30).status
        except OSError:
            status = 0  # the server closed without answering
        with lock:
            statuses[status] += 1

    during = Probe(url, driver)
    flooding = threading.Event()
    flooding.set()

    def probe_while_flooding() -> None:
        while flooding.is_set():
            during.once()
            time.sleep(0.02)  # a steady probe rate, not a wait for the server

    prober = threading.Thread(target=probe_while_flooding)
    flood_start = time.perf_counter()
    prober.start()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(hit, range(args.requests)))
    flood_seconds = time.perf_counter() - flood_start
    flooding.clear()
    prober.join()
    after = Probe(url, driver).run(args.probes)
    time.sleep(0.5)  # let the log handler flush its last lines before reading the file
    log_text = log_path.read_text(errors="replace")
    flood_log = log_text.encode()[log_before:].decode(errors="replace")
    refused_lines = flood_log.count("refused ")

    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q):.1f} ms" if values else "—"

    rows = [
        ("/healthz p50", ms(quiet.health, 0.5), ms(during.health, 0.5), ms(after.health, 0.5)),
        ("/healthz p99", ms(quiet.health, 0.99), ms(during.health, 0.99), ms(after.health, 0.99)),
        (
            "signed /intent ack p50",
            ms(quiet.command, 0.5),
            ms(during.command, 0.5),
            ms(after.command, 0.5),
        ),
        (
            "signed /intent ack p99",
            ms(quiet.command, 0.99),
            ms(during.command, 0.99),
            ms(after.command, 0.99),
        ),
        (
            "probes failed / sent",
            f"{quiet.failures} / {2 * len(quiet.health)}",
            f"{during.failures} / {2 * len(during.health)}",
            f"{after.failures} / {2 * len(after.health)}",
        ),
    ]
    answers = ", ".join(f"{code or 'closed'}: {count}" for code, count in sorted(statuses.items()))
    fives = sum(c for code, c in statuses.items() if code >= 500)
    summary = (
        f"{args.requests:,} garbage requests from {args.concurrency} connections in "
        f"{flood_seconds:.1f} s ({args.requests / flood_seconds:.0f} req/s); answers: {answers}; "
        f"5xx: {fives}. Server log during the flood (LOG_LEVEL=INFO): "
        f"{len(flood_log.encode()) / 1024:.1f} KB in {flood_log.count(chr(10))} lines "
        f"({refused_lines} refusal lines, at most 60 a minute), "
        f"{flood_log.count('Traceback')} tracebacks."
    )
    return rows, summary


if __name__ == "__main__":
    main()
