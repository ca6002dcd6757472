"""Team settings as code: `chatbot team add / list / set` on a fresh SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _chatbot(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp / 'teams.db'}"
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=60,
    )


def test_team_add_list_set(tmp_path: Path) -> None:
    added = _chatbot(
        tmp_path,
        "team",
        "add",
        "payments",
        "--channel",
        "C0PAY1",
        "--jira-project",
        "PAY",
        "--tz",
        "Europe/Berlin",
        "--repo",
        "acme/payments",
    )
    assert added.returncode == 0, added.stderr
    assert "payments" in added.stdout
    again = _chatbot(tmp_path, "team", "add", "payments", "--channel", "C0PAY1")
    assert again.returncode == 1 and "exists already" in again.stderr
    changed = _chatbot(
        tmp_path, "team", "set", "payments", "--wip-limit", "3", "--decision-reaction", "pushpin"
    )
    assert changed.returncode == 0, changed.stderr
    listed = _chatbot(tmp_path, "team", "list")
    assert "payments" in listed.stdout and "Europe/Berlin" in listed.stdout and "3" in listed.stdout


def test_team_set_refuses_bad_values(tmp_path: Path) -> None:
    _chatbot(tmp_path, "team", "add", "web", "--channel", "C0WEB1")
    bad_tz = _chatbot(tmp_path, "team", "set", "web", "--tz", "Mars/Olympus")
    assert bad_tz.returncode == 1 and "time zone" in bad_tz.stderr
    unknown = _chatbot(tmp_path, "team", "set", "web", "--colour", "blue")
    assert unknown.returncode == 1 and "Unknown setting --colour" in unknown.stderr
    missing = _chatbot(tmp_path, "team", "set", "nobody", "--wip-limit", "2")
    assert missing.returncode == 1 and "No team named" in missing.stderr
