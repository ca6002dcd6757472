"""Intent lifecycle, revisions and late churn, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.intent.models import IntentStatus
from chatbot.intent.service import IntentError, IntentFields, IntentService, parse_ref
from chatbot.teams.service import TeamService


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


def test_open_lists_are_newest_first_and_leave_out_closed_and_others(
    db: Database, clock: FrozenClock
) -> None:
    service = _service(db, clock)
    ids = {}
    for title, channel, user in [
        ("Ready", "C1", "U1"),
        ("Other channel", "C2", "U1"),
        ("Someone else's", "C1", "U2"),
        ("Done", "C1", "U1"),
        ("Cancelled", "C1", "U1"),
        ("Started", "C1", "U1"),
    ]:
        ids[title] = service.create(IntentFields(title=title), channel, user).intent.id
        clock.advance(minutes=1)
    service.set_status(ids["Done"], IntentStatus.DONE, "U1")
    service.set_status(ids["Cancelled"], IntentStatus.CANCELLED, "U1")
    clock.advance(minutes=1)
    service.set_status(ids["Ready"], IntentStatus.READY, "U1")  # the latest change
    clock.advance(minutes=1)
    service.set_status(ids["Started"], IntentStatus.IN_PROGRESS, "U1")
    titles = [v.intent.title for v in service.list_open("C1")]
    assert titles == ["Started", "Ready", "Someone else's"]
    assert [v.intent.title for v in service.open_for_user("U1")] == [
        "Started",
        "Ready",
        "Other channel",
    ]
    assert [v.intent.title for v in service.list_open("C1", limit=1)] == ["Started"]
    assert [v.intent.title for v in service.open_for_user("U1", limit=1)] == ["Started"]


def test_open_lists_show_at_most_20_in_a_channel_and_10_for_a_person(
    db: Database, clock: FrozenClock
) -> None:
    service = _service(db, clock)
    for n in range(21):
        service.create(IntentFields(title=f"Intent {n}"), "C1", "U1")
        clock.advance(minutes=1)
    assert len(service.list_open("C1")) == 20
    assert len(service.open_for_user("U1")) == 10


def test_a_second_answer_is_added_to_the_first(db: Database, clock: FrozenClock) -> None:
    service = _service(db, clock)
    intent_id = _new(service)
    with db.session() as s:
        service.append_in(s, intent_id, "U2", "outcome", "and see it in the ledger")
        service.append_in(s, intent_id, "U2", "why", "Refunds take a day today")
        service.append_in(s, intent_id, "U2", "checks", "- When E, then F is shown\n\n")
        service.append_in(s, intent_id, "U2", "constraints", "No new vendor")
        service.append_in(s, intent_id, "U3", "constraints", "* PCI scope unchanged\n2. Fast")
    view = service.get(intent_id)
    assert view.intent.outcome == "Agents refund in 1 click\n\nand see it in the ledger"
    assert view.intent.why == "Refunds take a day today"
    assert [c.text for c in view.checks] == [
        "When A, then B is shown",
        "When C, then D is shown",
        "When E, then F is shown",
    ]
    assert view.intent.constraints == ["No new vendor", "PCI scope unchanged", "Fast"]
    assert len(service.revisions(intent_id)) == 6


def test_late_revisions_are_taken_from_start_up_to_end(db: Database, clock: FrozenClock) -> None:
    service = _service(db, clock)
    intent_id = _new(service)  # revision 1, before work started: not late
    service.set_status(intent_id, IntentStatus.IN_PROGRESS, "U1")
    service.edit(intent_id, "U1", why="before the window")  # 2, late
    clock.advance(hours=1)
    start = clock.now()
    service.edit(intent_id, "U1", why="at the start")  # 3, late
    other = _new(service)  # its revision 1 is in the window but not late
    clock.advance(hours=1)
    service.edit(intent_id, "U1", why="inside")  # 4, late
    clock.advance(hours=1)
    end = clock.now()
    service.edit(intent_id, "U1", why="at the end")  # 5, late, outside
    late = service.late_revisions_between(start, end)
    assert sorted((r.intent_id, r.number, r.late) for r in late) == [
        (intent_id, 3, True),
        (intent_id, 4, True),
    ]
    assert other not in {r.intent_id for r in late}


def test_started_and_done_are_set_once(db: Database, clock: FrozenClock) -> None:
    service = _service(db, clock)
    intent_id = _new(service)
    ready = service.set_status(intent_id, IntentStatus.READY, "U1").intent
    assert ready.started_at is None and ready.done_at is None
    clock.advance(hours=1)
    started_at = clock.now()
    started = service.set_status(intent_id, IntentStatus.IN_PROGRESS, "U1").intent
    assert started.started_at == started_at and started.done_at is None
    clock.advance(hours=1)
    service.set_status(intent_id, IntentStatus.VERIFIED, "U1")
    clock.advance(hours=1)
    done_at = clock.now()
    done = service.set_status(intent_id, IntentStatus.DONE, "U1").intent
    assert (done.started_at, done.done_at) == (started_at, done_at)
    clock.advance(hours=1)
    service.set_status(intent_id, IntentStatus.IN_PROGRESS, "U1")  # reopened
    again = service.set_status(intent_id, IntentStatus.DONE, "U1").intent
    assert (again.started_at, again.done_at) == (started_at, done_at)


def test_all_checks_verified_moves_only_a_started_intent_on(
    db: Database, clock: FrozenClock
) -> None:
    service = _service(db, clock)
    ready_id, started_id = _new(service), _new(service)
    service.set_status(ready_id, IntentStatus.READY, "U1")
    service.set_status(started_id, IntentStatus.IN_PROGRESS, "U1")
    for intent_id in (ready_id, started_id):
        first, second = service.get(intent_id).checks
        view = service.verify_check(first.id, "U3")
        assert view.intent.status != IntentStatus.VERIFIED and view.verified_count == 1
        view = service.verify_check(second.id, "U3")
    assert service.get(ready_id).intent.status == IntentStatus.READY
    assert view.intent.status == IntentStatus.VERIFIED and view.verified_count == 2
    # verifying again keeps who verified it first
    clock.advance(hours=1)
    view = service.verify_check(first.id, "U4")
    assert view.checks[0].verified_by == "U3" and view.checks[0].verified_at != clock.now()


def test_save_and_verify_refusals_say_what_to_do(db: Database, clock: FrozenClock) -> None:
    service = _service(db, clock)
    with pytest.raises(IntentError, match="That intent no longer exists"):
        service.save(999, "U1")
    no_checks = service.create(IntentFields(title="T", outcome="Agents refund"), "C1", "U1")
    with pytest.raises(IntentError, match="Add at least one acceptance check before saving"):
        service.save(no_checks.intent.id, "U1")
    with pytest.raises(IntentError, match="That check was replaced by a later edit"):
        service.verify_check(999, "U1")


def test_every_field_can_be_edited_and_only_real_changes_add_a_revision(
    db: Database, clock: FrozenClock
) -> None:
    service = _service(db, clock)
    intent_id = _new(service)
    same_checks = ["When A, then B is shown", "When C, then D is shown"]
    assert service.edit(intent_id, "U1", checks=same_checks).intent.revision == 1
    service.edit(intent_id, "U1", title="Refunds v2")
    service.edit(intent_id, "U1", out_of_scope="Partial refunds")
    service.edit(intent_id, "U1", constraints=["No new vendor"])
    assert service.edit(intent_id, "U1", constraints=["No new vendor"]).intent.revision == 4
    intent = service.get(intent_id).intent
    assert (intent.title, intent.out_of_scope) == ("Refunds v2", "Partial refunds")
    assert intent.constraints == ["No new vendor"]
    assert [r.snapshot["title"] for r in service.revisions(intent_id)] == [
        "Refunds",
        "Refunds v2",
        "Refunds v2",
        "Refunds v2",
    ]


def test_a_jira_key_finds_the_newest_intent_linked_to_it(db: Database, clock: FrozenClock) -> None:
    service = _service(db, clock)
    first, second = _new(service), _new(service)
    service.link(second, "PAY-7", "U1")
    service.link(first, "PAY-7", "U1")
    assert service.find("pay-7").intent.id == second  # type: ignore[union-attr]
    assert service.find("PAY-8") is None and service.find("refunds") is None


def test_create_stores_every_field_and_refuses_bad_titles(db: Database, clock: FrozenClock) -> None:
    service = _service(db, clock)
    fields = IntentFields(
        title="t" * 200,
        outcome="Agents refund in 1 click",
        why="Refunds take a day",
        constraints=["No new vendor"],
        checks=["When A, then B is shown"],
        out_of_scope="Partial refunds",
    )
    view = service.create(fields, "C1", "U1", thread_ts="1.2", status=IntentStatus.READY)
    assert view.fields() == fields
    assert (view.intent.status, view.intent.thread_ts) == (IntentStatus.READY, "1.2")
    assert service.revisions(view.intent.id)[0].snapshot == {
        "title": "t" * 200,
        "outcome": "Agents refund in 1 click",
        "why": "Refunds take a day",
        "constraints": ["No new vendor"],
        "out_of_scope": "Partial refunds",
        "checks": ["When A, then B is shown"],
        "status": "ready",
    }
    with pytest.raises(IntentError, match="An intent needs a title"):
        service.create(IntentFields(title="  "), "C1", "U1")
    with pytest.raises(IntentError, match="A title can be at most 200 characters"):
        service.create(IntentFields(title="t" * 201), "C1", "U1")
    with pytest.raises(IntentError, match="That intent no longer exists"):
        service.edit(999, "U1", title="Gone")


def test_reordered_checks_keep_their_order_and_their_verification(
    db: Database, clock: FrozenClock
) -> None:
    service = _service(db, clock)
    intent_id = _new(service)
    first = service.get(intent_id).checks[0]
    service.verify_check(first.id, "U3")
    view = service.edit(intent_id, "U1", checks=["When C, then D is shown", first.text])
    assert [(c.text, c.verified_by) for c in view.checks] == [
        ("When C, then D is shown", None),
        ("When A, then B is shown", "U3"),
    ]
    assert service.revisions(intent_id)[-1].snapshot["checks"] == [
        "When C, then D is shown",
        "When A, then B is shown",
    ]


def test_edits_after_work_started_stay_late_when_it_moves_back(
    db: Database, clock: FrozenClock
) -> None:
    service = _service(db, clock)
    intent_id = _new(service)
    service.set_status(intent_id, IntentStatus.IN_PROGRESS, "U1")
    service.set_status(intent_id, IntentStatus.READY, "U1")
    service.edit(intent_id, "U1", why="Scope changed")
    assert [r.late for r in service.revisions(intent_id)] == [False, True]


def test_the_card_keeps_the_first_thread(db: Database, clock: FrozenClock) -> None:
    service = _service(db, clock)
    intent_id = _new(service)
    service.set_card(intent_id, card_ts="5.5")
    assert service.get(intent_id).intent.thread_ts is None
    service.set_card(intent_id, thread_ts="6.6")
    service.set_card(intent_id, card_ts="7.7", thread_ts="8.8")
    intent = service.get(intent_id).intent
    assert (intent.card_ts, intent.thread_ts) == ("7.7", "6.6")


def test_an_intent_belongs_to_the_first_team_of_its_channel(
    db: Database, clock: FrozenClock
) -> None:
    teams = TeamService(db, clock)
    first = teams.add("Payments", "C1")
    teams.add("Refunds", "C1")  # names the same channel later
    other = teams.add("Search", "C2")
    service = _service(db, clock)
    view = service.create(IntentFields(title="Refunds"), "C1", "U1", team_from_channel=True)
    assert view.intent.team_id == first.id
    assert service.get(view.intent.id).intent.team_id == first.id
    in_c2 = service.create(IntentFields(title="Search"), "C2", "U1", team_from_channel=True)
    assert in_c2.intent.team_id == other.id
    nowhere = service.create(IntentFields(title="Loose"), "C9", "U1", team_from_channel=True)
    assert nowhere.intent.team_id is None


def test_an_intent_without_checks_or_team_lookup_has_its_first_revision(
    db: Database, clock: FrozenClock
) -> None:
    service = _service(db, clock)
    view = service.create(IntentFields(title="Refunds"), "C1", "U7")
    [revision] = service.revisions(view.intent.id)
    assert (revision.number, revision.author, revision.snapshot["checks"]) == (1, "U7", [])


def test_an_intent_in_its_channels_team_is_stored_with_its_first_revision(
    db: Database, clock: FrozenClock
) -> None:
    # On PostgreSQL the intent and its revision are one statement; the same rows either way.
    TeamService(db, clock).add("Payments", "C1")
    service = _service(db, clock)
    view = service.create(IntentFields(title="Refunds & <b>"), "C1", "U7", team_from_channel=True)
    [revision] = service.revisions(view.intent.id)
    assert (revision.intent_id, revision.number, revision.author) == (view.intent.id, 1, "U7")
    assert revision.created_at == clock.now() and not revision.late
    assert revision.snapshot["title"] == "Refunds & <b>" and revision.snapshot["checks"] == []
    stored = service.get(view.intent.id).intent
    assert (stored.title, stored.revision, stored.created_by) == ("Refunds & <b>", 1, "U7")
    assert stored.status == view.intent.status and stored.team_id == view.intent.team_id
