"""Decision domain: parsing, recording once, edits with history, supersede, search, privacy."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.decisions.models import DecisionRevision, DecisionSource, DecisionStatus
from chatbot.decisions.search import DecisionSearch, terms
from chatbot.decisions.service import (
    DecisionDraft,
    DecisionError,
    DecisionService,
    Origin,
)
from chatbot.intent.service import IntentFields, IntentService

PUBLIC = Origin("C1", is_private=False)
SECRET = Origin("G9", is_private=True)


def test_text_after_because_is_the_rationale_and_links_are_detected() -> None:
    draft = DecisionDraft.from_text(
        "Use Postgres for PAY-12 and I-3 #storage because we need row locks, see OPS-7"
    )
    assert draft.decision == "Use Postgres for PAY-12 and I-3 #storage"
    assert draft.why == "we need row locks, see OPS-7"
    assert draft.jira_keys == ["PAY-12", "OPS-7"]
    assert draft.intent_id == 3
    assert draft.tags == ["storage"]
    assert draft.title == "Use Postgres for PAY-12 and I-3 #storage"


def test_because_at_the_start_keeps_the_whole_text() -> None:
    draft = DecisionDraft.from_text("Because it is late, we ship Friday")
    assert draft.decision == "Because it is late, we ship Friday" and draft.why == ""


def test_record_edit_keeps_history(db: Database, clock: FrozenClock) -> None:
    service = DecisionService(db, clock)
    d = service.record(DecisionDraft.from_text("Adopt gRPC because typed"), "U1", "U1", PUBLIC)
    assert d.created and d.decision.revision == 1
    clock.advance(minutes=5)
    edited = service.edit(d.decision.id, "U2", why="typed contracts", jira_keys=["PAY-1"])
    assert edited.revision == 2 and edited.why == "typed contracts"
    assert "PAY-1" in edited.keywords
    revisions = service.revisions(d.decision.id)
    assert [r.number for r in revisions] == [1, 2]
    assert revisions[0].snapshot["why"] == "typed" and revisions[1].author == "U2"
    # nothing changed: no new revision
    assert service.edit(d.decision.id, "U2", why="typed contracts").revision == 2
    assert service.linked(None, jira_keys=["pay-1"])[0].id == d.decision.id
    with pytest.raises(DecisionError):
        service.edit(d.decision.id, "U2", decision="   ")
    assert service.get(d.decision.id).decision == "Adopt gRPC"


def test_empty_and_oversized_decisions_are_refused(db: Database, clock: FrozenClock) -> None:
    service = DecisionService(db, clock)
    with pytest.raises(DecisionError, match="needs some text"):
        service.record(DecisionDraft.from_text("   "), "U1", "U1", PUBLIC)
    with pytest.raises(DecisionError, match="at most 10,000"):
        service.record(DecisionDraft.from_text("x" * 10_001), "U1", "U1", PUBLIC)
    five_k = service.record(DecisionDraft.from_text("y " * 2500), "U1", "U1", PUBLIC).decision
    assert len(five_k.decision) == 4999 and len(five_k.title) <= 120


def test_same_message_is_logged_once(db: Database, clock: FrozenClock) -> None:
    service = DecisionService(db, clock)
    origin = Origin("C1", False, DecisionSource.REACTION, source_channel="C1", source_ts="5.1")
    first = service.record(DecisionDraft.from_text("Freeze on Fridays"), "U1", "U2", origin)
    again = service.record(DecisionDraft.from_text("Freeze on Fridays"), "U1", "U3", origin)
    assert first.created and not again.created and again.decision.id == first.decision.id


def test_supersede_links_both_and_marks_the_old(db: Database, clock: FrozenClock) -> None:
    service = DecisionService(db, clock)
    old = service.record(DecisionDraft.from_text("Deploy daily"), "U1", "U1", SECRET).decision
    new, stale = service.supersede(old.id, DecisionDraft.from_text("Deploy hourly"), "U2")
    assert stale.status == DecisionStatus.SUPERSEDED and stale.superseded_by_id == new.id
    assert new.supersedes_id == old.id and new.channel_id == "G9" and new.is_private
    with pytest.raises(DecisionError, match="already superseded"):
        service.supersede(old.id, DecisionDraft.from_text("Deploy weekly"), "U2")
    # a superseded decision cannot be re-accepted by an edit
    assert service.edit(old.id, "U1", status="accepted").status == DecisionStatus.SUPERSEDED
    with db.session() as s:
        numbers = s.exec(
            text("SELECT number FROM decision_revision WHERE decision_id = :i ORDER BY number"),
            params={"i": old.id},
        ).all()
    assert [n[0] for n in numbers] == [1, 2]
    assert DecisionRevision.__tablename__ == "decision_revision"


def test_search_ranks_and_keeps_private_decisions_private(db: Database, clock: FrozenClock) -> None:
    service = DecisionService(db, clock)
    service.record(DecisionDraft.from_text("Cache invoices in Redis"), "U1", "U1", PUBLIC)
    clock.advance(hours=1)
    service.record(
        DecisionDraft(title="Invoices", decision="Invoices are PDFs", why="legal"),
        "U1",
        "U1",
        PUBLIC,
    )
    clock.advance(hours=1)
    service.record(DecisionDraft.from_text("Secret invoices plan"), "U1", "U1", SECRET)
    search = DecisionSearch(db)
    hits = search.decisions("invoice", None)
    assert [h.title for h in hits] == ["Invoices", "Cache invoices in Redis"]  # title weighs most
    assert all(not h.title.startswith("Secret") for h in search.decisions("secret", "C1"))
    assert [h.title for h in search.decisions("secret invoices", "G9")] == ["Secret invoices plan"]
    # no word matches every term: fall back to any term
    assert len(search.decisions("redis unknownword", None)) == 1


REDIS = (["D-1"], ["I-1"])  # the decision and the intent that mention Redis
NOTHING: tuple[list[str], list[str]] = ([], [])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"unbalanced', NOTHING),
        ("inv*", NOTHING),  # no prefix search: `*` is not an operator
        ("NEAR(redis cache)", REDIS),  # NEAR is just a word; no decision has every word
        ("-redis", REDIS),  # `-` does not exclude
        ("title:redis", REDIS),  # no column filters
        ("'; DROP TABLE decision; --", (["D-2"], [])),
        ("redis' OR '1'='1", REDIS),
        ("AND OR NOT", NOTHING),
        ("***", NOTHING),
        ("", NOTHING),
        ("ü ñ 你好", NOTHING),
        ("a" * 500, NOTHING),
    ],
)
def test_search_syntax_is_just_text(
    db: Database, clock: FrozenClock, query: str, expected: tuple[list[str], list[str]]
) -> None:
    service = DecisionService(db, clock)
    service.record(DecisionDraft.from_text("Cache invoices in Redis"), "U1", "U1", PUBLIC)
    service.record(DecisionDraft.from_text("Drop the old table"), "U1", "U1", PUBLIC)
    IntentService(db, clock).create(
        IntentFields(title="Redis failover drill", outcome="Cache survives a node loss"), "C1", "U1"
    )
    found = DecisionSearch(db).decisions(query, "C1"), DecisionSearch(db).intents(query, "C1")
    assert ([h.ref for h in found[0]], [h.ref for h in found[1]]) == expected
    assert service.get(1) is not None and service.get(2) is not None


def test_terms_are_words_only() -> None:
    assert terms("\"a\" * NEAR - : 'b'") == ["a", "near", "b"]


def test_intents_are_searchable(db: Database, clock: FrozenClock) -> None:
    intents = IntentService(db, clock)
    intents.create(IntentFields(title="Refunds in one click", outcome="Agents refund"), "C1", "U1")
    hits = DecisionSearch(db).intents("refund", None)
    assert [h.ref for h in hits] == ["I-1"]
