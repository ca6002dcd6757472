"""Drills with real processes killed with SIGKILL (docs/reliability.md, "Crashes after the ack
and during the digest post").

A child process is started with THROUGHLINE_TEST_CRASH_AT naming a crash point, and kills
itself there with SIGKILL: after Slack's event was acked and its delivery claimed (before the
intent was stored), or before the digest post, between Slack's acceptance of it and its
record, after the record. Other processes then do what Slack's retry or the stale-claim retry
does, several at once: the work is done, and every message is in the fake Slack exactly once.

The children talk to the fake Slack over HTTP and share one database with this process. They
wait for each other with deadlines, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlmodel import select

from chatbot.clock import SystemClock
from chatbot.crashpoints import CRASH_AT
from chatbot.db.claims import run_status
from chatbot.db.core_models import RunStatus
from chatbot.digest.models import DigestPost
from chatbot.digest.publish import slot_key
from chatbot.digest.schedule import digest_slot
from chatbot.intent.models import Intent
from chatbot.outbox.models import OutboxMessage, OutboxStatus
from chatbot.services import Services, build_services
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService
from tests.cli_helpers import START_DEADLINE
from tests.conftest import PG_ADMIN, _pg_schema_url, make_settings
from tests.fakes.slack_api import FakeSlack, FakeSlackServer, im_of
from tests.slack_driver import SIGNING_SECRET, SlackDriver

pytestmark = pytest.mark.drill

KILLED = -signal.SIGKILL
DEADLINE = 60.0
_OURS = ("SLACK_", "DATABASE_", "PORT", "JIRA_", "GITHUB_", "DEPLOY_", "CONTEXT_", "WEB_")


def _wait(what: str, done: Callable[[], bool], timeout: float = DEADLINE) -> None:
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


class Children:
    """`python -m chatbot …` processes with their stderr in files; all stopped at the end."""

    def __init__(self, folder: Path, db_url: str, slack: FakeSlackServer) -> None:
        self.folder = folder
        clean = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
        clean.pop(CRASH_AT, None)
        self.env = {
            **clean,
            "SLACK_BOT_TOKEN": "xoxb-drill",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": db_url,
            "CLOCK_TICK_SECONDS": "1",
            "LOG_LEVEL": "INFO",
            "WEB_THREADS": "4",
        }
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"child-{len(self.started)}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "chatbot", *args],
                env={**self.env, **env},
                cwd=self.folder,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        self.started.append((proc, log))
        return proc

    def run(self, *args: str, **env: str) -> tuple[int, str]:
        """Run a command to its end: its exit code and what it wrote to stderr."""
        proc = self.start(*args, **env)
        code = proc.wait(timeout=DEADLINE)
        return code, self.log(proc)

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        return next(path for p, path in self.started if p is proc).read_text(errors="replace")

    def serve(self, **env: str) -> tuple[subprocess.Popen[bytes], str]:
        with socket_port() as port:
            pass
        proc = self.start("serve", "--host", "127.0.0.1", "--no-clock", PORT=str(port), **env)
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"chatbot serve stopped: {self.log(proc)}")
            try:
                return SlackDriver(url, "").get("/healthz").status == 200
            except OSError:
                return False

        _wait("chatbot serve answers /healthz", healthy, START_DEADLINE)
        return proc, url

    def killed(self, proc: subprocess.Popen[bytes]) -> None:
        """The process killed itself at its crash point (SIGKILL: no handler ran)."""
        code = proc.wait(timeout=DEADLINE)
        assert code == KILLED, f"exit {code}, not SIGKILL: {self.log(proc)}"

    def worker_killed(self, proc: subprocess.Popen[bytes]) -> None:
        """A worker of `chatbot serve` killed itself at its crash point; gunicorn says so (it
        would start another, which dies at the same point): the server is stopped."""
        _wait("the worker is killed", lambda: "was sent SIGKILL" in self.log(proc))
        proc.terminate()
        proc.wait(timeout=DEADLINE)

    def stop_all(self) -> str:
        for proc, _log in self.started:
            if proc.poll() is None:
                proc.terminate()
        for proc, _log in self.started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        return "\n".join(self.log(proc) for proc, _log in self.started)


class socket_port:  # noqa: N801  (used as a context manager)
    """A free TCP port on 127.0.0.1."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database this process and its children share: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/drill.db"
        return
    url, schema = _pg_schema_url()
    yield url
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/drill.db"


def _migrated(db_url: str, slack: FakeSlackServer) -> Services:
    """The shared database with its tables, seen from this process."""
    return build_services(make_settings(db_url, slack.api_url), migrate=True)


@pytest.fixture
def children(tmp_path: Path, slack_server: FakeSlackServer) -> Iterator[Any]:
    made: list[Children] = []

    def make(db_url: str) -> Children:
        made.append(Children(tmp_path, db_url, slack_server))
        return made[-1]

    yield make
    for each in made:
        logs = each.stop_all()
        assert "Traceback" not in logs, logs


# --- a Slack event: killed after the ack ---------------------------------------------------------


def test_a_mention_killed_after_the_ack_is_done_once_by_slacks_retry_to_two_processes(
    sqlite_db: str, slack_server: FakeSlackServer, fake_slack: FakeSlack, children: Any
) -> None:
    services = _migrated(sqlite_db, slack_server)
    run = children(sqlite_db)
    event = {
        "type": "app_mention",
        "user": "U1",
        "channel": "C1",
        "text": "<@UBOT0001> intent Refunds in one click",
        "ts": "1800000000.000201",
    }
    doomed, url = run.serve(**{CRASH_AT: "intent.create.claimed"})
    with contextlib.suppress(urllib.error.URLError, ConnectionError):
        # Acked (200), unless the kill came first: either way Slack retries.
        assert SlackDriver(url, "").event(event, event_id="EvDrill1").status == 200
    run.worker_killed(doomed)
    receivers = [run.serve(), run.serve()]
    answers: list[int] = []

    def retry(url: str) -> None:
        answers.append(SlackDriver(url, "").event(event, event_id="EvDrill1", retry=1).status)

    threads = [threading.Thread(target=retry, args=(u,)) for _p, u in receivers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200, 200]

    def roots() -> list[Any]:
        return [c for c in fake_slack.of("chat.postMessage") if "Drafting" in c.params["text"]]

    def both_done() -> bool:
        told_duplicate = sum("delivered before" in run.log(p) for p, _u in receivers)
        return told_duplicate == 1 and len(roots()) >= 1

    _wait("one process starts the intent, the other drops the retry", both_done)
    with services.db.session() as s:
        [intent] = s.exec(select(Intent)).all()
    assert intent.title == "Refunds in one click"
    assert len(roots()) == 1
    services.db.engine.dispose()


# --- the digest: killed while the post is in flight -----------------------------------------------


def _team_due_now(services: Services) -> tuple[Team, str]:
    """A team whose digest slot was five minutes ago (real time), with a leader."""
    slot = datetime.now(UTC) - timedelta(minutes=5)
    team = TeamService(services.db, SystemClock()).add(
        "payments",
        "CPAY1",
        tz="UTC",
        digest_weekday=str(slot.weekday()),
        digest_time=f"{slot:%H:%M}",
        leaders=["ULEAD1"],
    )
    due = digest_slot(team, datetime.now(UTC))
    assert due is not None
    return team, due.week


def _stale(services: Services, key: str, seconds: float) -> Callable[[], bool]:
    def stale() -> bool:
        run = run_status(services.db, key)
        assert run is not None
        return run.status == RunStatus.RUNNING and (
            datetime.now(UTC) - run.claimed_at > timedelta(seconds=seconds)
        )

    return stale


def _digests_in_slack(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [
        m
        for (c, _ts), m in fake.messages.items()
        if c == channel and (m.get("metadata") or {}).get("event_type") == "throughline_digest"
    ]


def _assert_posted_once(services: Services, fake: FakeSlack, team: Team, week: str) -> None:
    [message] = _digests_in_slack(fake, "CPAY1")
    with services.db.session() as s:
        [record] = s.exec(select(DigestPost)).all()
    assert record.message_ts == message["ts"]
    assert message["metadata"]["event_payload"] == {"key": f"digest-post:{record.id}"}
    dms = [m for (c, _ts), m in fake.messages.items() if c == im_of("ULEAD1")]
    assert len(dms) == 1
    charts = [m for (c, _ts), m in fake.messages.items() if c == "CPAY1" and m.get("files")]
    assert len(charts) == 1 and charts[0]["thread_ts"] == message["ts"]
    runs = [run_status(services.db, f"{slot_key(team.id or 0, week)}{t}") for t in ("", ":try2")]
    assert runs[-1] is not None and runs[-1].status == RunStatus.DONE


# Killed between Slack's acceptance and the record: the three-process drill below.
@pytest.mark.parametrize("point", ["before_send", "after_record"])
def test_a_scheduler_killed_mid_post_then_a_retry_posts_the_digest_once(
    point: str,
    sqlite_db: str,
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    children: Any,
) -> None:
    services = _migrated(sqlite_db, slack_server)
    team, week = _team_due_now(services)
    run = children(sqlite_db)
    run.killed(run.start("scheduler", **{CRASH_AT: f"digest.{point}"}))
    assert len(_digests_in_slack(fake_slack, "CPAY1")) == (0 if point == "before_send" else 1)
    _wait(
        "the dead scheduler's claim goes stale", _stale(services, slot_key(team.id or 0, week), 1)
    )
    code, err = run.run(
        "digest", "--team", "payments", "--post", "--week", week, DIGEST_STALE_SECONDS="1"
    )
    assert code == 0, err
    _assert_posted_once(services, fake_slack, team, week)
    services.db.engine.dispose()


def test_three_processes_retry_a_digest_killed_between_acceptance_and_record_one_posts(
    shared_db: str, slack_server: FakeSlackServer, fake_slack: FakeSlack, children: Any
) -> None:
    services = _migrated(shared_db, slack_server)
    team, week = _team_due_now(services)
    run = children(shared_db)
    run.killed(run.start("scheduler", **{CRASH_AT: "digest.after_send"}))
    _wait(
        "the dead scheduler's claim goes stale", _stale(services, slot_key(team.id or 0, week), 1)
    )
    racers = [
        run.start(
            "digest", "--team", "payments", "--post", "--week", week, DIGEST_STALE_SECONDS="1"
        )
        for _ in range(3)
    ]
    codes = [p.wait(timeout=DEADLINE) for p in racers]
    posted = [run.log(p) for p, code in zip(racers, codes, strict=True) if code == 0]
    assert len(posted) == 1, [run.log(p) for p in racers]
    for proc, code in zip(racers, codes, strict=True):
        if code != 0:  # being posted by the winner, or posted already
            assert code == 2 and ("being posted" in run.log(proc) or "already" in run.log(proc))
    _assert_posted_once(services, fake_slack, team, week)
    services.db.engine.dispose()


# --- a message owed to Slack: killed while its post is in flight -------------------------------


@pytest.mark.parametrize("point", ["before_send", "after_send"])
def test_a_server_killed_mid_send_then_two_clocks_post_the_thread_root_once(
    point: str,
    shared_db: str,
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    children: Any,
) -> None:
    """`/intent` to a `chatbot serve` whose worker kills itself before the root's
    `chat.postMessage` / after Slack accepted it (its outbox row still unsettled); two
    `chatbot scheduler` clocks then find the row once its 1 s lease has run out. One looks
    for the root by its metadata and adopts it, or posts it: one root, one first question
    in its thread, the intent holding the root's ts."""
    services = _migrated(shared_db, slack_server)
    run = children(shared_db)
    short = {"OUTBOX_LEASE_SECONDS": "1", "OUTBOX_EVERY_SECONDS": "1"}
    doomed, url = run.serve(**{CRASH_AT: f"slack_outbox.{point}"}, **short)
    with contextlib.suppress(urllib.error.URLError, ConnectionError):
        driver = SlackDriver(url, slack_server.response_url("cmd"))
        assert driver.command("/intent", "Refunds in one click").status == 200
    run.worker_killed(doomed)
    killed = time.monotonic()

    def texts(words: str) -> list[dict[str, Any]]:
        return [m for m in fake_slack.messages.values() if words in str(m.get("text", ""))]

    assert len(texts("Drafting intent")) == (1 if point == "after_send" else 0)
    clocks = [run.start("scheduler", **short) for _ in range(2)]
    _wait("the first question is in the root's thread", lambda: bool(texts("1/6 · Outcome")))
    took = time.monotonic() - killed
    [root] = texts("Drafting intent")
    [question] = texts("1/6 · Outcome")
    assert question["thread_ts"] == root["ts"]
    with services.db.session() as s:
        [intent] = s.exec(select(Intent)).all()
        rows = s.exec(select(OutboxMessage)).all()
    assert intent.thread_ts == root["ts"]
    assert all(r.status == OutboxStatus.SENT and not r.claim_lapsed for r in rows)
    assert [r.state.get("ts") for r in rows] == [root["ts"], question["ts"]]
    looked = fake_slack.of("conversations.history", ok=True)
    assert len(looked) == 1  # one clock looked (and, after Slack had it, did not post)
    posted = [c for c in fake_slack.of("chat.postMessage", ok=True) if "Drafting" in str(c.params)]
    assert len(posted) == 1
    assert all(p.poll() is None for p in clocks)
    print(f"\n{point}: root and question settled {took:.1f} s after the kill")
    services.db.engine.dispose()
