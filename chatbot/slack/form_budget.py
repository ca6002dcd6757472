"""Database work a person's Slack request waits on, bounded in time.

Opening a form needs the request's trigger_id within 3 s, and a form's submission is answered
(`response_action`) within the same 3 s. A database that stops answering holds a statement
for several seconds (a ping, then a new connection: `DB_CONNECT_TIMEOUT_SECONDS` each), so
the reads and writes these requests need run here instead: on a small pool of their own,
waited for at most `SLACK_FORM_DATABASE_SECONDS`. Past that, or when every thread of the
pool is already waiting on the database, the listener answers at once (the person is told
the database is not answering) and the work, if it started, finishes on the pool; whoever
submitted it may ask to hear its outcome then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from slack_sdk import WebClient

from chatbot.background import TrackedExecutor
from chatbot.db.outage import is_outage, outage_reason
from chatbot.prompts import Prompts
from chatbot.slack.failures import tell_directly

log = logging.getLogger(__name__)
T = TypeVar("T")


class Ended(Enum):
    DONE = "done"  # the work returned; `value` is what it returned
    FAILED = "failed"  # the work raised within the budget; `error` is what it raised
    LATE = "late"  # the budget passed; the work goes on
    BUSY = "busy"  # every thread was waiting on the database already; nothing was started


@dataclass(frozen=True)
class Outcome(Generic[T]):
    ended: Ended
    value: T | None = None
    error: BaseException | None = None

    @property
    def outage(self) -> bool:
        """The database did not answer (late, busy, or it failed for an outage's reason)."""
        if self.ended in (Ended.LATE, Ended.BUSY):
            return True
        return self.error is not None and is_outage(self.error)

    def reason(self) -> str:
        """For the one log line: why the database did not serve this request."""
        if self.ended == Ended.LATE:
            return "no answer within the budget"
        if self.ended == Ended.BUSY:
            return "every form thread is waiting on it"
        return outage_reason(self.error) if self.error is not None else ""


class _Attempt(Generic[T]):
    """One piece of work: whoever finishes first (the work or the waiting listener) decides
    whether the outcome is the listener's or goes to `later`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.outcome: Outcome[T] | None = None
        self.abandoned = False
        self.later: Callable[[Outcome[T]], None] | None = None


class FormBudget:
    """Runs a request's database work within `seconds` on at most `threads` threads."""

    def __init__(self, seconds: float, threads: int) -> None:
        self.seconds = seconds
        self._slots = threading.BoundedSemaphore(threads)
        # As many threads as slots: work never queues behind other work, so the budget is
        # the database's time alone.
        self.pool = TrackedExecutor(max_workers=threads, thread_name_prefix="form-database")

    def run(
        self,
        work: Callable[[], T],
        later: Callable[[Outcome[T]], None] | None = None,
    ) -> Outcome[T]:
        """`work()`'s outcome within the budget, else LATE (then `later`, if given, gets the
        outcome on the pool when the work ends) or BUSY (the work was not started)."""
        if not self._slots.acquire(blocking=False):
            return Outcome(Ended.BUSY)
        attempt: _Attempt[T] = _Attempt()
        try:
            self.pool.submit(self._work, work, attempt)
        except RuntimeError:  # the pool is shutting down with the process
            self._slots.release()
            return Outcome(Ended.BUSY)
        attempt.finished.wait(self.seconds)
        with attempt.lock:
            if attempt.outcome is not None:
                return attempt.outcome
            attempt.abandoned = True
            attempt.later = later
        return Outcome(Ended.LATE)

    def _work(self, work: Callable[[], T], attempt: _Attempt[T]) -> None:
        try:
            try:
                outcome: Outcome[T] = Outcome(Ended.DONE, value=work())
            except Exception as exc:
                outcome = Outcome(Ended.FAILED, error=exc)
            with attempt.lock:
                attempt.outcome = outcome
                later = attempt.later if attempt.abandoned else None
                attempt.finished.set()
            if later is not None:
                try:
                    later(outcome)
                except Exception:  # a bug in the follow-up; nobody waits for it any more
                    log.exception("a form's late follow-up failed")
        finally:
            self._slots.release()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """For tests and shutdown: until all work and follow-ups have ended."""
        return self.pool.wait_idle(timeout)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def log_unanswered(what: str, outcome: Outcome[object]) -> None:
    """The one line an outage of a form's database work leaves in the log (no traceback)."""
    log.warning("%s: the database did not answer (%s); the person was told", what, outcome.reason())


def errors_on_form(view: dict[str, object], text: str) -> dict[str, str]:
    """`response_action: errors` for a form the database did not save: the message goes on
    its first input (Slack shows errors only on inputs), and the form keeps what was typed."""
    blocks = view.get("blocks")
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
            return {str(block["block_id"]): text[:150]}
    return {}


def notice_view(view: dict[str, object], text: str, close: str) -> dict[str, object]:
    """What replaces a submitted form that is still being saved: a short notice, no inputs."""
    notice: dict[str, object] = {
        "type": "modal",
        "title": view.get("title") or {"type": "plain_text", "text": "Throughline"},
        "close": {"type": "plain_text", "text": close[:24]},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
    if view.get("callback_id"):
        notice["callback_id"] = view["callback_id"]
    return notice


def read_for_form(
    forms: FormBudget,
    prompts: Prompts,
    client: WebClient,
    body: dict[str, Any],
    what: str,
    read: Callable[[], T],
    told: str = "messages.form_database_slow",
) -> Outcome[T] | None:
    """`read()` for a form about to open, within the budget: the trigger_id dies 3 s after
    the click. None when the database did not answer in time; the person was told then, at
    once and not through the outbox (which needs the database)."""
    got = forms.run(read)
    if got.ended == Ended.DONE:
        return got
    if got.error is not None and not got.outage:
        raise got.error  # a bug: the error handler logs its traceback and tells the person
    log_unanswered(what, got)
    tell_directly(client, body, prompts.text(told))
    return None


def read_for_click(
    forms: FormBudget,
    prompts: Prompts,
    client: WebClient,
    body: dict[str, Any],
    read: Callable[[], T],
) -> Outcome[T] | None:
    """`read_for_form` for a button that opens a form, logged by the button's action_id."""
    what = f"action {body['actions'][0].get('action_id', '?')}"
    return read_for_form(forms, prompts, client, body, what, read)
