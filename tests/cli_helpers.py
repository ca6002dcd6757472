"""Running `python -m chatbot ...` as a user would, in a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

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
