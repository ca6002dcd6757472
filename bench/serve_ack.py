"""`chatbot serve` under load: start-up time, /intent ack latency, resident memory.

Runs the real server (gunicorn) as a subprocess against the fake Slack Web API and a fresh
SQLite file, fires signed `/intent <title>` commands 20 at a time, and prints:
  - seconds from process start to the first healthz 200,
  - ack latency p50/p95/p99 (client-side, full HTTP round trip),
  - resident memory (VmRSS) of the server processes after 1,000 requests.
Usage: .venv/bin/python bench/serve_ack.py [--requests 1000] [--concurrency 20] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
from tests.slack_driver import SlackDriver  # noqa: E402


def memory_mb(pid: int, field: str) -> float:
    """Sum of `field` (Pss: shared pages split fairly; Rss: counted in each) over the server."""
    total = 0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def fake_stats(root: str) -> dict:
    with urllib.request.urlopen(root + "_stats", timeout=5) as resp:
        return json.loads(resp.read())


def children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return []
    return [int(x) for x in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
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
        env = serve_env(api_url, f"sqlite:///{tmp}/bench.db", PORT=str(port), LOG_LEVEL="WARNING")
        started = time.perf_counter()
        proc = start_serve(env, tmp)
        url = f"http://127.0.0.1:{port}"
        try:
            ready = wait_healthy(url, since=started)
        except SystemExit:
            proc.kill()
            raise
        driver = SlackDriver(url, fake_root + "api/respond/bench")
        # Warm-up: first requests pay for lazy imports and auth.test.
        for i in range(20):
            driver.command("/intent", f"Warm-up {i}", channel="CBENCH")
        sent = 20

        def drained() -> None:
            # Each /intent posts a root message and the first question.
            deadline = time.time() + 60
            while time.time() < deadline:
                if fake_stats(fake_root)["by_method"].get("chat.postMessage", 0) >= 2 * sent:
                    return
                time.sleep(0.05)

        drained()
        pss_start = memory_mb(proc.pid, "Pss")

        # Bursts: 20 requests released at the same instant, as when a team starts at once.
        burst: list[float] = []
        rounds = max(1, args.requests // args.concurrency)
        for r in range(rounds):
            gate = threading.Barrier(args.concurrency)

            def one(i: int, r: int = r, gate: threading.Barrier = gate) -> float:
                gate.wait()
                return driver.command("/intent", f"Burst {r}-{i}", channel="CBENCH").elapsed * 1000

            with ThreadPoolExecutor(args.concurrency) as pool:
                burst += list(pool.map(one, range(args.concurrency)))
            sent += args.concurrency
            drained()

        # Sustained: 20 clients sending back to back (throughput-bound; reported, not a target).
        def steady(i: int) -> float:
            return driver.command("/intent", f"Steady {i}", channel="CBENCH").elapsed * 1000

        started_steady = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            sustained = list(pool.map(steady, range(args.requests // 2)))
        steady_rps = len(sustained) / (time.perf_counter() - started_steady)
        sent += len(sustained)
        drained()
        pss_end = memory_mb(proc.pid, "Pss")
        rss_end = memory_mb(proc.pid, "Rss")
        stop_serve(proc)
    stop_fake(fake)
    latencies = burst

    rows = [
        ("serve ready (healthz 200 after start)", f"{ready:.2f} s", "≤ 2 s"),
        (
            f"/intent ack p50 (bursts of {args.concurrency} at once, {len(latencies)} req)",
            f"{statistics.median(latencies):.1f} ms",
            "",
        ),
        ("/intent ack p95", f"{percentile(latencies, 0.95):.1f} ms", ""),
        ("/intent ack p99", f"{percentile(latencies, 0.99):.1f} ms", "≤ 100 ms"),
        (
            f"/intent ack p99, sustained ({args.concurrency} clients back to back)",
            f"{percentile(sustained, 0.99):.1f} ms at {steady_rps:.0f} req/s",
            "",
        ),
        ("memory after warm-up (PSS, master + worker)", f"{pss_start:.0f} MB", ""),
        (f"memory after {sent} requests (PSS, master + worker)", f"{pss_end:.0f} MB", "≤ 150 MB"),
        (
            f"memory after {sent} requests (RSS summed, shared pages counted twice)",
            f"{rss_end:.0f} MB",
            "",
        ),
    ]
    publish("serve_ack", markdown_table(("measure", "result", "target"), rows), args.write_docs)


if __name__ == "__main__":
    main()
