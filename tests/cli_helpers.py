"""Running `chatbot ...`: in this process (`invoke_chatbot`, most tests), as a user would in a
fresh process (`run_chatbot`, for what only a real process shows), or `chatbot serve` on a free
port until it answers."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# How long a started process may take to answer /healthz (or connect). Generous: on a loaded
# two-core machine an interpreter start with all its imports took over 30 s; polling returns
# as soon as it answers, so a quiet machine waits no longer.
START_DEADLINE = 180.0

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
    proc: subprocess.Popen[Any],
    url: str,
    output: Callable[[], str],
    timeout: float = START_DEADLINE,
) -> int:
    """Waits for a started `chatbot serve` to answer `url`/healthz (the port opening, not a
    job) and returns that answer's status. If the process exits or `timeout` seconds pass
    first, kills it and fails the test with what `output` returns (its log)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            # A loaded machine may take seconds to answer the first request: a short per-try
            # timeout would fail every try until the deadline.
            with urllib.request.urlopen(url + "/healthz", timeout=10) as resp:
                return int(resp.status)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"chatbot serve did not start: {output()}")
            time.sleep(0.05)


@dataclass(frozen=True)
class Invoked:
    """What `invoke_chatbot` saw, shaped like `subprocess.CompletedProcess`."""

    returncode: int
    stdout: str
    stderr: str
    exception: BaseException | None


def invoke_chatbot(
    *args: str,
    cwd: Path | str,
    env: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = OUR_VARIABLES,
) -> Invoked:
    """`chatbot <args>` in this process (typer's runner): the same command code as
    `run_chatbot` without paying the interpreter's and the libraries' start for each call.
    The variables starting with `drop` are unset for the call and `env` set; `cwd` is the
    working folder (where a `.env` would be read). Output is as wide as a wide terminal unless
    `env` sets COLUMNS: the width a test process inherits differs (xdist workers, CI)."""
    from typer.testing import CliRunner

    from chatbot.cli import app

    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith(drop)}
    with contextlib.chdir(cwd):
        result = CliRunner().invoke(app, list(args), env={**unset, "COLUMNS": "200", **(env or {})})
    unexpected = result.exception if not isinstance(result.exception, SystemExit) else None
    return Invoked(result.exit_code, result.stdout, result.stderr, unexpected)
