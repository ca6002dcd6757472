"""The clock: a tick runs what is due; clocks sharing a database run each job once per interval."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from chatbot.clock import FrozenClock
from chatbot.db.core_models import JobLease
from chatbot.db.engine import Database
from chatbot.db.leases import lease_of, release_lease, take_lease
from chatbot.outbox.models import OutboxStatus
from chatbot.prompts import Prompts
from chatbot.root import build_root, job_clock
from chatbot.scheduler import Job, JobClock
from chatbot.services import Services
from chatbot.settings import Settings
from tests.conftest import Bot
from tests.factories import posted_intent, settle
from tests.fakes.jira_api import FakeJira, FakeJiraServer
from tests.jira_fixtures import (  # noqa: F401  (fixtures)
    fake_jira_fixture,
    flavour_fixture,
    jira_server_fixture,
    jira_settings,
)

TICK = 5.0


def _services(db: Database, clock: FrozenClock) -> Services:
    settings = Settings(_env_file=None, database_url=str(db.engine.url))  # type: ignore[call-arg]
    return Services(settings=settings, db=db, clock=clock, prompts=Prompts(settings.prompts_dir))


class Runs:
    """Counts each job's runs across every clock of a test (clocks may run on threads)."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self._lock = threading.Lock()

    def job(self, name: str, seconds: int, fail: bool = False) -> Job:
        def run() -> None:
            with self._lock:
                self.count[name] += 1
            if fail:
                raise RuntimeError("the job broke")

        return Job(name, seconds, run)


def test_a_tick_runs_due_jobs_and_only_those(db: Database, clock: FrozenClock) -> None:
    runs = Runs()
    jobs = [runs.job("every-10s", 10), runs.job("hourly", 3600)]
    ticker = JobClock(db, clock, jobs, TICK)
    assert ticker.tick() == ["every-10s", "hourly"]  # never run before: due at once
    assert ticker.last_tick == clock.now()
    assert ticker.tick() == []
    clock.advance(seconds=9)
    assert ticker.tick() == []
    clock.advance(seconds=1)
    assert ticker.tick() == ["every-10s"]
    clock.advance(minutes=59, seconds=50)
    assert ticker.tick() == ["every-10s", "hourly"]
    assert runs.count == Counter({"every-10s": 3, "hourly": 2})
    lease = lease_of(db, "hourly")
    assert lease is not None and lease.last_run_at == clock.now() and lease.locked_until is None


def test_clocks_sharing_a_database_run_each_job_once_per_interval(
    db: Database, clock: FrozenClock
) -> None:
    runs = Runs()
    jobs = [runs.job("outbox-like", 10), runs.job("sync-like", 120)]
    clocks = [JobClock(db, clock, jobs, TICK) for _ in range(3)]
    assert len({c.holder for c in clocks}) == 3
    for second in range(0, 240):  # 4 minutes, every clock ticking every second
        for ticker in clocks[second % 3 :] + clocks[: second % 3]:
            ticker.tick()
        clock.advance(seconds=1)
    assert runs.count == Counter({"outbox-like": 24, "sync-like": 2})


def test_racing_clocks_on_threads_run_a_due_job_once(db: Database, clock: FrozenClock) -> None:
    runs = Runs()
    jobs = [runs.job("race", 10)]
    clocks = [JobClock(db, clock, jobs, TICK) for _ in range(6)]
    for _round in range(5):
        start = threading.Barrier(len(clocks))

        def tick(ticker: JobClock, start: threading.Barrier = start) -> None:
            start.wait()
            ticker.tick()

        threads = [threading.Thread(target=tick, args=(c,)) for c in clocks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        clock.advance(seconds=10)
    assert runs.count["race"] == 5


def test_a_lease_is_taken_once_per_interval_and_never_while_held(
    db: Database, clock: FrozenClock
) -> None:
    every, hold = timedelta(seconds=10), timedelta(seconds=60)
    start = clock.now()
    assert take_lease(db, start, "job", every, hold, "a")
    assert not take_lease(db, start, "job", every, hold, "b")  # held
    assert not take_lease(db, start + every, "job", every, hold, "b")  # due, but still held
    release_lease(db, "job", "b")  # only the holder frees it
    assert not take_lease(db, start + every, "job", every, hold, "b")
    release_lease(db, "job", "a")
    assert not take_lease(db, start + every - timedelta(seconds=1), "job", every, hold, "b")
    assert take_lease(db, start + every, "job", every, hold, "b")  # free and due
    lease = lease_of(db, "job")
    assert lease is not None and lease.holder == "b" and lease.last_run_at == start + every
    assert lease.locked_until == start + every + hold


def test_a_held_lease_blocks_other_clocks_until_it_runs_out(
    db: Database, clock: FrozenClock
) -> None:
    # A clock took the lease and died mid-run: nobody runs the job until its lease ends.
    every, hold = timedelta(seconds=10), timedelta(seconds=60)
    assert take_lease(db, clock.now(), "outbox", every, hold, "dead-clock")
    runs = Runs()
    survivor = JobClock(db, clock, [runs.job("outbox", 10)], TICK)
    clock.advance(seconds=59)
    assert survivor.tick() == []
    clock.advance(seconds=1)
    assert survivor.tick() == ["outbox"]
    assert runs.count["outbox"] == 1


def test_a_failing_job_frees_its_lease_and_runs_again_next_interval(
    db: Database, clock: FrozenClock
) -> None:
    runs = Runs()
    ticker = JobClock(db, clock, [runs.job("broken", 10, fail=True)], TICK)
    assert ticker.tick() == ["broken"]
    lease = lease_of(db, "broken")
    assert lease is not None and lease.locked_until is None
    clock.advance(seconds=10)
    assert ticker.tick() == ["broken"]
    assert runs.count["broken"] == 2


def test_every_clock_runs_the_outbox_and_forgets_old_deliveries(
    db: Database, clock: FrozenClock
) -> None:
    names = {job.name: job.seconds for job in build_root(_services(db, clock)).jobs}
    assert names["outbox"] <= 10
    assert "forget-old-deliveries" in names


@pytest.fixture
def bot_settings(jira_server: FakeJiraServer, flavour: str) -> dict[str, Any]:
    return jira_settings(jira_server.url, flavour, timeout=0.3)


@pytest.mark.parametrize("outage_seconds", [5, 20, 40])
def test_the_clock_delivers_a_write_made_during_an_outage_within_a_minute_of_jiras_return(
    bot: Bot, fake_jira: FakeJira, clock: FrozenClock, outage_seconds: int
) -> None:
    """What `chatbot serve` does on its own: the embedded clock's outbox job retries."""
    fake_jira.add_issue("PAY-3")
    view = posted_intent(bot)
    fake_jira.fail_next(503, times=10_000)  # Jira is down
    bot.slack.command("/intent", f"link {view.ref} PAY-3")
    settle(bot)
    assert not fake_jira.issues["PAY-3"].comments
    ticker = job_clock(bot.root)  # every real job, as `chatbot serve` runs them
    ticking_until = clock.now() + timedelta(seconds=outage_seconds)
    while clock.now() < ticking_until:  # the clock keeps trying during the outage
        ticker.tick()
        clock.advance(seconds=1)
    fake_jira._failures.clear()  # Jira is back
    back = clock.now()
    while not fake_jira.issues["PAY-3"].comments and clock.now() - back < timedelta(minutes=5):
        ticker.tick()
        settle(bot)
        clock.advance(seconds=1)
    assert fake_jira.issues["PAY-3"].comments, "the clock never delivered the write"
    assert clock.now() - back <= timedelta(minutes=1)
    issue = fake_jira.issues["PAY-3"]
    assert len(issue.comments) == 1 and len(issue.remote_links) == 1
    with bot.services.db.session() as session:
        assert session.get(JobLease, "outbox") is not None
    from chatbot.jira.writes import intent_row_key
    from chatbot.outbox import store

    row = store.by_key(bot.services.db, intent_row_key(view.intent.id or 0))
    assert row is not None and row.status == OutboxStatus.SENT


def test_the_procfile_splits_web_and_clock() -> None:
    from pathlib import Path

    from typer.testing import CliRunner

    from chatbot.cli import app

    procfile = (Path(__file__).resolve().parent.parent / "Procfile").read_text().splitlines()
    assert procfile == [
        "web: chatbot serve --no-clock",
        "clock: chatbot scheduler",
        "release: chatbot db upgrade",
    ]
    for command in ("serve", "socket"):
        help_text = CliRunner().invoke(app, [command, "--help"], terminal_width=200).output
        assert "--no-clock" in help_text


def test_a_job_still_running_at_the_next_tick_logs_nothing(
    db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A long Jira sync outlasts the 5-second tick; APScheduler's warning about it on every
    tick would fill the log, so the started clock drops it (and only it)."""
    ticker = JobClock(db, clock, [], TICK)
    ticker.start()
    try:
        scheduler_log = logging.getLogger("apscheduler.scheduler")
        with caplog.at_level(logging.WARNING, logger="apscheduler.scheduler"):
            scheduler_log.warning(
                'Execution of job "clock: jira-history" skipped: maximum number of running '
                "instances reached (1)"
            )
            scheduler_log.warning("Run time of job missed by 0:00:07")
    finally:
        ticker.stop()
    assert [r.getMessage() for r in caplog.records] == ["Run time of job missed by 0:00:07"]


class Beats:
    """The heartbeat's timer, driven by the test: a beat happens when the test allows one."""

    def __init__(self) -> None:
        self.allowed = threading.Semaphore(0)
        self.renewed = threading.Semaphore(0)
        self.waits = 0

    def wait(self, done: threading.Event, _seconds: float) -> bool:
        if self.waits:
            self.renewed.release()  # the renewal of the beat before this wait is done
        self.waits += 1
        while not done.is_set():
            if self.allowed.acquire(timeout=0.01):
                return False
        return True


def test_a_running_job_renews_its_lease_however_long_it_runs(
    db: Database, clock: FrozenClock
) -> None:
    """A live clock keeps its job however long it runs (a heartbeat renews the lease), while a
    dead one keeps it only until the window runs out (the test above)."""
    started, release = threading.Event(), threading.Event()

    def long_run() -> None:
        started.set()
        release.wait(10)

    beats = Beats()
    busy = JobClock(db, clock, [Job("long", 10, long_run)], TICK, holder="busy", wait=beats.wait)
    runner = threading.Thread(target=busy.tick)
    runner.start()
    assert started.wait(10)
    first = lease_of(db, "long")
    assert first is not None and first.locked_until == clock.now() + timedelta(seconds=60)
    clock.advance(seconds=59)
    beats.allowed.release()
    assert beats.renewed.acquire(timeout=10), "the lease was never renewed"
    clock.advance(seconds=30)  # past the first lease: only the renewal keeps the job
    other = Runs()
    assert JobClock(db, clock, [other.job("long", 10)], TICK).tick() == []
    release.set()
    runner.join(10)
    assert not other.count
