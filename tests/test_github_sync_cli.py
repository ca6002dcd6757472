"""`chatbot sync github` (in-process, typer's runner) against the fake GitHub, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from chatbot.clock import SystemClock
from chatbot.db.engine import Database
from chatbot.github.models import PullRequest
from chatbot.teams.service import TeamService
from tests.cli_helpers import Invoked, invoke_chatbot
from tests.fakes.github_api import TOKEN, FakeGitHub, FakeGitHubServer, history
from tests.github_helpers import (  # noqa: F401  (fixtures)
    count,
    github_fixture,
    github_server_fixture,
    rows,
)

Run = Callable[..., Invoked]


@pytest.fixture
def run(db_url: str, tmp_path: Path, github_server: FakeGitHubServer) -> Run:
    def _chatbot(*args: str, token: str | None = TOKEN, api_url: str | None = None) -> Invoked:
        env = {
            "DATABASE_URL": db_url,
            "GITHUB_API_URL": api_url or github_server.url,
            "COLUMNS": "200",
        }
        if token is not None:
            env["GITHUB_TOKEN"] = token
        return invoke_chatbot("sync", "github", *args, cwd=tmp_path, env=env)

    return _chatbot


def add_team(db: Database, name: str, repos: list[str]) -> None:
    TeamService(db, SystemClock()).add(name, "C0" + name.upper()[:8], repos=repos)


def test_backfills_every_teams_repos(db: Database, github: FakeGitHub, run: Run) -> None:
    add_team(db, "payments", ["Acme/Payments"])
    add_team(db, "search", ["acme/search"])
    github.add_repo("acme/payments", history(150))
    github.add_repo("acme/search", history(3, key_prefix="SRCH"))
    done = run()
    assert done.returncode == 0, done.stderr
    assert "acme/payments: 150 pull requests, 1200 commits, 750 reviews" in done.stdout
    assert "acme/search: 3 pull requests" in done.stdout
    assert "Traceback" not in done.stderr
    assert count(db, PullRequest) == 153
    assert github.count() == 3  # two pages for payments, one for search


def test_team_and_since_narrow_what_is_read(db: Database, github: FakeGitHub, run: Run) -> None:
    add_team(db, "payments", ["acme/payments"])
    add_team(db, "search", ["acme/search"])
    github.add_repo("acme/payments", history(48))  # #1 updated 2026-06-02T16:00Z, then hourly
    github.add_repo("acme/search", history(3))
    done = run("--team", "payments", "--since", "2026-06-03")
    assert done.returncode == 0, done.stderr
    stored = rows(db, PullRequest)
    assert {p.repo for p in stored} == {"acme/payments"}
    assert len(stored) == 48 - 8  # the first eight were last updated on June 2nd


@pytest.mark.parametrize(
    ("args", "token", "says"),
    [
        ((), None, "GITHUB_TOKEN is not set"),
        (("--team", "nobody"), TOKEN, "No team named 'nobody'"),
        (("--since", "last week"), TOKEN, "2026-09-01"),
    ],
)
def test_refusals_are_one_line_exit_2(
    db: Database, github: FakeGitHub, run: Run, args: tuple[str, ...], token: str | None, says: str
) -> None:
    add_team(db, "payments", ["acme/payments"])
    github.add_repo("acme/payments", history(2))
    done = run(*args, token=token)
    assert done.returncode == 2
    assert says in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert count(db, PullRequest) == 0


def test_no_repos_says_how_to_add_them(db: Database, github: FakeGitHub, run: Run) -> None:
    add_team(db, "payments", [])
    done = run()
    assert done.returncode == 2 and "chatbot team set" in done.stderr


def test_a_refused_token_stops_with_one_line_and_no_secret(
    db: Database, github: FakeGitHub, run: Run
) -> None:
    add_team(db, "payments", ["acme/payments"])
    github.add_repo("acme/payments", history(2))
    done = run(token="ghp_not_valid_at_all")
    assert done.returncode == 1
    assert "GitHub refused GITHUB_TOKEN" in done.stderr
    assert "ghp_not_valid_at_all" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_an_api_url_that_is_not_a_url_is_refused(db: Database, run: Run) -> None:
    add_team(db, "payments", ["acme/payments"])
    done = run(api_url="api.github.com")
    assert done.returncode == 2 and "GITHUB_API_URL" in done.stderr
