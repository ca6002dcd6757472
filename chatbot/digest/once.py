"""One message, sent once across crashes: a leader's DM, a check-in, a report.

The `job_run` claim of the message is its intent-to-send row, made before anything is sent,
and the message carries the claim's key (`SendMark`). A process may die at any point: before
the send (the claim is left running, nothing was sent), after the chat service accepted it
(sent, not recorded), or after the record. Whoever later meets a claim left running since
before `stale_before` takes it over (exactly one caller does) and first looks for a message
carrying the key, sent since the claim was made: found, its id is recorded and nothing is
sent again; not found, it is sent now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chatbot.clock import Clock
from chatbot.crashpoints import crash_point
from chatbot.db.claims import claim_run, finish_run, take_over_run
from chatbot.db.core_models import RunStatus
from chatbot.db.engine import Database
from chatbot.digest.delivery import SendFailed

log = logging.getLogger(__name__)

# How far the chat service's clock may be behind ours when looking for a message sent since
# a claim was made.
CLOCK_SKEW = timedelta(minutes=2)


class SendStatus(StrEnum):
    SENT = "sent"
    FOUND = "found"  # sent by a process that died before recording it; recorded now
    TAKEN = "taken"  # claimed by another caller (done, failed, or being sent right now)
    FAILED = "failed"


@dataclass(frozen=True)
class Sent:
    status: SendStatus
    ts: str | None = None
    error: str | None = None


def send_once(
    db: Database,
    clock: Clock,
    key: str,
    job: str,
    send: Callable[[], str],
    find: Callable[[datetime], str | None],
    stale_before: datetime,
) -> Sent:
    """`send()` once for the claim `key`, or adopt what `find(since)` finds after a crash.

    `send` returns the message's id; `find` the id of the message carrying `key` sent since
    `since`, or None. Both raise `SendFailed` when the chat service refuses; the claim is then
    `failed` and not tried again. The crash points are `<job>.before_send`, `.after_send` and
    `.after_record`."""
    if not claim_run(db, clock, key, job):
        since = take_over_run(db, clock, key, stale_before)
        if since is None:
            return Sent(SendStatus.TAKEN)
        try:
            found = find(since - CLOCK_SKEW)
        except SendFailed as exc:
            log.warning("%s: cannot look for a message sent before a crash: %s", job, exc.error)
            finish_run(db, clock, key, RunStatus.FAILED, f"look-up: {exc.error}")
            return Sent(SendStatus.FAILED, error=exc.error)
        if found is not None:
            log.info("%s: found the message sent before a crash; not sending it again", job)
            finish_run(db, clock, key, RunStatus.DONE, f"ts {found} (found after a crash)")
            return Sent(SendStatus.FOUND, found)
    crash_point(f"{job}.before_send")
    try:
        ts = send()
    except SendFailed as exc:
        finish_run(db, clock, key, RunStatus.FAILED, exc.error)
        return Sent(SendStatus.FAILED, error=exc.error)
    crash_point(f"{job}.after_send")
    finish_run(db, clock, key, RunStatus.DONE, f"ts {ts}")
    crash_point(f"{job}.after_record")
    return Sent(SendStatus.SENT, ts)
