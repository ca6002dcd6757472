"""The digest, the leaders' DMs and the check-ins are posted exactly once across a crash at
each point of a send: before it, after Slack accepted it, after it was recorded.

Each test stops a clock's run at a named crash point (THROUGHLINE_TEST_CRASH_AT, raising
`SimulatedCrash` in this process), lets the stale window pass on the frozen clock, and runs
the clock again (once, or four clocks at the same instant): every message is in Slack once,
and the one a dead process sent is adopted (its ts recorded) rather than sent again.
`tests/test_crash_drills.py` does the same with real processes killed with SIGKILL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from chatbot.clock import FrozenClock
from chatbot.crashpoints import CRASH_AT, SimulatedCrash
from chatbot.db.claims import claim_run
from chatbot.db.core_models import JobRun
from chatbot.digest.jobs import run_digest_schedule
from chatbot.digest.models import DigestPost
from chatbot.digest.publish import DigestPublisher
from chatbot.root import build_root
from chatbot.services import Services
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService
from tests.digest_samples import digest_services, every_metric_worse
from tests.fakes.slack_api import Call, FakeSlack, FakeSlackServer, im_of

POINTS = ("before_send", "after_send", "after_record")
STALE = timedelta(minutes=10)
_TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000000000500010d0a2db40000000049454e44ae426082"
)


def _sample(team: Team, week: str | None) -> dict[str, Any]:
    digest = every_metric_worse()
    digest.update(team=team.name, week=week or "2026-W46", time_zone=team.tz)
    return digest


@pytest.fixture
def services(
    db_url: str, slack_server: FakeSlackServer, fake_slack: FakeSlack, clock: FrozenClock
) -> Iterator[Services]:
    built = digest_services(db_url, slack_server, clock)
    yield built
    built.db.engine.dispose()


def _tick(services: Services) -> int:
    """One run of the digest job, as a clock runs it (with a fixed digest and a tiny chart)."""
    root = build_root(services)
    built = root.digests
    publisher = DigestPublisher(
        services.db,
        services.clock,
        services.prompts,
        built.delivery,
        compute=_sample,
        chart=lambda digest: _TINY_PNG,
        stale_after=STALE,
    )
    teams = TeamService(services.db, services.clock)
    return run_digest_schedule(teams, services.clock, publisher, root.checkins)


def _crash_at(monkeypatch: pytest.MonkeyPatch, point: str, services: Services) -> None:
    """Run the clock once with a crash at `point`: it must stop there."""
    monkeypatch.setenv(CRASH_AT, f"{point}=raise")
    with pytest.raises(SimulatedCrash):
        _tick(services)
    monkeypatch.delenv(CRASH_AT)


def _berlin(services: Services, clock: FrozenClock, **fields: Any) -> Team:
    """The Berlin team with the clock at its digest slot (Monday 16 Nov 2026, 09:00 there)."""
    team = TeamService(services.db, services.clock).add(
        "berlin", "CBERLIN1", tz="Europe/Berlin", **fields
    )
    clock.set(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    return team


def _digests(fake: FakeSlack) -> list[Call]:
    return [
        c
        for c in fake.of("chat.postMessage", ok=True)
        if c.params.get("channel") == "CBERLIN1" and "Weekly digest" in str(c.params["blocks"])
    ]


def _sent_to(fake: FakeSlack, user: str) -> list[Call]:
    return [c for c in fake.of("chat.postMessage", ok=True) if c.params.get("channel") == user]


def _in_slack(fake: FakeSlack, channel: str, kind: str) -> list[dict[str, Any]]:
    """The messages of `channel` that carry our metadata of `kind`, as Slack holds them."""
    return [
        m
        for (c, _ts), m in fake.messages.items()
        if c == channel and (m.get("metadata") or {}).get("event_type") == kind
    ]


def _record(services: Services) -> DigestPost:
    with services.db.session() as s:
        [record] = s.exec(select(DigestPost)).all()
    return record


def _runs(services: Services) -> dict[str, JobRun]:
    with services.db.session() as s:
        return {r.key: r for r in s.exec(select(JobRun)).all()}


@pytest.mark.parametrize("point", POINTS)
def test_the_digest_is_posted_once_across_a_crash(
    point: str,
    services: Services,
    fake_slack: FakeSlack,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _berlin(services, clock, leaders=["ULEAD1"])
    _crash_at(monkeypatch, f"digest.{point}", services)
    assert len(_digests(fake_slack)) == (0 if point == "before_send" else 1)
    clock.advance(minutes=5)
    assert _tick(services) == 0  # the attempt may still be running elsewhere
    clock.advance(minutes=6)
    assert _tick(services) == 1
    clock.advance(minutes=30)
    assert _tick(services) == 0
    [posted] = _digests(fake_slack)
    assert _record(services).message_ts == posted.response["ts"]
    assert [m["ts"] for m in _in_slack(fake_slack, "CBERLIN1", "throughline_digest")] == [
        posted.response["ts"]
    ]
    runs = _runs(services)
    assert runs["digest:1:2026-W46:try2"].status == "done"
    assert runs["digest:1:2026-W46:try2"].detail == f"ts {posted.response['ts']}"
    assert len(_sent_to(fake_slack, "ULEAD1")) == 1
    assert len(fake_slack.of("files.completeUploadExternal", ok=True)) == 1


@pytest.mark.parametrize("point", POINTS)
def test_a_leaders_dm_is_sent_once_across_a_crash(
    point: str,
    services: Services,
    fake_slack: FakeSlack,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _berlin(services, clock, leaders=["ULEAD1", "ULEAD2"])
    _crash_at(monkeypatch, f"digest-dm.{point}", services)
    clock.advance(minutes=11)
    _tick(services)
    assert len(_digests(fake_slack)) == 1
    for leader in ("ULEAD1", "ULEAD2"):
        assert len(_sent_to(fake_slack, leader)) == 1, leader
        [dm] = _in_slack(fake_slack, im_of(leader), "throughline_digest_dm")
        run = _runs(services)[f"digest-dm:{_record(services).id}:{leader}"]
        assert run.status == "done" and dm["ts"] in str(run.detail)
    assert len(fake_slack.of("files.completeUploadExternal", ok=True)) == 1


@pytest.mark.parametrize("point", POINTS)
def test_the_chart_is_uploaded_once_and_the_leader_told_across_a_crash_during_the_upload(
    point: str,
    services: Services,
    fake_slack: FakeSlack,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _berlin(services, clock, leaders=["ULEAD1"])
    _crash_at(monkeypatch, f"digest-chart.{point}", services)
    clock.advance(minutes=11)
    _tick(services)
    assert len(_digests(fake_slack)) == 1
    assert len(fake_slack.of("files.completeUploadExternal", ok=True)) == 1
    assert len(_sent_to(fake_slack, "ULEAD1")) == 1


def _senior(services: Services, clock: FrozenClock) -> Team:
    """A team with one senior engineer, the clock just after its check-in (Friday 20 Nov
    2026, 15:00 in Berlin)."""
    team = TeamService(services.db, services.clock).add(
        "berlin", "CBERLIN1", tz="Europe/Berlin", senior_engineers=["USEN1"]
    )
    clock.set(datetime(2026, 11, 20, 14, 0, tzinfo=UTC))
    return team


@pytest.mark.parametrize("point", POINTS)
def test_a_check_in_is_sent_once_across_a_crash(
    point: str,
    services: Services,
    fake_slack: FakeSlack,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _senior(services, clock)
    _crash_at(monkeypatch, f"checkin.{point}", services)
    clock.advance(minutes=5)
    _tick(services)
    clock.advance(minutes=6)
    _tick(services)
    clock.advance(minutes=30)
    _tick(services)
    [asked] = _sent_to(fake_slack, "USEN1")
    assert "orchestration" in str(asked.params["blocks"]).lower()
    [dm] = _in_slack(fake_slack, im_of("USEN1"), "throughline_checkin")
    assert dm["ts"] == asked.response["ts"]


def test_a_check_in_another_process_is_sending_is_left_to_it_until_stale(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    team = _senior(services, clock)
    assert claim_run(services.db, clock, f"checkin:{team.id}:2026-W47:USEN1", "checkin", "alive:1")
    clock.advance(minutes=9)
    _tick(services)
    assert _sent_to(fake_slack, "USEN1") == []
    clock.advance(minutes=2)  # its process died: nothing of it in Slack, so it is sent now
    _tick(services)
    assert len(_sent_to(fake_slack, "USEN1")) == 1
    assert fake_slack.of("conversations.history", ok=True)


# The digest: killed between Slack's acceptance and the record, the message must be adopted;
# the check-in: killed before the send, exactly one of the clocks must send it.
@pytest.mark.parametrize("point", ["digest.after_send", "checkin.before_send"])
def test_four_clocks_after_a_crash_send_once(
    point: str,
    db_url: str,
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    clock: FrozenClock,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if point.startswith("digest"):
        _berlin(services, clock, leaders=["ULEAD1"])
    else:
        _senior(services, clock)
    _crash_at(monkeypatch, point, services)
    clock.advance(minutes=11)
    clocks = [digest_services(db_url, slack_server, clock) for _ in range(4)]
    barrier = threading.Barrier(len(clocks))
    errors: list[BaseException] = []

    def run(each: Services) -> None:
        try:
            barrier.wait()
            _tick(each)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in clocks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clocks:
        c.db.engine.dispose()
    assert errors == []
    if point.startswith("digest"):
        [digest] = _digests(fake_slack)
        assert _record(services).message_ts == digest.response["ts"]
        assert len(_sent_to(fake_slack, "ULEAD1")) == 1
    else:
        assert len(_sent_to(fake_slack, "USEN1")) == 1


def test_a_live_attempt_slower_than_the_stale_window_is_not_taken_over(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    """Only a dead attempt goes stale: a live one renews its claim while it works (here its
    digest takes long to compute), so a second process finds it busy, not abandoned."""
    team = _berlin(services, clock)
    computing, finish = threading.Event(), threading.Event()

    def slow(team: Team, week: str | None) -> dict[str, Any]:
        computing.set()
        assert finish.wait(30)
        return _sample(team, week)

    def publisher(compute: Any) -> DigestPublisher:
        delivery = build_root(services).digests.delivery
        return DigestPublisher(
            services.db,
            services.clock,
            services.prompts,
            delivery,
            compute=compute,
            chart=lambda digest: _TINY_PNG,
            stale_after=timedelta(seconds=0.2),
        )

    results: list[str] = []
    first = threading.Thread(
        target=lambda: results.append(publisher(slow).post_slot(team, "2026-W46").status)
    )
    first.start()
    try:
        assert computing.wait(30)
        clock.advance(minutes=30)  # far past the stale window, on this clock
        key = "digest:1:2026-W46"

        def renewed() -> bool:
            run = _runs(services).get(key)
            return run is not None and run.claimed_at == clock.now()

        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while not renewed():
            assert datetime.now(UTC) < deadline, "the live attempt never renewed its claim"
            finish.wait(0.05)
        second = publisher(_sample).post_slot(team, "2026-W46")
        assert second.status == "busy"
        assert second.since == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # when it started
    finally:
        finish.set()
        first.join()
    assert results == ["posted"]
    assert len(_digests(fake_slack)) == 1
