"""The outbox on its own: claiming, backoff, Retry-After, giving up, notices, edits in flight.

Handlers here are plain functions standing in for a domain's sender (the Jira tests drive the
real one); the clock is frozen and moved by hand, so every delay is checked exactly.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.outbox import store
from chatbot.outbox.kick import Kicker
from chatbot.outbox.models import OutboxMessage, OutboxStatus
from chatbot.outbox.worker import (
    BACKOFF_MAX_SECONDS,
    GIVE_UP_AFTER,
    GiveUp,
    Landed,
    OutboxWorker,
    Progress,
    RetryLater,
    backoff,
)
from chatbot.prompts import Prompts
from chatbot.root import build_root
from chatbot.services import Services
from chatbot.settings import DEFAULT_PROMPTS_DIR
from tests.conftest import make_settings

NOTICE = {"channel": "C1", "user": "U1"}


@dataclass
class Told:
    """A notifier that writes down what it was asked to tell."""

    calls: list[tuple[str, int, dict[str, Any], Any]] = field(default_factory=list)
    broken: bool = False

    def _record(self, what: str, row: OutboxMessage, notice: dict[str, Any], detail: Any) -> None:
        self.calls.append((what, int(row.id or 0), notice, detail))
        if self.broken:
            raise RuntimeError("Slack is down")

    def landed(self, row: OutboxMessage, notice: dict[str, Any], landed: Landed | None) -> None:
        self._record("landed", row, notice, landed)

    def delayed(self, row: OutboxMessage, notice: dict[str, Any], reason: str) -> None:
        self._record("delayed", row, notice, reason)

    def failed(self, row: OutboxMessage, notice: dict[str, Any], message: str) -> None:
        self._record("failed", row, notice, message)

    def said(self) -> list[str]:
        return [what for what, *_ in self.calls]


class Script:
    """A handler that does, attempt after attempt, what the test lists (then succeeds)."""

    def __init__(self, *steps: BaseException | None) -> None:
        self.steps = list(steps)
        self.seen: list[tuple[int, dict[str, Any], dict[str, Any]]] = []

    def __call__(self, row: OutboxMessage, progress: Progress) -> Landed:
        self.seen.append((row.attempts, dict(row.payload), dict(progress.state)))
        step = self.steps.pop(0) if self.steps else None
        if step is not None:
            raise step
        return Landed({"done": row.payload.get("n")})


def _worker(
    db: Database, clock: FrozenClock, handler: Any, told: Told | None = None
) -> OutboxWorker:
    return OutboxWorker(db, clock, {"note": handler}, told, name="test-worker")


def _row(db: Database, row_id: int) -> OutboxMessage:
    row = store.get(db, row_id)
    assert row is not None
    return row


def _enqueue(db: Database, clock: FrozenClock, n: int = 1, notify: bool = True) -> int:
    return store.enqueue(db, clock, "note", f"note:{n}", {"n": n}, NOTICE if notify else None)


@pytest.mark.parametrize(
    ("attempts", "retry_after", "seconds"),
    [
        (0, None, 15),
        (1, None, 15),
        (2, None, 30),
        (3, None, 60),
        (5, None, 240),
        (6, None, BACKOFF_MAX_SECONDS),
        (40, None, BACKOFF_MAX_SECONDS),
        (1, 120, 120),  # the server's Retry-After
        (6, 5, 5),
        (1, 0.2, 1),  # at least a second
        (1, 99_999, 3600),  # at most an hour
    ],
)
def test_backoff(attempts: int, retry_after: float | None, seconds: float) -> None:
    assert backoff(attempts, retry_after) == timedelta(seconds=seconds)


def test_a_write_is_sent_once_and_the_person_told_once(db: Database, clock: FrozenClock) -> None:
    told, handler = Told(), Script()
    row_id = _enqueue(db, clock)
    worker = _worker(db, clock, handler, told)
    assert worker.run_due() == 1
    row = _row(db, row_id)
    assert row.status == OutboxStatus.SENT and row.sent_at == clock.now()
    assert row.attempts == 1 and row.locked_until is None and row.locked_by is None
    assert row.last_error is None and row.notify_token is None
    assert told.calls == [("landed", row_id, NOTICE, Landed({"done": 1}))]
    assert worker.run_due() == 0 and worker.run_one(row_id) is False
    assert len(handler.seen) == 1


def test_the_same_key_rearms_one_row(db: Database, clock: FrozenClock) -> None:
    first = store.enqueue(db, clock, "note", "note:1", {"n": 1, "a": "x"})
    Progress(db, _row(db, first)).save(ticket="PAY-1")
    clock.advance(seconds=5)
    again = store.enqueue(db, clock, "note", "note:1", {"n": 2})
    row = _row(db, again)
    assert again == first and row.version == 2 and row.payload == {"n": 2, "a": "x"}
    assert row.state == {"ticket": "PAY-1"} and row.next_attempt_at == clock.now()
    reset = store.enqueue(db, clock, "note", "note:1", {"n": 3}, reset_state=True)
    assert _row(db, reset).state == {} and _row(db, reset).version == 3


def test_retry_after_is_waited_exactly_and_told_once(db: Database, clock: FrozenClock) -> None:
    told = Told()
    handler = Script(RetryLater("429 from Jira", retry_after=120), RetryLater("503 from Jira"))
    row_id = _enqueue(db, clock)
    worker = _worker(db, clock, handler, told)
    assert worker.run_due() == 1
    row = _row(db, row_id)
    assert row.status == OutboxStatus.PENDING and row.last_error == "429 from Jira"
    assert row.next_attempt_at == clock.now() + timedelta(seconds=120)
    assert row.locked_until is None and row.locked_by is None
    assert told.said() == ["delayed"]
    clock.advance(seconds=119)
    assert worker.run_due() == 0
    clock.advance(seconds=1)
    assert worker.run_due() == 1  # second attempt: backoff 30 s, not told again
    assert _row(db, row_id).next_attempt_at == clock.now() + timedelta(seconds=30)
    assert told.said() == ["delayed"]
    clock.advance(seconds=30)
    assert worker.run_due() == 1 and _row(db, row_id).status == OutboxStatus.SENT
    assert told.said() == ["delayed", "landed"]
    assert [attempts for attempts, *_ in handler.seen] == [1, 2, 3]


def test_progress_survives_a_retry(db: Database, clock: FrozenClock) -> None:
    seen: list[dict[str, Any]] = []

    def create_then_fail(row: OutboxMessage, progress: Progress) -> Landed:
        seen.append(dict(progress.state))
        if "ticket" not in progress.state:
            progress.save(ticket="PAY-9")
            raise RetryLater("timeout after creating")
        return Landed({})

    row_id = _enqueue(db, clock)
    worker = _worker(db, clock, create_then_fail)
    worker.run_due()
    clock.advance(minutes=1)
    worker.run_due()
    assert seen == [{}, {"ticket": "PAY-9"}] and _row(db, row_id).status == OutboxStatus.SENT


def test_give_up_fails_the_row_and_tells_why(db: Database, clock: FrozenClock) -> None:
    told = Told()
    row_id = _enqueue(db, clock)
    worker = _worker(db, clock, Script(GiveUp("404", "PAY-404 does not exist")), told)
    assert worker.run_due() == 1
    row = _row(db, row_id)
    assert row.status == OutboxStatus.FAILED and row.last_error == "404"
    assert told.calls == [("failed", row_id, NOTICE, "PAY-404 does not exist")]
    clock.advance(days=1)
    assert worker.run_due() == 0


def test_a_crashing_handler_is_retried_with_backoff(db: Database, clock: FrozenClock) -> None:
    row_id = _enqueue(db, clock, notify=False)
    worker = _worker(db, clock, Script(ValueError("boom")))
    assert worker.run_due() == 1
    row = _row(db, row_id)
    assert row.status == OutboxStatus.PENDING and row.last_error == "ValueError: boom"
    assert row.next_attempt_at == clock.now() + timedelta(seconds=15)


def test_an_unknown_kind_waits_for_a_process_that_knows_it(
    db: Database, clock: FrozenClock
) -> None:
    row_id = store.enqueue(db, clock, "future_kind", "future:1", {})
    worker = _worker(db, clock, Script())
    assert worker.run_due() == 1
    row = _row(db, row_id)
    assert row.status == OutboxStatus.PENDING and row.last_error == "no handler for future_kind"
    assert row.next_attempt_at == clock.now() + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("attempts_before", "since_stored", "gives_up"),
    [
        (3, GIVE_UP_AFTER + timedelta(seconds=1), True),  # the 4th try, a day after storing
        (3, GIVE_UP_AFTER, False),  # not a second early
        (2, GIVE_UP_AFTER + timedelta(hours=1), False),  # and only from the 4th try on
    ],
)
def test_giving_up_after_a_day_of_failures(
    db: Database, clock: FrozenClock, attempts_before: int, since_stored: timedelta, gives_up: bool
) -> None:
    told = Told()
    row_id = _enqueue(db, clock)
    stored = clock.now()
    worker = _worker(db, clock, Script(*[RetryLater("503")] * 10), told)
    for _ in range(attempts_before):
        worker.run_one(row_id)
        clock.advance(seconds=BACKOFF_MAX_SECONDS)
    clock.set(stored + since_stored)
    assert worker.run_one(row_id)
    row = _row(db, row_id)
    assert row.attempts == attempts_before + 1
    if gives_up:
        assert row.status == OutboxStatus.FAILED
        message = f"gave up after {attempts_before + 1} attempts over 24 hours: 503"
        assert row.last_error == message and told.calls[-1][-1] == message
    else:
        assert row.status == OutboxStatus.PENDING and told.said() == ["delayed"]


def test_a_row_retried_every_few_minutes_still_gives_up_after_a_day(
    db: Database, clock: FrozenClock
) -> None:
    row_id = _enqueue(db, clock, notify=False)
    stored = clock.now()
    worker = _worker(db, clock, Script(*[RetryLater("503")] * 400))
    while clock.now() - stored <= GIVE_UP_AFTER:
        assert _row(db, row_id).status == OutboxStatus.PENDING
        worker.run_one(row_id)
        clock.advance(seconds=BACKOFF_MAX_SECONDS)
    worker.run_one(row_id)
    assert _row(db, row_id).status == OutboxStatus.FAILED


def test_one_process_at_a_time_holds_a_row(db: Database, clock: FrozenClock) -> None:
    row_id = _enqueue(db, clock)
    first = store.claim(db, clock, row_id, "a")
    assert first is not None and first.locked_by == "a" and first.attempts == 1
    assert store.claim(db, clock, row_id, "b") is None
    assert store.due_ids(db, clock.now()) == []
    clock.advance(seconds=store.LEASE.total_seconds())
    assert store.claim(db, clock, row_id, "b") is None  # the lease runs to its last second
    clock.advance(seconds=1)
    assert store.due_ids(db, clock.now()) == [row_id]
    second = store.claim(db, clock, row_id, "b")
    assert second is not None and second.locked_by == "b" and second.attempts == 2


def test_a_claim_that_ran_out_marks_the_row_until_it_is_settled(
    db: Database, clock: FrozenClock
) -> None:
    """A claim whose lease ran out unsettled (its process died, maybe mid-send) marks the row
    for the next sender to look before writing again; a retry keeps the mark, a settle
    clears it, and a claim after a settle (never lapsed) does not set it."""
    row_id = _enqueue(db, clock)
    first = store.claim(db, clock, row_id, "a")
    assert first is not None and not first.claim_lapsed
    store.settle_retry(db, clock, first, timedelta(seconds=0), "wait")
    again = store.claim(db, clock, row_id, "a")
    assert again is not None and not again.claim_lapsed  # settled before: nothing lapsed
    clock.advance(seconds=store.LEASE.total_seconds() + 1)  # "a" died holding it
    taken = store.claim(db, clock, row_id, "b")
    assert taken is not None and taken.claim_lapsed and taken.locked_by == "b"
    store.settle_retry(db, clock, taken, timedelta(seconds=0), "could not look")
    kept = store.claim(db, clock, row_id, "b")
    assert kept is not None and kept.claim_lapsed  # still to be looked for
    store.settle_sent(db, clock, kept)
    assert not _row(db, row_id).claim_lapsed


def test_a_slow_sender_whose_claim_was_taken_over_records_nothing(
    db: Database, clock: FrozenClock
) -> None:
    """ "a" is slow past its lease, "b" takes the row over and settles it: what "a" then
    settles is not stored again (its record, the follow-ups, would be owed twice)."""
    row_id = _enqueue(db, clock)
    slow = store.claim(db, clock, row_id, "a")
    clock.advance(seconds=store.LEASE.total_seconds() + 1)
    took_over = store.claim(db, clock, row_id, "b")
    assert slow is not None and took_over is not None
    recorded: list[str] = []

    def record(name: str) -> store.Record:
        return lambda conn: recorded.append(name) or []

    assert store.settle_sent(db, clock, took_over, record("b"))[0]
    assert not store.settle_sent(db, clock, slow, record("a"))[0]
    assert not store.settle_failed(db, clock, slow, "late refusal", record("a"))[0]
    assert recorded == ["b"] and _row(db, row_id).status == OutboxStatus.SENT


def test_the_lease_is_the_workers(db: Database, clock: FrozenClock) -> None:
    """A worker built with a short lease (OUTBOX_LEASE_SECONDS) claims for that long."""
    row_id = _enqueue(db, clock)
    held: list[OutboxMessage] = []

    def hold(row: OutboxMessage, progress: Progress) -> Landed:
        held.append(row)
        raise RetryLater("later")

    worker = OutboxWorker(db, clock, {"note": hold}, name="w", lease=timedelta(seconds=3))
    worker.run_one(row_id)
    assert held[0].locked_until == clock.now() + timedelta(seconds=3)


def test_due_rows_come_soonest_due_first_and_only_when_due(
    db: Database, clock: FrozenClock
) -> None:
    later = _enqueue(db, clock, n=1)
    store.settle_retry(db, clock, _row(db, later), timedelta(seconds=60), "wait")
    clock.advance(seconds=1)
    now_due = _enqueue(db, clock, n=2)
    assert store.due_ids(db, clock.now()) == [now_due]
    clock.advance(seconds=59)
    assert store.due_ids(db, clock.now()) == [now_due, later]
    assert store.due_ids(db, clock.now(), limit=1) == [now_due]


def test_an_edit_during_the_send_is_sent_again_at_once(db: Database, clock: FrozenClock) -> None:
    told = Told()
    sent: list[int] = []

    def send(row: OutboxMessage, progress: Progress) -> Landed:
        sent.append(row.payload["n"])
        if len(sent) == 1:  # someone edits while this version is on its way
            store.enqueue(db, clock, "note", "note:1", {"n": 2})
        return Landed({})

    row_id = _enqueue(db, clock)
    assert _worker(db, clock, send, told).run_one(row_id)
    row = _row(db, row_id)
    assert sent == [1, 2] and row.status == OutboxStatus.SENT and row.version == 2
    assert told.said() == ["landed"]  # the person is told once, not per version


def test_an_edit_during_a_give_up_is_retried_not_failed(db: Database, clock: FrozenClock) -> None:
    def refuse(row: OutboxMessage, progress: Progress) -> Landed:
        store.enqueue(db, clock, "note", "note:1", {"n": 2})
        raise GiveUp("400 bad request")

    row_id = _enqueue(db, clock)
    told = Told()
    _worker(db, clock, refuse, told).run_one(row_id)
    row = _row(db, row_id)
    assert row.status == OutboxStatus.PENDING and row.next_attempt_at == clock.now()
    assert told.calls == [] and row.locked_until is None


def test_telling_is_best_effort(db: Database, clock: FrozenClock) -> None:
    row_id = _enqueue(db, clock)
    told = Told(broken=True)
    assert _worker(db, clock, Script(), told).run_due() == 1
    assert _row(db, row_id).status == OutboxStatus.SENT and told.said() == ["landed"]
    silent = _enqueue(db, clock, n=2)
    assert _worker(db, clock, Script(), None).run_one(silent)
    assert _row(db, silent).status == OutboxStatus.SENT


def test_a_notice_is_taken_by_exactly_one(db: Database, clock: FrozenClock) -> None:
    row = _row(db, _enqueue(db, clock))
    assert store.take_delay_notice(db, row) == NOTICE
    assert store.take_delay_notice(db, _row(db, row.id or 0)) is None
    assert store.take_notice(db, row) == NOTICE and store.take_notice(db, row) is None
    quiet = _row(db, _enqueue(db, clock, n=2, notify=False))
    assert store.take_notice(db, quiet) is None and store.take_delay_notice(db, quiet) is None


def test_the_kicker_sends_at_once_and_survives_a_crash(db: Database, clock: FrozenClock) -> None:
    row_id = _enqueue(db, clock)
    kicker = Kicker(_worker(db, clock, Script()))
    try:
        kicker.kick(row_id)
        kicker.kick(10_000)  # no such row: nothing to do, nothing raised
        assert kicker.wait_idle(10)
    finally:
        kicker.close()
    assert _row(db, row_id).status == OutboxStatus.SENT


def test_run_due_takes_at_most_its_limit(db: Database, clock: FrozenClock) -> None:
    first, second = _enqueue(db, clock, n=1), _enqueue(db, clock, n=2)
    worker = _worker(db, clock, Script())
    assert worker.run_due(limit=1) == 1
    assert _row(db, first).status == OutboxStatus.SENT
    assert store.due_ids(db, clock.now()) == [second]


def test_long_errors_are_kept_to_2000_characters(db: Database, clock: FrozenClock) -> None:
    retried, failed = _enqueue(db, clock, n=1), _enqueue(db, clock, n=2)
    store.settle_retry(db, clock, _row(db, retried), timedelta(seconds=1), "r" * 5000)
    assert _row(db, retried).last_error == "r" * 2000
    store.settle_failed(db, clock, _row(db, failed), "f" * 5000)
    assert _row(db, failed).last_error == "f" * 2000


def test_a_held_row_is_not_due_until_its_lease_has_passed(db: Database, clock: FrozenClock) -> None:
    row_id = _enqueue(db, clock)
    assert store.claim(db, clock, row_id, "a") is not None
    clock.advance(seconds=store.LEASE.total_seconds())
    assert store.due_ids(db, clock.now()) == []
    clock.advance(seconds=1)
    assert store.due_ids(db, clock.now()) == [row_id]


def test_two_processes_with_the_same_row_tell_the_delay_once(
    db: Database, clock: FrozenClock
) -> None:
    mine, other = _enqueue(db, clock, n=1), _enqueue(db, clock, n=2)
    seen_by_a, seen_by_b = _row(db, mine), _row(db, mine)  # each process read it before
    assert store.take_delay_notice(db, seen_by_a) == NOTICE
    assert store.take_delay_notice(db, seen_by_b) is None
    assert _row(db, other).delay_told is False  # another row keeps its own notice
    assert store.take_delay_notice(db, _row(db, other)) == NOTICE


def test_the_clock_job_attempts_what_is_due(db: Database, clock: FrozenClock, db_url: str) -> None:
    settings = make_settings(db_url, "http://127.0.0.1:9/api/")
    services = Services(settings, db, clock, Prompts(DEFAULT_PROMPTS_DIR))
    row_id = store.enqueue(db, clock, "kind_of_a_newer_release", "later:1", {})
    [job] = [j for j in build_root(services).jobs if j.name == "outbox"]
    assert job.run() == 1
    assert job.run() == 0  # retried in five minutes, not before
    clock.advance(minutes=5)
    assert job.run() == 1 and _row(db, row_id).attempts == 2


def test_rearming_starts_the_attempts_afresh(db: Database, clock: FrozenClock) -> None:
    row_id = _enqueue(db, clock)
    _worker(db, clock, Script(RetryLater("503")), Told()).run_due()
    row = _row(db, row_id)
    assert row.attempts == 1 and row.last_error == "503" and row.delay_told
    store.enqueue(db, clock, "note", "note:1", {"n": 2})  # an edit that asks for no notice
    row = _row(db, row_id)
    assert row.attempts == 0 and row.last_error is None and row.delay_told  # still told
    store.enqueue(db, clock, "note", "note:1", {"n": 3}, NOTICE)  # a new request to be told
    assert _row(db, row_id).delay_told is False


def test_an_old_notice_cannot_take_a_newer_one(db: Database, clock: FrozenClock) -> None:
    row_id = _enqueue(db, clock)
    seen_before = _row(db, row_id)
    store.enqueue(db, clock, "note", "note:1", {"n": 2}, {"channel": "C2", "user": "U2"})
    assert store.take_delay_notice(db, seen_before) is None
    assert store.take_notice(db, seen_before) is None
    assert store.take_notice(db, _row(db, row_id)) == {"channel": "C2", "user": "U2"}


def test_a_row_not_yet_due_is_not_claimed(db: Database, clock: FrozenClock) -> None:
    row_id = _enqueue(db, clock)
    store.settle_retry(db, clock, _row(db, row_id), timedelta(seconds=60), "wait")
    worker = _worker(db, clock, Script())
    assert worker.run_one(row_id) is False and _row(db, row_id).attempts == 0
    clock.advance(seconds=60)
    assert worker.run_one(row_id) is True


def test_the_worker_holds_rows_under_its_name(db: Database, clock: FrozenClock) -> None:
    holders: list[str | None] = []

    def look(row: OutboxMessage, progress: Progress) -> Landed:
        holders.append(_row(db, int(row.id or 0)).locked_by)
        clock.advance(seconds=3)  # the send takes a while
        return Landed({})

    row_id = _enqueue(db, clock)
    _worker(db, clock, look).run_due()
    row = _row(db, row_id)
    assert holders == ["test-worker"] and row.locked_by is None
    assert row.updated_at == clock.now() and row.sent_at == clock.now()
    default = OutboxWorker(db, clock, {})
    assert default.name == f"{socket.gethostname()}:{os.getpid()}"


def test_a_success_clears_the_last_error(db: Database, clock: FrozenClock) -> None:
    row_id = _enqueue(db, clock)
    worker = _worker(db, clock, Script(RetryLater("503")))
    worker.run_due()
    clock.advance(seconds=15)
    worker.run_due()
    row = _row(db, row_id)
    assert row.status == OutboxStatus.SENT and row.last_error is None


def test_an_edit_during_a_slow_send_is_due_when_the_send_ends(
    db: Database, clock: FrozenClock
) -> None:
    def slow_then_edited(row: OutboxMessage, progress: Progress) -> Landed:
        store.enqueue(db, clock, "note", "note:1", {"n": 2})
        clock.advance(seconds=40)
        raise GiveUp("400")

    row_id = _enqueue(db, clock)
    _worker(db, clock, slow_then_edited).run_one(row_id)
    row = _row(db, row_id)
    assert row.next_attempt_at == clock.now() and row.locked_by is None
    assert row.status == OutboxStatus.PENDING


def test_fifty_rows_per_run_by_default(db: Database, clock: FrozenClock) -> None:
    for n in range(51):
        _enqueue(db, clock, n=n, notify=False)
    assert len(store.due_ids(db, clock.now())) == 50
    assert _worker(db, clock, Script()).run_due() == 50
    assert len(store.due_ids(db, clock.now())) == 1


def _owe_in_lane(db: Database, clock: FrozenClock, key: str) -> store.Enqueued:
    with db.transaction() as conn:
        return store.enqueue_in(
            conn, clock.now(), "test", key, {"k": key}, lane="post:C1:-", claim_for="host:1"
        )


def test_a_row_owed_behind_an_unsent_one_is_claimed_by_that_ones_settle(
    db: Database, clock: FrozenClock
) -> None:
    """The first row of a lane is stored claimed; the next waits (its owner does not try to
    claim it) and the first one's settle claims it in the same transaction, for the worker
    that settles, so it is sent next without a transaction of its own to claim it."""
    first, second, third = (_owe_in_lane(db, clock, k) for k in ("a", "b", "c"))
    assert first.row is not None and not first.waits
    assert second.row is None and second.waits and third.waits
    assert store.claim(db, clock, second.row_id, "host:2") is None  # the first is unsent
    sent, follow = store.settle_sent(db, clock, first.row, claim_for="host:1")
    assert sent and len(follow) == 1 and isinstance(follow[0], OutboxMessage)
    head = follow[0]
    assert head.id == second.row_id and head.locked_by == "host:1" and head.attempts == 1
    assert _row(db, second.row_id).locked_by == "host:1"  # stored with the settle
    # No worker named: the waiting row's id, left for whoever claims it.
    sent, follow = store.settle_sent(db, clock, head)
    assert sent and follow == [third.row_id] and _row(db, third.row_id).locked_by is None


def test_a_settle_with_nothing_to_record_is_statements_each_committed_by_itself(
    db: Database, clock: FrozenClock
) -> None:
    """On PostgreSQL without BEGIN or COMMIT: the settle, then the look for the lane's next."""
    first = _owe_in_lane(db, clock, "a")
    assert first.row is not None
    statements: list[str] = []
    autocommit: list[bool] = []

    def seen(*args: Any) -> None:
        if not args[2].startswith("BEGIN"):  # SQLite's, to take the write lock
            statements.append(args[2].split()[0])
            if db.dialect == "postgresql":
                autocommit.append(args[0].connection.dbapi_connection.autocommit)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        sent, follow = store.settle_sent(db, clock, first.row, claim_for="host:1")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert sent and follow == []
    assert statements == ["UPDATE", "SELECT"]
    assert autocommit == ([True, True] if db.dialect == "postgresql" else [])
    assert _row(db, first.row_id).status == OutboxStatus.SENT


def test_a_row_the_record_owes_in_the_same_lane_is_sent_next_once(
    db: Database, clock: FrozenClock
) -> None:
    first = _owe_in_lane(db, clock, "a")
    assert first.row is not None

    def record(conn: Any) -> list[int | OutboxMessage]:
        owed = store.enqueue_in(
            conn, clock.now(), "test", "b", {"k": "b"}, lane="post:C1:-", claim_for="host:1"
        )
        return [owed.follow]

    sent, follow = store.settle_sent(db, clock, first.row, record, claim_for="host:1")
    assert sent and len(follow) == 1  # not also handed on as the lane's next row
    [row] = follow
    assert isinstance(row, OutboxMessage) and row.locked_by == "host:1"


def test_a_settle_leaves_a_waiting_row_another_sender_holds(
    db: Database, clock: FrozenClock
) -> None:
    first, second = (_owe_in_lane(db, clock, k) for k in ("a", "b"))
    assert first.row is not None
    # A lapsed claim on the waiting row (an old process) still holds it for its lease.
    with db.transaction() as conn:
        conn.execute(
            store.TABLE.update()
            .where(store.TABLE.c.id == second.row_id)
            .values(locked_by="host:9", locked_until=clock.now() + timedelta(minutes=1))
        )
    sent, follow = store.settle_sent(db, clock, first.row, claim_for="host:1")
    assert sent and follow == [second.row_id]
    assert _row(db, second.row_id).locked_by == "host:9"
