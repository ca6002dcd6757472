"""The hourly GitHub catch-up (docs/reliability.md, "GitHub webhooks missed"): with GITHUB_TOKEN
set, the clock reads what webhooks missed from the fake GitHub API, stores it once, records
the run, and `chatbot team doctor` says when it last ran. On both databases; time is frozen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chatbot.clock import FrozenClock
from chatbot.db.core_models import SyncRun
from chatbot.db.engine import Database
from chatbot.github.catch_up_runs import CATCH_UP_JOB, last_catch_up
from chatbot.github.jobs import FIRST_LOOK_BACK, OVERLAP
from chatbot.github.models import (
    BranchCommit,
    GitCommit,
    PullRequest,
    PullRequestEvent,
    PullRequestKey,
    PullRequestReview,
)
from chatbot.metrics.data_health import catch_up_line, data_health
from chatbot.prompts import Prompts
from chatbot.root import build_root, job_clock
from chatbot.services import Services
from chatbot.settings import Settings
from chatbot.teams.service import TeamService
from tests.cli_helpers import invoke_chatbot
from tests.conftest import Bot
from tests.fakes.github_api import TOKEN, FakeGitHub, FakeGitHubServer, FakePullRequest, history
from tests.fakes.github_events import PullRequestState, pull_request_event
from tests.github_helpers import (  # noqa: F401  (fixtures)
    REPO,
    SECRET,
    add_team,
    count,
    deliver,
    github_fixture,
    github_server_fixture,
    rows,
)

PROMPTS = Prompts(Path(__file__).resolve().parent.parent / "prompts")
STORED = (PullRequest, PullRequestReview, GitCommit, BranchCommit, PullRequestEvent, PullRequestKey)


@pytest.fixture
def bot_settings(github_server: FakeGitHubServer) -> dict[str, Any]:
    return {
        "github_webhook_secret": SECRET,
        "github_token": TOKEN,
        "github_api_url": github_server.url,
    }


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stored(db: Database) -> dict[str, int]:
    return {model.__name__: count(db, model) for model in STORED}


def _services(db: Database, clock: FrozenClock, **settings: Any) -> Services:
    values = Settings(_env_file=None, database_url=str(db.engine.url), **settings)  # type: ignore[call-arg]
    return Services(settings=values, db=db, clock=clock, prompts=PROMPTS)


def test_the_clock_runs_it_hourly_only_with_a_token(
    db: Database, clock: FrozenClock, github: FakeGitHub, github_server: FakeGitHubServer
) -> None:
    TeamService(db, clock).add("payments", "C0PAY", repos=[REPO])
    github.add_repo(REPO, history(2, start=clock.now() - timedelta(hours=40)))
    without = build_root(_services(db, clock, github_api_url=github_server.url))
    assert CATCH_UP_JOB not in [job.name for job in without.jobs]
    assert CATCH_UP_JOB not in job_clock(without).tick()
    assert github.count() == 0

    root = build_root(_services(db, clock, github_token=TOKEN, github_api_url=github_server.url))
    ticker = job_clock(root)
    assert CATCH_UP_JOB in ticker.tick()
    assert count(db, PullRequest) == 2
    clock.advance(minutes=59, seconds=59)
    assert CATCH_UP_JOB not in ticker.tick()
    clock.advance(seconds=1)
    assert CATCH_UP_JOB in ticker.tick()
    clock.advance(hours=1)
    assert CATCH_UP_JOB in ticker.tick()
    assert github.count() == 3  # one page a run: nothing the clock does asks GitHub more


def test_a_pr_whose_webhook_failed_is_filled_once(
    bot: Bot, clock: FrozenClock, github: FakeGitHub
) -> None:
    add_team(bot)
    db = bot.services.db
    first, missed = history(2, start=clock.now() - timedelta(hours=40))
    github.add_repo(REPO, [first, missed])
    seen = PullRequestState(REPO, 1, updated_at=first.updated_at, head_branch=first.head_ref)
    assert deliver(bot, "pull_request", pull_request_event("opened", seen)).status == 200
    # The second PR's delivery came during an outage: 503, and GitHub never sends it again.
    bot.services.settings.github_webhook_secret = None
    late = PullRequestState(REPO, 2, updated_at=missed.updated_at)
    assert deliver(bot, "pull_request", pull_request_event("opened", late)).status == 503
    bot.services.settings.github_webhook_secret = SECRET  # type: ignore[assignment]
    assert [pr.number for pr in rows(db, PullRequest)] == [1]

    ticker = job_clock(bot.root)
    assert CATCH_UP_JOB in ticker.tick()
    assert sorted(pr.number for pr in rows(db, PullRequest)) == [1, 2]
    (filled,) = rows(db, PullRequest, number=2)
    assert filled.title == missed.title and filled.merged_at is not None
    after_first = _stored(db)
    assert after_first["PullRequestReview"] == 10 and after_first["GitCommit"] == 16
    run = last_catch_up(db)
    assert run is not None and run.ok and (run.repos, run.pull_requests) == (1, 2)
    assert run.last_success_started_at == clock.now()

    # An hour later: a new PR, read from the last run's start less the overlap; PRs seen by
    # then are not read again.
    clock.advance(hours=1)
    newest = FakePullRequest(
        number=3, updated_at=_iso(clock.now() - timedelta(minutes=5)), head_oid="3" * 40
    )
    github.add_repo(REPO, [first, missed, newest])
    assert CATCH_UP_JOB in ticker.tick()
    assert sorted(pr.number for pr in rows(db, PullRequest)) == [1, 2, 3]
    run = last_catch_up(db)
    assert run is not None and run.pull_requests == 1

    # PR 3 changed five minutes before that run began: within the overlap, so the next run
    # reads it again, and stores it once.
    stored = _stored(db)
    clock.advance(hours=1)
    assert CATCH_UP_JOB in ticker.tick()
    run = last_catch_up(db)
    assert run is not None and run.pull_requests == 1
    assert _stored(db) == stored


def test_a_failed_run_is_recorded_and_the_next_reads_from_the_last_success(
    db: Database, clock: FrozenClock, github: FakeGitHub, github_server: FakeGitHubServer
) -> None:
    TeamService(db, clock).add("payments", "C0PAY", repos=[REPO])
    github.add_repo(REPO, history(1, start=clock.now() - timedelta(hours=40)))
    services = _services(db, clock, github_token=TOKEN, github_api_url=github_server.url)
    ticker = job_clock(build_root(services))
    first_start = clock.now()
    assert CATCH_UP_JOB in ticker.tick()

    clock.advance(hours=1)
    github.fail_next(401)
    assert CATCH_UP_JOB in ticker.tick()
    run = last_catch_up(db)
    assert run is not None and not run.ok and run.started_at == clock.now()
    assert (
        run.error == f"{REPO}: GitHub refused GITHUB_TOKEN (401): check it is valid and not expired"
    )
    assert run.last_success_started_at == first_start
    assert TOKEN not in (run.error or "")
    team = TeamService(db, clock).get("payments")
    assert any("GitHub catch-up failed" in w for w in data_health(db, team, clock.now(), PROMPTS))

    # The PR changed while the run failed: the next run reads from the last success.
    clock.advance(hours=1)
    (pr,) = github.repos[REPO]
    pr.updated_at, pr.title = _iso(first_start + timedelta(minutes=30)), "Renamed"
    assert CATCH_UP_JOB in ticker.tick()
    assert [p.title for p in rows(db, PullRequest)] == ["Renamed"]
    run = last_catch_up(db)
    assert run is not None and run.ok and run.last_success_started_at == clock.now()
    assert not any("catch-up" in w for w in data_health(db, team, clock.now(), PROMPTS))


def test_the_first_run_reads_a_week_back(
    db: Database, clock: FrozenClock, github: FakeGitHub, github_server: FakeGitHubServer
) -> None:
    TeamService(db, clock).add("payments", "C0PAY", repos=[REPO])
    old = FakePullRequest(number=1, updated_at=_iso(clock.now() - FIRST_LOOK_BACK - OVERLAP * 2))
    recent = FakePullRequest(number=2, updated_at=_iso(clock.now() - FIRST_LOOK_BACK))
    github.add_repo(REPO, [old, recent])
    services = _services(db, clock, github_token=TOKEN, github_api_url=github_server.url)
    job_clock(build_root(services)).tick()
    assert [pr.number for pr in rows(db, PullRequest)] == [2]


def test_doctor_says_when_it_last_ran(db: Database, clock: FrozenClock) -> None:
    now = clock.now()
    assert catch_up_line(db, now, False, PROMPTS).startswith(
        "GitHub catch-up: off. Set GITHUB_TOKEN"
    )
    assert catch_up_line(db, now, True, PROMPTS).startswith("GitHub catch-up: hourly, not run yet")
    with db.session() as s:
        s.add(
            SyncRun(
                name=CATCH_UP_JOB,
                started_at=now - timedelta(minutes=20),
                finished_at=now - timedelta(minutes=19),
                ok=True,
                repos=2,
                pull_requests=1,
                last_success_started_at=now - timedelta(minutes=20),
            )
        )
    assert catch_up_line(db, now, True, PROMPTS) == (
        "GitHub catch-up: last ran 2026-11-18 09:40 UTC and read 1 updated pull request "
        "from 2 repositories."
    )
    assert "over two hours ago" in catch_up_line(db, now + timedelta(hours=3), True, PROMPTS)
    with db.session() as s:
        row = s.get(SyncRun, CATCH_UP_JOB)
        assert row is not None
        row.ok, row.error = False, "acme/payments: GitHub answered 502 6 times; try again later"
        s.add(row)
    assert catch_up_line(db, now, True, PROMPTS) == (
        "GitHub catch-up: last ran 2026-11-18 09:40 UTC and failed: acme/payments: GitHub "
        "answered 502 6 times; try again later. It tries again within the hour."
    )


def test_team_doctor_prints_the_line(
    db: Database, db_url: str, tmp_path: Path, github: FakeGitHub, github_server: FakeGitHubServer
) -> None:
    # The CLI reads the system clock, so the run happens at the real time.
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    TeamService(db, clock).add("payments", "C0PAY", repos=[REPO])
    github.add_repo(REPO, history(3, start=clock.now() - timedelta(hours=40)))
    env = {"DATABASE_URL": db_url, "COLUMNS": "250"}
    off = invoke_chatbot("team", "doctor", "payments", cwd=tmp_path, env=env)
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip().splitlines()[-1].startswith("GitHub catch-up: off.")

    services = _services(db, clock, github_token=TOKEN, github_api_url=github_server.url)
    job_clock(build_root(services)).tick()
    on = invoke_chatbot(
        "team",
        "doctor",
        "payments",
        cwd=tmp_path,
        env=env | {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": github_server.url},
    )
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip().splitlines()[-1] == (
        f"GitHub catch-up: last ran {clock.now():%Y-%m-%d %H:%M} UTC and read 3 updated pull "
        "requests from 1 repositories."
    )
