"""The digest clock: each team's digest once per week at its local time (across daylight-saving
changes), caught up within 24 hours, retried or reported when Slack fails, and never posted
twice by racing clocks. Driven by an injected clock against the fake Slack API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from chatbot.clock import FrozenClock
from chatbot.db.core_models import JobRun
from chatbot.digest.jobs import run_digest_schedule
from chatbot.digest.models import DigestPost
from chatbot.digest.publish import DigestPublisher
from chatbot.digest.schedule import digest_slot
from chatbot.root import build_root
from chatbot.services import Services
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService
from tests.digest_samples import digest_services, every_metric_worse
from tests.fakes.slack_api import FakeSlack, FakeSlackServer


def _sample(team: Team, week: str | None) -> dict[str, Any]:
    digest = every_metric_worse()
    digest.update(team=team.name, week=week or "2026-W47", time_zone=team.tz)
    return digest


@pytest.fixture
def services(
    db_url: str, slack_server: FakeSlackServer, fake_slack: FakeSlack, clock: FrozenClock
) -> Iterator[Services]:
    built = digest_services(db_url, slack_server, clock)
    yield built
    built.db.engine.dispose()


# A 1×1 PNG: the timing tests need not pay for drawing the chart 16 times.
_TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000000000500010d0a2db40000000049454e44ae426082"
)


def _publisher(services: Services) -> DigestPublisher:
    """The publisher `chatbot serve` builds, with a fixed digest instead of the engine's."""
    built = build_root(services).digests
    return DigestPublisher(
        services.db, services.clock, services.prompts, built.delivery, compute=_sample
    )


def _tick(services: Services, chart: bool = True) -> int:
    return _Ticker(services, chart)()


class _Ticker:
    """One tick of the digest schedule as the clock runs it; built once for a loop of ticks,
    since building the root for every simulated hour would dominate the test's time."""

    def __init__(self, services: Services, chart: bool = True) -> None:
        self.publisher = _publisher(services)
        if not chart:
            self.publisher.chart = lambda digest: _TINY_PNG
        self.checkins = build_root(services).checkins
        self.teams = TeamService(services.db, services.clock)
        self.clock = services.clock

    def __call__(self) -> int:
        return run_digest_schedule(self.teams, self.clock, self.publisher, self.checkins)


def _digest_posts(fake: FakeSlack, channel: str) -> list[Any]:
    return [
        c
        for c in fake.of("chat.postMessage", ok=True)
        if c.params.get("channel") == channel and "Weekly digest" in str(c.params.get("blocks"))
    ]


def _add(services: Services, name: str, channel: str, tz: str, **fields: Any) -> Team:
    return TeamService(services.db, services.clock).add(name, channel, tz=tz, **fields)


def _berlin_at_its_slot(
    services: Services, clock: FrozenClock, channel: str = "CBERLIN1", **fields: Any
) -> Team:
    """The Berlin team, with the clock at its first digest slot (Monday 16 Nov 2026, 09:00
    in Berlin)."""
    team = _add(services, "berlin", channel, "Europe/Berlin", **fields)
    clock.set(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    return team


def _hours_that_matter(start: datetime, end: datetime, zones: tuple[str, ...]) -> list[datetime]:
    """Every whole hour from `start` to `end` that falls on a Monday (the digest) or a Friday
    (the check-in and its reminder) in one of `zones`: each slot, the hours before and after
    it, and the rest of its day, where an early, late or repeated post would show. The hours of
    the other days hold no slot: ticking them too (1,344 ticks for eight weeks instead of 528)
    only made the test three times slower."""
    hours = []
    at = start
    while at < end:
        if any(at.astimezone(ZoneInfo(zone)).weekday() in (0, 4) for zone in zones):
            hours.append(at)
        at += timedelta(hours=1)
    return hours


@pytest.mark.parametrize(
    ("start", "end"),
    [
        # EU summer time ends 25 Oct 2026, US daylight time ends 1 Nov 2026.
        (datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)),
        # US daylight time starts 14 Mar 2027, EU summer time 28 Mar 2027.
        (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 26, tzinfo=UTC)),
    ],
    ids=["autumn", "spring"],
)
def test_each_digest_once_at_local_time_across_dst(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock, start: datetime, end: datetime
) -> None:
    _add(services, "berlin", "CBERLIN1", "Europe/Berlin", senior_engineers=["USENB"])
    _add(services, "la", "CLA00001", "America/Los_Angeles", senior_engineers=["USENL"])
    tick = _Ticker(services, chart=False)
    for instant in _hours_that_matter(start, end, ("Europe/Berlin", "America/Los_Angeles")):
        clock.set(instant)
        tick()
    for channel, tz in (("CBERLIN1", "Europe/Berlin"), ("CLA00001", "America/Los_Angeles")):
        posts = _digest_posts(fake_slack, channel)
        assert len(posts) == 8, channel
        with services.db.session() as s:
            rows = s.exec(
                select(DigestPost).where(DigestPost.channel_id == channel).order_by(DigestPost.id)
            ).all()
        weeks = [r.week for r in rows]
        assert len(set(weeks)) == 8 and all(r.message_ts for r in rows)
        for row in rows:
            local = row.posted_at.astimezone(ZoneInfo(tz))
            assert (local.weekday(), local.hour, local.minute) == (0, 9, 0), (channel, local)
            # the week reported is the one that just ended
            assert row.week == (local - timedelta(days=7)).strftime("%G-W%V")
    # the check-in goes once a week to each senior, at Friday 15:00 local time
    with services.db.session() as s:
        asked = s.exec(select(JobRun).where(JobRun.job == "checkin")).all()
    for user, tz in (("USENB", "Europe/Berlin"), ("USENL", "America/Los_Angeles")):
        runs = [r for r in asked if r.key.endswith(f":{user}") and r.key.startswith("checkin:")]
        assert len(runs) == 8, user
        for run in runs:
            local = run.claimed_at.astimezone(ZoneInfo(tz))
            assert (local.weekday(), local.hour, local.minute) == (4, 15, 0), (user, local)
        dms = [c for c in fake_slack.of("chat.postMessage") if c.params["channel"] == user]
        assert len(dms) == 8 + 8  # the check-in and one reminder, every week


def test_not_a_minute_early(services: Services, fake_slack: FakeSlack, clock: FrozenClock) -> None:
    team = _add(services, "la", "CLA00001", "America/Los_Angeles", digest_time="07:30")
    # Monday 2 Nov 2026, the day after the US change: 07:30 PST is 15:30 UTC.
    clock.set(datetime(2026, 11, 2, 15, 29, tzinfo=UTC))
    assert digest_slot(team, clock.now()) is None  # last week's slot is over 24 h old
    _tick(services)
    assert _digest_posts(fake_slack, "CLA00001") == []
    clock.advance(minutes=1)
    assert _tick(services) == 1
    assert _digest_posts(fake_slack, "CLA00001")[0].params["channel"] == "CLA00001"


def test_missed_digest_posted_within_24h_and_skipped_after(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    _add(services, "berlin", "CBERLIN1", "Europe/Berlin")
    # Monday 16 Nov 2026 09:00 Berlin = 08:00 UTC. The bot was down until 23 h later.
    clock.set(datetime(2026, 11, 17, 7, 0, tzinfo=UTC))
    assert _tick(services) == 1
    assert len(_digest_posts(fake_slack, "CBERLIN1")) == 1
    # A week later it is down for 25 hours: that digest is not posted at all.
    clock.set(datetime(2026, 11, 24, 9, 1, tzinfo=UTC))
    assert _tick(services) == 0
    clock.advance(days=1)
    _tick(services)
    assert len(_digest_posts(fake_slack, "CBERLIN1")) == 1


def test_racing_clocks_post_once(
    db_url: str,
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    clock: FrozenClock,
    services: Services,
) -> None:
    """Four clocks, each with its own engine and connection pool, tick at the same instant."""
    channels = [f"CRACE{i:04d}" for i in range(5)]
    for i, channel in enumerate(channels):
        _add(services, f"team{i}", channel, "Europe/Berlin")
    clock.set(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    clocks = [digest_services(db_url, slack_server, clock) for _ in range(4)]
    barrier = threading.Barrier(len(clocks))
    errors: list[BaseException] = []

    def run(each: Services) -> None:
        try:
            barrier.wait()
            for _ in range(3):
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
    for channel in channels:
        assert len(_digest_posts(fake_slack, channel)) == 1, channel
    with services.db.session() as s:
        assert len(s.exec(select(DigestPost)).all()) == len(channels)


def test_racing_posts_of_one_slot_post_once(
    db_url: str,
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    clock: FrozenClock,
    services: Services,
) -> None:
    """Eight processes post the same week at the same instant (clock and `/digest post`)."""
    team = _berlin_at_its_slot(services, clock)
    clocks = [digest_services(db_url, slack_server, clock) for _ in range(8)]
    barrier = threading.Barrier(len(clocks))
    results: list[str] = []

    def run(each: Services, reason: str) -> None:
        publisher = _publisher(each)
        publisher.chart = lambda digest: _TINY_PNG
        barrier.wait()
        results.append(publisher.post_slot(team, "2026-W46", reason=reason).status)

    threads = [
        threading.Thread(target=run, args=(c, "manual" if i % 2 else "scheduled"))
        for i, c in enumerate(clocks)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clocks:
        c.db.engine.dispose()
    assert sorted(results).count("posted") == 1, results
    assert len(_digest_posts(fake_slack, "CBERLIN1")) == 1


def test_manual_post_takes_the_slot(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    team = _add(services, "berlin", "CBERLIN1", "Europe/Berlin", orchestrators=["UORCH"])
    clock.set(datetime(2026, 11, 16, 7, 0, tzinfo=UTC))  # Monday 08:00, an hour early
    publisher = _publisher(services)
    assert publisher.post_slot(team, "2026-W46", reason="manual", user="UORCH").status == "posted"
    clock.set(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    assert _tick(services) == 0
    assert publisher.post_slot(team, "2026-W46", reason="manual").status == "already"
    assert publisher.post_again(team, "2026-W46", "UORCH").status == "posted"
    assert len(_digest_posts(fake_slack, "CBERLIN1")) == 2


def test_chart_in_the_thread_and_leaders_dm(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    _berlin_at_its_slot(services, clock, leaders=["ULEAD1", "ULEAD2"])
    _tick(services)
    post = _digest_posts(fake_slack, "CBERLIN1")[0]
    ts = post.response["ts"]
    complete = fake_slack.of("files.completeUploadExternal", ok=True)
    assert len(complete) == 1
    assert complete[0].params.get("thread_ts") == ts
    assert complete[0].params.get("channel_id") == "CBERLIN1"
    assert any(data.startswith(b"\x89PNG\r\n\x1a\n") for data in fake_slack.uploads.values())
    dms = [
        c for c in fake_slack.of("chat.postMessage") if c.params["channel"] in {"ULEAD1", "ULEAD2"}
    ]
    assert sorted(c.params["channel"] for c in dms) == ["ULEAD1", "ULEAD2"]
    # the DM may name people over the WIP limit; the channel message never does
    assert "Ann Lee" in str(dms[0].params["blocks"])
    assert "Ann Lee" not in str(post.params["blocks"]) + str(post.params["text"])
    _tick(services)
    assert len(fake_slack.of("files.completeUploadExternal")) == 1


def test_slack_errors_are_retried_without_double_posting(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    _berlin_at_its_slot(services, clock, orchestrators=["UORCH"])
    fake_slack.fail_next("chat.postMessage", "ratelimited", retry_after=300)
    assert _tick(services) == 0
    clock.advance(minutes=2)
    assert _tick(services) == 0  # Retry-After (5 min) is longer than the first backoff
    fake_slack.fail_next("chat.postMessage", "internal_error")
    clock.advance(minutes=4)
    assert _tick(services) == 0
    clock.advance(minutes=2)
    assert _tick(services) == 1
    for _ in range(5):
        clock.advance(minutes=30)
        _tick(services)
    assert len(_digest_posts(fake_slack, "CBERLIN1")) == 1
    with services.db.session() as s:
        rows = s.exec(select(DigestPost)).all()
        runs = {r.key: r.status for r in s.exec(select(JobRun)).all()}
    assert len(rows) == 1 and rows[0].message_ts
    assert runs["digest:1:2026-W46"] == "retry" and runs["digest:1:2026-W46:try3"] == "done"


def test_not_in_channel_tells_orchestrators_then_posts_once_invited(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    _add(services, "berlin", "CBERLIN1", "Europe/Berlin", orchestrators=["UORCH"])
    fake_slack.not_member.add("CBERLIN1")
    clock.set(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    for _ in range(4):
        _tick(services)
        clock.advance(minutes=3)
    told = [c for c in fake_slack.of("chat.postMessage") if c.params["channel"] == "UORCH"]
    assert len(told) == 1 and "/invite @Throughline" in told[0].params["text"]
    fake_slack.not_member.discard("CBERLIN1")
    clock.advance(hours=2)
    assert _tick(services) == 1
    assert len(_digest_posts(fake_slack, "CBERLIN1")) == 1


def test_channel_not_found_is_reported_and_not_retried(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    _berlin_at_its_slot(services, clock, channel="CGONE001", admins=["UADMIN"])
    fake_slack.fail_next("chat.postMessage", "channel_not_found")
    _tick(services)
    for _ in range(4):
        clock.advance(hours=1)
        _tick(services)
    told = [c for c in fake_slack.of("chat.postMessage") if c.params["channel"] == "UADMIN"]
    assert len(told) == 1 and "/digest setup" in told[0].params["text"]
    assert _digest_posts(fake_slack, "CGONE001") == []


def test_a_clock_that_died_mid_post_is_taken_over(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    team = _berlin_at_its_slot(services, clock)
    from chatbot.db.claims import claim_run

    assert claim_run(services.db, clock, f"digest:{team.id}:2026-W46", "digest", "dead:1")
    assert _tick(services) == 0
    clock.advance(minutes=11)
    assert _tick(services) == 1
    assert len(_digest_posts(fake_slack, "CBERLIN1")) == 1


def test_retries_give_up_within_the_day_and_tell_the_orchestrators(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    _berlin_at_its_slot(services, clock, orchestrators=["UORCH1", "UORCH2"])
    # Slack is down for the first nine tries (a tenth would go through).
    fake_slack.fail_next("chat.postMessage", "service_unavailable", times=9)
    for _ in range(24 * 4):
        _tick(services)
        clock.advance(minutes=15)
    attempts = [
        c for c in fake_slack.of("chat.postMessage") if c.params.get("channel") == "CBERLIN1"
    ]
    assert len(attempts) == 9  # the first try and eight retries, spread over about 8 hours
    told = [
        c for c in fake_slack.of("chat.postMessage", ok=True) if c.params["channel"] != "CBERLIN1"
    ]
    assert sorted(c.params["channel"] for c in told) == ["UORCH1", "UORCH2"]
    assert "after 9 tries" in told[0].params["text"] and "/digest post" in told[0].params["text"]


def test_the_clock_runs_the_digest_job_every_minute(
    services: Services, fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    [job] = [j for j in build_root(services).jobs if j.name == "digests"]
    assert job.seconds == 60
    _berlin_at_its_slot(services, clock)
    assert job.run() == 1  # the metrics engine's digest of an empty team
    assert job.run() == 0
    [post] = _digest_posts(fake_slack, "CBERLIN1")
    assert "No data for this week yet" in str(post.params["blocks"])
