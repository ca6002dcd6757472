"""GitHub webhook ingest under load: deliveries per second and latency on PostgreSQL.

Starts the real `chatbot serve` (gunicorn) on a fresh PostgreSQL schema, with one team
owning the benchmark repositories, and sends signed, full-size deliveries from several
concurrent clients over keep-alive connections. The mix follows a pull request's life:
opened, two synchronizes, two pushes of 3 commits, two reviews, closed (merged), and a
deployment going in_progress then success (no pings). Prints throughput and p50/p99.

Usage: .venv/bin/python bench/github_webhooks.py [--prs 800] [--clients 8,16] [--workers 2]
       [--write-docs]   (needs PostgreSQL; TEST_PG_URL or 127.0.0.1:5432 user postgres)
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.support import (  # noqa: E402
    PG_ADMIN,
    free_port,
    markdown_table,
    percentile,
    pg_schema,
    publish,
    serve_env,
    start_fake,
    start_serve,
    stop_fake,
    stop_serve,
    wait_healthy,
)
from tests.fakes.github_events import (  # noqa: E402
    PullRequestState,
    deployment_status_event,
    encode,
    pull_request_event,
    push_event,
    review_event,
    sha,
    signed_headers,
)

SECRET = "bench-github-secret"
REPOS = [f"acme/service-{i}" for i in range(4)]
PER_PR = 10  # deliveries in one pull request's life, see `pull_request_life`


def pull_request_life(n: int) -> list[tuple[str, bytes]]:
    """The deliveries one PR causes, in the order GitHub would send them."""
    repo = REPOS[n % len(REPOS)]
    number = 1000 + n
    branch = f"feature/PAY-{n + 1}-work"
    pr = PullRequestState(repo, number, title=f"PAY-{n + 1} Change {n}", head_branch=branch)
    day = 1 + n % 25
    pr.created_at = pr.updated_at = f"2026-10-{day:02d}T09:00:00Z"
    out: list[tuple[str, dict]] = [("pull_request", pull_request_event("opened", pr))]
    for push in range(2):
        commits = [
            (sha(f"{repo}:{number}:{push}:{c}"), f"2026-10-{day:02d}T0{push * 3 + c}:00:00+01:00")
            for c in range(3)
        ]
        out.append(("push", push_event(repo, branch, commits)))
        pr.head_sha = commits[-1][0]
        pr.updated_at = f"2026-10-{day:02d}T1{push}:00:00Z"
        out.append(("pull_request", pull_request_event("synchronize", pr)))
    for r in range(2):
        out.append(
            (
                "pull_request_review",
                review_event(
                    "submitted",
                    pr,
                    number * 10 + r,
                    reviewer=f"reviewer-{r}",
                    state="approved" if r else "commented",
                    submitted_at=f"2026-10-{day:02d}T12:0{r}:00Z",
                ),
            )
        )
    pr.state, pr.merge_commit_sha = "closed", sha(f"{repo}:{number}:merge")
    pr.closed_at = pr.merged_at = pr.updated_at = f"2026-10-{day:02d}T15:00:00Z"
    out.append(("pull_request", pull_request_event("closed", pr)))
    for state, minute in (("in_progress", 10), ("success", 20)):
        out.append(
            (
                "deployment_status",
                deployment_status_event(
                    repo,
                    50_000 + n,
                    state,
                    created_at=f"2026-10-{day:02d}T15:{minute}:00Z",
                    deployed_sha=pr.merge_commit_sha,
                ),
            )
        )
    return [(event, encode(payload)) for event, payload in out]


class Client:
    """One keep-alive connection sending deliveries and timing each answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, event: str, body: bytes) -> tuple[int, float]:
        headers = signed_headers(event, body, SECRET)
        headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        for attempt in range(2):
            try:
                self.conn.request("POST", "/webhooks/github", body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()
                return response.status, time.perf_counter() - start
            except (http.client.HTTPException, OSError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        raise AssertionError("unreachable")


def run(port: int, work: list[tuple[str, bytes]], clients: int) -> tuple[list[float], float, dict]:
    """Clients take pull requests' lives in turn; each life is sent in its own order."""
    lives = [work[i : i + PER_PR] for i in range(0, len(work), PER_PR)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    cursor = iter(range(len(lives)))

    def worker() -> None:
        client = Client(port)
        mine: list[float] = []
        seen: dict[int, int] = {}
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                break
            for event, body in lives[i]:
                status, elapsed = client.send(event, body)
                mine.append(elapsed * 1000)
                seen[status] = seen.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for k, v in seen.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started, statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prs", type=int, default=800, help="pull request lives to send")
    parser.add_argument(
        "--clients", default="8,16", help="concurrent senders; a comma list runs each in turn"
    )
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY")
    parser.add_argument(
        "--write-docs",
        "--write-readme",
        action="store_true",
        help="put the table in docs/performance.md",
    )
    args = parser.parse_args()

    load = os.getloadavg()[0]
    with pg_schema("bench_gh") as (db_url, schema):
        fake, api_url = start_fake("tests.fakes.slack_api")
        proc = None
        try:
            env = serve_env(
                api_url,
                db_url,
                GITHUB_WEBHOOK_SECRET=SECRET,
                WEB_CONCURRENCY=str(args.workers),
                LOG_LEVEL="WARNING",
            )
            team_cmd = [sys.executable, "-m", "chatbot", "team", "add", "bench", "--channel", "CB1"]
            for repo in REPOS:
                team_cmd += ["--repo", repo]
            subprocess.run(team_cmd, env=env, check=True, capture_output=True, cwd=ROOT)
            port = free_port()
            env["PORT"] = str(port)
            with tempfile.TemporaryDirectory() as tmp:
                # No clock: the benchmark measures the webhook, not periodic jobs.
                proc = start_serve(env, tmp, "--no-clock")
                wait_healthy(f"http://127.0.0.1:{port}")
                warm = [d for n in range(40) for d in pull_request_life(100_000 + n)]
                run(port, warm, 8)
                results = []
                for phase, clients in enumerate(int(c) for c in args.clients.split(",")):
                    first = (phase + 1) * 10_000
                    work = [d for n in range(args.prs) for d in pull_request_life(first + n)]
                    results.append((clients, *run(port, work, clients)))
        finally:
            if proc is not None:
                stop_serve(proc)
            stop_fake(fake)
            stored = _stored(db_url_plain=PG_ADMIN, schema=schema)

    rows = []
    for clients, latencies, wall, statuses in results:
        rows += [
            (
                f"deliveries/s sustained, {clients} concurrent clients ({len(latencies)} "
                f"signed deliveries, {args.workers} gunicorn workers, PostgreSQL)",
                f"{len(latencies) / wall:.0f}",
                "≥ 300",
            ),
            (
                f"latency p50 / p99, {clients} clients (client-side round trip)",
                f"{statistics.median(latencies):.1f} ms / {percentile(latencies, 0.99):.1f} ms",
                "p99 < 200 ms",
            ),
            (
                f"answers, {clients} clients",
                ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())),
                "all 200",
            ),
        ]
    rows.append(("stored in all (PRs, commits, reviews, deployments)", stored, ""))
    table = (
        markdown_table(("measure", "result", "target"), rows)
        + "\n\nMix per pull request: opened, 2 pushes of 3 commits, 2 synchronize, 2 reviews, "
        "closed (merged), deployment in_progress and success; full-size payloads (~10-30 KB). "
        f"Clients, server and PostgreSQL share the machine's {os.cpu_count()} cores "
        f"(load average {load:.1f} when the run started)."
    )
    publish("github_webhooks", table, args.write_docs)


def _stored(db_url_plain: str, schema: str) -> str:
    with psycopg.connect(db_url_plain, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        counts = [
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("pull_request", "git_commit", "pull_request_review", "deployment")
        ]
    return " / ".join(str(c) for c in counts)


if __name__ == "__main__":
    main()
