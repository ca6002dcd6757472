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


def test_recent_for_user_shows_public_and_their_own_private_ones_newest_first(
    db: Database, clock: FrozenClock
) -> None:
    service = DecisionService(db, clock)

    def log(text: str, author: str, logged_by: str, origin: Origin) -> None:
        service.record(DecisionDraft.from_text(text), author, logged_by, origin)
        clock.advance(minutes=1)

    log("Public one", "U1", "U1", PUBLIC)
    log("Their private one", "U2", "U9", SECRET)
    log("Private one they logged", "U9", "U2", SECRET)
    log("Someone else's private one", "U3", "U3", SECRET)
    log("Public two", "U3", "U3", PUBLIC)
    assert [d.title for d in service.recent_for_user("U2")] == [
        "Public two",
        "Private one they logged",
        "Their private one",
        "Public one",
    ]
    assert [d.title for d in service.recent_for_user("U2", limit=2)] == [
        "Public two",
        "Private one they logged",
    ]
    for n in range(3):  # at the same instant: the later one first
        service.record(DecisionDraft.from_text(f"Same minute {n}"), "U1", "U1", PUBLIC)
    assert [d.title for d in service.recent_for_user("U2")] == [
        "Same minute 2",
        "Same minute 1",
        "Same minute 0",
        "Public two",
        "Private one they logged",
    ]


def test_find_takes_any_form_of_the_ref_and_hides_other_channels_private_ones(
    db: Database, clock: FrozenClock
) -> None:
    service = DecisionService(db, clock)
    public = service.record(DecisionDraft.from_text("Ship on Tuesdays"), "U1", "U1", PUBLIC)
    secret = service.record(DecisionDraft.from_text("Rotate the keys"), "U1", "U1", SECRET)
    public_id, secret_id = public.decision.id, secret.decision.id
    for ref in (f"D-{public_id}", f"d-{public_id}", f"#{public_id}", f" {public_id} "):
        found = service.find(ref, "C1")
        assert found is not None and found.id == public_id, ref
    assert service.find(f"D-{public_id}", None).id == public_id  # type: ignore[union-attr]
    assert service.find(f"D-{secret_id}", "G9").id == secret_id  # type: ignore[union-attr]
    assert service.find(f"D-{secret_id}", "C1") is None
    assert service.find(f"D-{secret_id}", None) is None
    assert service.find("D-999", "C1") is None
    assert service.find("Ship on Tuesdays", "C1") is None


def test_edit_changes_status_tags_and_the_linked_intent(db: Database, clock: FrozenClock) -> None:
    service = DecisionService(db, clock)
    intents = IntentService(db, clock)
    refunds = intents.create(IntentFields(title="Refunds"), "C1", "U1").intent.id
    d = service.record(DecisionDraft.from_text("Use Redis #cache"), "U1", "U1", PUBLIC).decision
    assert (d.status, d.tags, d.intent_id) == (DecisionStatus.ACCEPTED, ["cache"], None)
    edited = service.edit(
        d.id, "U2", status=DecisionStatus.PROPOSED, tags=["#Storage", "XML"], intent_id=refunds
    )
    assert (edited.status, edited.tags) == ("proposed", ["storage", "xml"])
    assert edited.intent_id == refunds
    assert edited.keywords == "storage xml" and edited.revision == 2
    assert service.linked(None, intent_ids=[refunds])[0].id == d.id
    unlinked = service.edit(d.id, "U2", intent_id=None)
    assert unlinked.intent_id is None and unlinked.revision == 3
    assert service.edit(d.id, "U2", intent_id=9999).revision == 3  # unknown intent: no link
    snapshot = service.revisions(d.id)[1].snapshot
    assert (snapshot["status"], snapshot["tags"], snapshot["intent_id"]) == (
        "proposed",
        ["storage", "xml"],
        refunds,
    )


def test_supersede_refusals_name_the_decisions(db: Database, clock: FrozenClock) -> None:
    service = DecisionService(db, clock)
    with pytest.raises(DecisionError, match="D-99 no longer exists"):
        service.supersede(99, DecisionDraft.from_text("Deploy hourly"), "U2")
    old = service.record(DecisionDraft.from_text("Deploy daily"), "U1", "U1", PUBLIC).decision
    new, _ = service.supersede(old.id, DecisionDraft.from_text("Deploy hourly"), "U2")
    assert new.source == DecisionSource.FORM and new.author == "U2"
    last = service.revisions(old.id)[-1].snapshot
    assert (last["status"], last["superseded_by_id"]) == ("superseded", new.id)
    with pytest.raises(
        DecisionError, match=f"D-{old.id} was already superseded by D-{new.id}; supersede that"
    ):
        service.supersede(old.id, DecisionDraft.from_text("Deploy weekly"), "U2")


def test_a_draft_of_a_decision_carries_every_field(db: Database, clock: FrozenClock) -> None:
    service = DecisionService(db, clock)
    draft = DecisionDraft(
        title="Ledger store",
        decision="Use Postgres for the ledger",
        why="Row locks",
        alternatives="MySQL",
        consequences="One more database to run",
        status=DecisionStatus.PROPOSED,
        tags=["storage"],
        jira_keys=["PAY-1"],
    )
    d = service.record(draft, "U1", "U1", PUBLIC).decision
    assert DecisionDraft.of(d) == draft
    assert d.keywords == "storage PAY-1"
    assert service.revisions(d.id)[0].snapshot == {
        "title": "Ledger store",
        "decision": "Use Postgres for the ledger",
        "why": "Row locks",
        "alternatives": "MySQL",
        "consequences": "One more database to run",
        "status": "proposed",
        "tags": ["storage"],
        "jira_keys": ["PAY-1"],
        "intent_id": None,
        "superseded_by_id": None,
    }
    assert DecisionDraft.of(d, with_content=False) == DecisionDraft(
        tags=["storage"], jira_keys=["PAY-1"]
    )
    edited = service.edit(d.id, "U2", why="Row locks and constraints")
    assert (edited.alternatives, edited.consequences) == ("MySQL", "One more database to run")
    assert edited.status == DecisionStatus.PROPOSED


def test_messages_and_cards_are_matched_by_channel_and_ts(db: Database, clock: FrozenClock) -> None:
    service = DecisionService(db, clock)
    in_c1 = Origin("C1", False, DecisionSource.REACTION, source_channel="C1", source_ts="5.1")
    in_c2 = Origin("C2", False, DecisionSource.REACTION, source_channel="C2", source_ts="5.1")
    first = service.record(DecisionDraft.from_text("Freeze on Fridays"), "U1", "U1", in_c1)
    second = service.record(DecisionDraft.from_text("Deploy on Mondays"), "U1", "U1", in_c2)
    assert second.created and second.decision.id != first.decision.id
    assert service.by_source("C2", "5.1").id == second.decision.id  # type: ignore[union-attr]
    service.set_card(first.decision.id, "C1", "7.7")
    service.set_card(second.decision.id, "C2", "7.7")
    assert service.by_card("C2", "7.7").id == second.decision.id  # type: ignore[union-attr]
    assert service.by_card("C1", "7.7").id == first.decision.id  # type: ignore[union-attr]
    assert service.by_card("C3", "7.7") is None
    # the card's link fills in a missing permalink and never replaces the message's own
    service.set_card(first.decision.id, "C1", "7.8", permalink="https://x/card1")
    assert service.get(first.decision.id).permalink == "https://x/card1"  # type: ignore[union-attr]
    linked = Origin("C1", False, DecisionSource.SHORTCUT, permalink="https://x/message")
    third = service.record(DecisionDraft.from_text("Keep the link"), "U1", "U1", linked).decision
    service.set_card(third.id, "C1", "7.9", permalink="https://x/card3")
    assert service.get(third.id).permalink == "https://x/message"  # type: ignore[union-attr]


def test_linked_shows_the_viewers_private_ones_newest_first(
    db: Database, clock: FrozenClock
) -> None:
    service = DecisionService(db, clock)
    service.record(DecisionDraft.from_text("Old public PAY-1"), "U1", "U1", PUBLIC)
    clock.advance(minutes=1)
    service.record(DecisionDraft.from_text("Private in G9 PAY-1"), "U1", "U1", SECRET)
    clock.advance(minutes=1)
    for name in ("A", "B"):  # at the same instant: the later one first
        service.record(DecisionDraft.from_text(f"Same time {name} PAY-1"), "U1", "U1", PUBLIC)
    titles = [d.title for d in service.linked("G9", jira_keys=["PAY-1"])]
    assert titles == [
        "Same time B PAY-1",
        "Same time A PAY-1",
        "Private in G9 PAY-1",
        "Old public PAY-1",
    ]
    assert "Private in G9 PAY-1" not in [d.title for d in service.linked("C1", jira_keys=["PAY-1"])]
    assert [d.title for d in service.linked("G9", jira_keys=["PAY-1"], limit=1)] == [
        "Same time B PAY-1"
    ]
    assert service.linked("G9") == []


def test_because_splits_off_the_rationale_without_its_punctuation() -> None:
    draft = DecisionDraft.from_text("Use NGINX, because: XML configs are gone")
    assert (draft.decision, draft.why) == ("Use NGINX", "XML configs are gone")
    draft = DecisionDraft.from_text("Adopt OSX – because X11 is gone; ")
    assert (draft.decision, draft.why) == ("Adopt OSX", "X11 is gone")
    assert DecisionDraft.from_text("") == DecisionDraft()


def test_removed_jira_keys_no_longer_link_and_edits_of_missing_ones_say_so(
    db: Database, clock: FrozenClock
) -> None:
    service = DecisionService(db, clock)
    d = service.record(DecisionDraft.from_text("Split PAY-1 and OPS-2"), "U1", "U1", PUBLIC)
    service.edit(d.decision.id, "U1", jira_keys=["OPS-2"])
    assert service.linked(None, jira_keys=["PAY-1"]) == []
    assert [x.id for x in service.linked(None, jira_keys=["OPS-2"])] == [d.decision.id]
    with pytest.raises(DecisionError, match="D-999 no longer exists"):
        service.edit(999, "U1", why="gone")


def test_limits_are_inclusive_and_refusals_say_by_how_much(
    db: Database, clock: FrozenClock
) -> None:
    service = DecisionService(db, clock)
    longest = "x" * 10_000
    draft = DecisionDraft(decision=longest, why=longest, alternatives=longest, consequences=longest)
    assert service.record(draft, "U1", "U1", PUBLIC).decision.why == longest
    with pytest.raises(DecisionError, match=r"at most 10,000 characters \(this one has 10,001\)"):
        service.record(DecisionDraft(decision=longest + "y"), "U1", "U1", PUBLIC)
    for name in ("why", "alternatives", "consequences"):
        too_long = DecisionDraft(decision="Ship it", **{name: longest + "y"})
        with pytest.raises(DecisionError, match=f"“{name}” can be at most 10,000 characters"):
            service.record(too_long, "U1", "U1", PUBLIC)
    title = "t" * 200
    titled = service.record(DecisionDraft(title, "Ship it"), "U1", "U1", PUBLIC).decision
    assert titled.title == title
    with pytest.raises(DecisionError, match="A title can be at most 200 characters"):
        service.record(DecisionDraft(title + "t", "Ship it"), "U1", "U1", PUBLIC)


def test_empty_form_fields_and_unknown_statuses_get_defaults(
    db: Database, clock: FrozenClock
) -> None:
    draft = DecisionDraft(decision="Ship it", status="bogus")
    draft.why = draft.alternatives = draft.consequences = None  # type: ignore[assignment]
    d = DecisionService(db, clock).record(draft, "U1", "U1", PUBLIC).decision
    assert (d.why, d.alternatives, d.consequences) == ("", "", "")
    assert d.status == DecisionStatus.ACCEPTED


def test_titles_tags_and_keys_are_kept_short(db: Database, clock: FrozenClock) -> None:
    draft = DecisionDraft.from_text("Use Postgres. It has row locks.\nSecond line")
    assert draft.title == "Use Postgres."
    assert DecisionDraft.from_text("w" * 130).title == "w" * 119 + "…"
    assert DecisionDraft.from_text("w" * 120).title == "w" * 120
    assert DecisionDraft.from_text("w" * 118 + " and more").title == "w" * 118 + "…"
    service = DecisionService(db, clock)
    many = DecisionDraft(
        decision="Tag everything",
        tags=["#", "t" * 41, *[f"tag{n}" for n in range(25)]],
        jira_keys=[f"PAY-{n}" for n in range(1, 26)],
    )
    d = service.record(many, "U1", "U1", PUBLIC).decision
    assert d.tags == ["t" * 40, *[f"tag{n}" for n in range(19)]]
    assert d.jira_keys == [f"PAY-{n}" for n in range(1, 21)]
