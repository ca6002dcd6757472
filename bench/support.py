"""What the benchmarks share: starting the fakes and `chatbot serve`, waiting for /healthz,
throwaway PostgreSQL schemas, percentiles and the docs/performance.md table."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench._readme import write_section
from tests.slack_driver import SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank value at fraction `q` (0.99 for p99) of the sorted values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start_fake(*module: str) -> tuple[subprocess.Popen[str], str]:
    """Runs `python -m <module> [args]` (a fake API server) in its own process, so it does not
    share a GIL with the client; returns the process and the URL it prints first. Closing its
    stdin stops it (see `stop_fake`)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", *module],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def stop_fake(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=10)


def serve_env(api_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment `chatbot serve` needs against the fake Slack API, plus `extra`."""
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        **extra,
    }


def start_serve(
    env: dict[str, str], cwd: str | Path, *flags: str, **popen: Any
) -> subprocess.Popen[Any]:
    """`chatbot serve` (gunicorn) on 127.0.0.1, on the PORT that `env` names."""
    return subprocess.Popen(
        [sys.executable, "-m", "chatbot", "serve", "--host", "127.0.0.1", *flags],
        env=env,
        cwd=cwd,
        **popen,
    )


def stop_serve(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def wait_healthy(url: str, since: float | None = None, timeout: float = 30.0) -> float:
    """Waits until `url`/healthz answers 200; returns the seconds since `since` (a
    `time.perf_counter()` reading, by default the call). Exits after `timeout` seconds."""
    started = time.perf_counter() if since is None else since
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"server did not become ready in {timeout:.0f} s")


@contextmanager
def pg_schema(prefix: str, admin_url: str = PG_ADMIN) -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema for one run on the server at `admin_url` (a libpq URL): yields
    (SQLAlchemy URL searching it, its name) and drops it with everything in it afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        base = admin_url.replace("postgresql://", "postgresql+psycopg://")
        yield f"{base}?options=-csearch_path%3D{schema}", schema
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *(line(r) for r in rows)])


def publish(name: str, table: str, write_docs: bool) -> None:
    """Prints the benchmark's table and, with --write-docs, puts it in its block of
    docs/performance.md."""
    print(table)
    if write_docs:
        write_section(name, table)
