"""Intent lifecycle, revisions and late churn, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.intent.models import IntentStatus
from chatbot.intent.service import IntentError, IntentFields, IntentService, parse_ref


def _service(db: Database, clock: FrozenClock) -> IntentService:
    return IntentService(db, clock)


def _new(service: IntentService) -> int:
    view = service.create(
        IntentFields(
            title="Refunds",
            outcome="Agents refund in 1 click",
            checks=["When A, then B is shown", "When C, then D is shown"],
        ),
        "C1",
        "U1",
    )
    return view.intent.id


def test_lifecycle_and_revisions(db: Database, clock: FrozenClock) -> None:
    service = _service(db, clock)
    intent_id = _new(service)
    assert service.save(intent_id, "U1").intent.status == IntentStatus.READY
    assert service.link(intent_id, "pay-7", "U1").intent.status == IntentStatus.LINKED
    assert service.get(intent_id).intent.jira_key == "PAY-7"
    assert service.find("PAY-7").intent.id == intent_id
    clock.advance(hours=1)
    service.set_status(intent_id, IntentStatus.IN_PROGRESS, "U1")
    clock.advance(hours=1)
    service.edit(intent_id, "U2", checks=["When A, then B is shown", "When E, then F is shown"])
    revisions = service.revisions(intent_id)
    assert [r.late for r in revisions] == [False, True]
    day_start = clock.now().replace(hour=0)
    assert len(service.late_revisions_between(day_start, day_start.replace(hour=23))) == 1
    view = service.get(intent_id)
    for check in view.checks:
        view = service.verify_check(check.id, "U3")
    assert view.intent.status == IntentStatus.VERIFIED
    assert all(c.verified_by == "U3" and c.verified_at == clock.now() for c in view.checks)
    done = service.set_status(intent_id, IntentStatus.DONE, "U1")
    assert done.intent.done_at == clock.now()


def test_unchanged_checks_keep_their_verification(db: Database, clock: FrozenClock) -> None:
    service = _service(db, clock)
    intent_id = _new(service)
    first = service.get(intent_id).checks[0]
    service.verify_check(first.id, "U3")
    service.edit(intent_id, "U1", checks=["When A, then B is shown", "When Z, then Y is shown"])
    checks = service.get(intent_id).checks
    assert checks[0].verified_by == "U3" and checks[1].verified_by is None


def test_save_needs_outcome_and_checks(db: Database, clock: FrozenClock) -> None:
    service = _service(db, clock)
    view = service.create(IntentFields(title="Empty"), "C1", "U1")
    with pytest.raises(IntentError, match="outcome"):
        service.save(view.intent.id, "U1")


def test_edit_without_change_records_no_revision(db: Database, clock: FrozenClock) -> None:
    service = _service(db, clock)
    intent_id = _new(service)
    service.edit(intent_id, "U1", outcome="Agents refund in 1 click")
    assert len(service.revisions(intent_id)) == 1


def test_refs() -> None:
    assert parse_ref("I-12") == 12 and parse_ref("#3") == 3 and parse_ref("7") == 7
    assert parse_ref("PAY-1") is None
    assert IntentFields.lines("- a\n\n2. b\n• c\n") == ["a", "b", "c"]
