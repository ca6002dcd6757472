"""Team settings as code: `chatbot team add / list / set` on a fresh SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from chatbot.clock import SystemClock
from chatbot.db.engine import Database, make_engine
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService


def _chatbot(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp / 'teams.db'}"
    env["COLUMNS"] = "200"  # one table row per line, whatever the terminal
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
    assert listed.returncode == 0, listed.stderr
    header, *rows = _table_rows(listed.stdout)
    assert header[:5] == ["name", "channel", "tz", "jira", "wip limit"]
    assert [row[:5] for row in rows] == [["payments", "C0PAY1", "Europe/Berlin", "PAY", "3"]]
    team = _stored_team(tmp_path, "payments")
    assert team.decision_reaction == "pushpin" and team.wip_limit == 3
    assert team.repos == ["acme/payments"]


def _table_rows(output: str) -> list[list[str]]:
    """The cells of each row of a table printed by `rich` (one list of stripped cells per row)."""
    return [
        [cell.strip() for cell in line.strip().strip("│┃").split("│" if "│" in line else "┃")]
        for line in output.splitlines()
        if line.strip().startswith(("│", "┃"))
    ]


def _stored_team(tmp: Path, name: str) -> Team:
    database = Database(make_engine(f"sqlite:///{tmp / 'teams.db'}"))
    try:
        team = TeamService(database, SystemClock()).get(name)
        assert team is not None, f"no team {name!r} stored"
        return team
    finally:
        database.engine.dispose()


def test_team_set_refuses_bad_values(tmp_path: Path) -> None:
    _chatbot(tmp_path, "team", "add", "web", "--channel", "C0WEB1")
    bad_tz = _chatbot(tmp_path, "team", "set", "web", "--tz", "Mars/Olympus")
    assert bad_tz.returncode == 1 and "time zone" in bad_tz.stderr
    unknown = _chatbot(tmp_path, "team", "set", "web", "--colour", "blue")
    assert unknown.returncode == 1 and "Unknown setting --colour" in unknown.stderr
    missing = _chatbot(tmp_path, "team", "set", "nobody", "--wip-limit", "2")
    assert missing.returncode == 1 and "No team named" in missing.stderr
