"""A clock while its database is unreachable: one line when the outage starts, one every
DB_OUTAGE_LOG_SECONDS while it lasts, one when it ends; never a traceback, never a line per job
per tick. On PostgreSQL a proxy refuses the connections; on SQLite the file cannot be opened
(its folder is not there yet)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from chatbot.clock import FrozenClock
from chatbot.db.engine import Database, make_engine
from chatbot.db.migrate import upgrade
from chatbot.digest.jobs import run_digest_schedule
from chatbot.scheduler import Job, JobClock
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService
from tests.conftest import PG_ADMIN
from tests.fakes.tcp_proxy import TcpProxy
from tests.outage_helpers import through_proxy

TICK = 5.0
LOG_EVERY = 60.0


@contextmanager
def _unreachable(db_url: str, tmp_path: Path) -> Iterator[tuple[Database, Callable[[], None]]]:
    """A database that cannot be reached, and the call that brings it back."""
    if db_url.startswith("postgresql"):
        target = make_url(PG_ADMIN)
        proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
        db = Database(make_engine(through_proxy(db_url, proxy.port)))
        proxy.refuse()
        try:
            yield db, proxy.forward
        finally:
            db.engine.dispose()
            proxy.close()
        return
    folder = tmp_path / "not-mounted-yet"
    db = Database(make_engine(f"sqlite:///{folder / 'clock.db'}"))

    def mount() -> None:
        folder.mkdir()
        upgrade(db.engine)

    try:
        yield db, mount
    finally:
        db.engine.dispose()


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "chatbot.scheduler"]


def test_an_outage_is_said_once_then_every_so_often_then_its_end(
    db_url: str, tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []
    jobs = [Job(name, 5, lambda name=name: ran.append(name)) for name in ("a", "b", "c")]
    with _unreachable(db_url, tmp_path) as (db, bring_back):
        ticking = JobClock(db, clock, jobs, TICK, outage_log_seconds=LOG_EVERY)
        for _ in range(20):  # 100 s of outage, 3 jobs a tick
            assert ticking.tick() == []
            clock.advance(seconds=TICK)
        said = _lines(caplog)
        assert [r.levelno for r in said] == [logging.WARNING, logging.WARNING]
        assert "the database is unreachable" in said[0].getMessage()
        assert "still unreachable after 60 s, 37 attempts" in said[1].getMessage()
        bring_back()
        assert ticking.tick() == ["a", "b", "c"]
        said = _lines(caplog)
        assert len(said) == 3
        assert "the database answers again after 100 s" in said[2].getMessage()
        assert all(r.exc_info is None for r in said)
        ticking.tick()
        assert len(_lines(caplog)) == 3  # nothing more once it is over


def test_a_job_whose_own_database_call_fails_is_an_outage_line_not_a_traceback(
    db: Database, tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    gone = make_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}")

    def reads_elsewhere() -> None:
        with gone.connect() as conn:
            conn.execute(text("SELECT 1"))

    def breaks() -> None:
        raise RuntimeError("a bug")

    try:
        ticking = JobClock(
            db, clock, [Job("reads", 5, reads_elsewhere), Job("bug", 5, breaks)], TICK
        )
        assert ticking.tick() == ["reads", "bug"]
    finally:
        gone.dispose()
    said = _lines(caplog)
    outage = [r for r in said if "unreachable" in r.getMessage()]
    bugs = [r for r in said if r.exc_info is not None]
    assert len(outage) == 1 and outage[0].exc_info is None
    assert len(bugs) == 1 and "job bug failed" in bugs[0].getMessage()


class _Publisher:
    """Stands in for the digest publisher: team "down" meets the database gone, "bug" a bug."""

    def __init__(self, gone: Engine) -> None:
        self.gone = gone

    def post_slot(self, team: Team, week: str) -> None:
        if team.name == "bug":
            raise RuntimeError("a bug")
        with self.gone.connect() as conn:
            conn.execute(text("SELECT 1"))


class _NoCheckIns:
    def run_due(self, team: Team, now: datetime) -> None:
        return None


def test_a_team_whose_digest_meets_the_outage_is_one_line_and_a_bug_keeps_its_traceback(
    db: Database, tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    teams = TeamService(db, clock)
    for name in ("down", "bug"):
        teams.add(name, f"C{name.upper()}0001", tz="UTC")
    clock.set(datetime(2026, 11, 16, 9, 0, tzinfo=UTC))  # both teams' Monday slot
    gone = make_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}")
    try:
        run_digest_schedule(teams, clock, _Publisher(gone), _NoCheckIns())  # type: ignore[arg-type]
    finally:
        gone.dispose()
    said = [r for r in caplog.records if r.name == "chatbot.digest.jobs"]
    assert len(said) == 2
    outage, bug = sorted(said, key=lambda r: "team bug" in r.getMessage())
    assert "team down" in outage.getMessage() and "database is unreachable" in outage.getMessage()
    assert outage.exc_info is None
    assert "team bug" in bug.getMessage() and bug.exc_info is not None
