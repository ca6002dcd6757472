"""Following intent changes from outside the intent domain, after they are committed.

Every edit writes an IntentRevision and every (un)verified check changes an
AcceptanceCheck row, whichever path made them (form, thread, button, another domain's
transaction). Watching the ORM flushes of our own engine catches them all without the
intent service knowing about Jira, and only once the transaction has committed.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chatbot.db.outage import log_job_failure
from chatbot.intent.models import AcceptanceCheck, IntentRevision

log = logging.getLogger(__name__)
IntentChanged = Callable[[int], None]

_followers: weakref.WeakKeyDictionary[Engine, list[IntentChanged]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_installed = False
_INFO_KEY = "throughline_changed_intents"


def follow_intents(engine: Engine, callback: IntentChanged) -> None:
    """Call `callback(intent_id)` after each commit that revised an intent or ticked a check."""
    global _installed
    with _lock:
        _followers.setdefault(engine, []).append(callback)
        if not _installed:
            event.listen(Session, "after_flush", _after_flush)
            event.listen(Session, "after_commit", _after_commit)
            event.listen(Session, "after_soft_rollback", _after_rollback)
            _installed = True


def _engine(session: Session) -> Engine | None:
    bind = session.bind
    return bind if isinstance(bind, Engine) else None


def _after_flush(session: Session, _context: object) -> None:
    engine = _engine(session)
    if engine is None or engine not in _followers:
        return
    changed: set[int] = session.info.setdefault(_INFO_KEY, set())
    for obj in session.new:
        if isinstance(obj, IntentRevision):
            changed.add(obj.intent_id)
    for obj in session.dirty:
        if (
            isinstance(obj, AcceptanceCheck)
            and inspect(obj).attrs.verified_at.history.has_changes()
        ):
            changed.add(obj.intent_id)


def _after_commit(session: Session) -> None:
    changed: set[int] = session.info.pop(_INFO_KEY, set())
    engine = _engine(session)
    if not changed or engine is None:
        return
    for callback in list(_followers.get(engine, [])):
        for intent_id in sorted(changed):
            try:
                callback(intent_id)
            except Exception as exc:  # a follower's failure must never undo or hide the edit
                log_job_failure(log, exc, "intent follower failed for I-%s", intent_id)


def _after_rollback(session: Session, _previous: object) -> None:
    session.info.pop(_INFO_KEY, None)
