"""The coach's rules, one by one (pure, no database)."""

from __future__ import annotations

import pytest

from chatbot.intent.coach import Coach
from chatbot.intent.service import IntentFields
from chatbot.prompts import Prompts
from chatbot.settings import DEFAULT_PROMPTS_DIR


@pytest.fixture(scope="module")
def coach() -> Coach:
    return Coach(Prompts(DEFAULT_PROMPTS_DIR))


GOOD_CHECK = "When an agent clicks Refund on a paid order, then the order shows Refunded"


def rules(coach: Coach, **fields: object) -> list[str]:
    base = {"title": "t", "outcome": "Agents refund orders in 1 click", "checks": [GOOD_CHECK]}
    base.update(fields)
    return [n.rule for n in coach.review(IntentFields(**base))]  # type: ignore[arg-type]


def test_clean_intent_has_no_notes(coach: Coach) -> None:
    assert rules(coach) == []


def test_missing_outcome_and_checks_are_blocking(coach: Coach) -> None:
    notes = coach.review(IntentFields(title="t"))
    assert {n.rule for n in notes if n.blocking} == {"no_outcome", "no_checks"}


@pytest.mark.parametrize("word", ["fast", "scalable", "user-friendly", "robust", "etc."])
def test_vague_words_without_number(coach: Coach, word: str) -> None:
    assert "vague" in rules(coach, outcome=f"Checkout is {word}")


@pytest.mark.parametrize(
    ("word", "pattern", "not_this"),
    [
        ("secure", "only agents with the refund role", "ms"),
        ("scalable", "orders a minute", "first-time"),
        ("user-friendly", "first-time agents refund an order", "p95"),
        ("intuitive", "without help", "p95"),
        ("fast", "p95 under 300 ms", "role"),
        ("robust", "is down for 5 minutes", "p95"),
        ("reliable", "no refund is lost", "p95"),
        ("soon", "by 15 March", "p95"),
        ("etc.", "Name every item", "p95"),
    ],
)
def test_the_rewrite_fits_the_vague_word(
    coach: Coach, word: str, pattern: str, not_this: str
) -> None:
    [note] = [n for n in coach.review(_fields(outcome=f"Refunds are {word}")) if n.rule == "vague"]
    assert note.text.startswith(f"Outcome: “{word.rstrip('.')}") and pattern in note.text
    assert not_this not in note.text


def test_every_vague_word_has_its_own_advice_or_the_default(coach: Coach) -> None:
    for word in coach.vague:
        advice = coach.vague_advice_for(word)
        assert advice and "{" not in advice


def _fields(**fields: object) -> IntentFields:
    base = {"title": "t", "outcome": "Agents refund orders in 1 click", "checks": [GOOD_CHECK]}
    base.update(fields)
    return IntentFields(**base)  # type: ignore[arg-type]


def test_vague_word_with_a_number_is_fine(coach: Coach) -> None:
    assert "vague" not in rules(coach, outcome="Checkout is fast: p95 under 300 ms")


def test_check_that_cannot_fail(coach: Coach) -> None:
    assert "untestable" in rules(coach, checks=["Refund flow"])


def test_compound_check(coach: Coach) -> None:
    check = (
        "When an agent clicks Refund, then the order shows Refunded and the customer gets an email"
    )
    assert "compound" in rules(coach, checks=[check])


def test_given_with_and_is_not_compound(coach: Coach) -> None:
    check = (
        "Given a paid and shipped order, when an agent clicks Refund, then the order shows Refunded"
    )
    assert "compound" not in rules(coach, checks=[check])


def test_performance_constraint_not_tested(coach: Coach) -> None:
    assert "perf_untested" in rules(coach, constraints=["p95 latency under 300 ms"])
    tested = [GOOD_CHECK, "When 50 agents refund at once, then p95 latency is under 300 ms"]
    assert "perf_untested" not in rules(
        coach, constraints=["p95 latency under 300 ms"], checks=tested
    )


def test_security_constraint_not_tested(coach: Coach) -> None:
    assert "security_untested" in rules(coach, constraints=["Only agents with the refund role"])
    tested = [GOOD_CHECK, "When a user without the refund role calls the API, then they get 403"]
    assert "security_untested" not in rules(
        coach, constraints=["Only agents with the refund role"], checks=tested
    )


def test_missing_actor_or_trigger(coach: Coach) -> None:
    assert "missing_actor" in rules(coach, checks=["The order shows Refunded"])


def test_over_long_items(coach: Coach) -> None:
    assert "too_long" in rules(coach, outcome="Agents refund orders in 1 click " * 30)


def test_notes_name_the_item(coach: Coach) -> None:
    notes = coach.review(IntentFields(title="t", outcome="x 1", checks=[GOOD_CHECK, "Refund flow"]))
    assert any(n.text.startswith("Check 2") for n in notes)
