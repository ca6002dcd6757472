"""Running `python -m chatbot ...` as a user would: a command in a clean environment, or
`chatbot serve` on a free port until it answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

# Settings read from the environment: a developer's own values must not leak into a test.
OUR_VARIABLES = ("SLACK_", "DATABASE_", "JIRA_", "GITHUB_")


def run_chatbot(
    *args: str,
    cwd: Path | str,
    env: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = OUR_VARIABLES,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`chatbot <args>` in a fresh process: the variables starting with `drop` removed from
    this process's environment, `env` added; output captured as text."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(
    proc: subprocess.Popen[Any], url: str, output: Callable[[], str], timeout: float = 30
) -> int:
    """Waits for a started `chatbot serve` to answer `url`/healthz (the port opening, not a
    job) and returns that answer's status. If the process exits or `timeout` seconds pass
    first, kills it and fails the test with what `output` returns (its log)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                return int(resp.status)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"chatbot serve did not start: {output()}")
            time.sleep(0.05)
