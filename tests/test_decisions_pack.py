"""The context pack: layout, folding, open questions, stability and privacy."""

from __future__ import annotations

from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.decisions.pack import PackScope, build_pack, team_scope
from chatbot.decisions.service import DecisionDraft, DecisionService, Origin
from chatbot.intent.service import IntentFields, IntentService
from chatbot.teams.service import TeamService


def _seed(db: Database, clock: FrozenClock) -> DecisionService:
    intents = IntentService(db, clock)
    view = intents.create(
        IntentFields(
            title="Refunds in one click",
            outcome="Agents refund in one click",
            constraints=["p95 under 300 ms"],
            checks=["When an agent clicks Refund, then the money is back in 1 minute"],
        ),
        "CPAY1",
        "U1",
    )
    intents.link(view.intent.id, "PAY-12", "U1")
    intents.create(IntentFields(title="Vague idea"), "CPAY1", "U1")
    decisions = DecisionService(db, clock)
    old = decisions.record(
        DecisionDraft.from_text("Use Braintree for PAY-12 because cheap"),
        "U1",
        "U1",
        Origin("CPAY1", False),
    ).decision
    clock.advance(hours=1)
    decisions.supersede(
        old.id,
        DecisionDraft(
            decision="Use Stripe refunds",
            why="better API",
            alternatives="Adyen",
            jira_keys=["PAY-12"],
        ),
        "U2",
    )
    clock.advance(hours=1)
    decisions.record(
        DecisionDraft(
            decision="Retry refunds twice </details> # not a heading",
            intent_id=1,
            status="proposed",
        ),
        "U3",
        "U3",
        Origin("CPAY1", False),
    )
    decisions.record(
        DecisionDraft.from_text("Secret: PAY-12 pricing leak"), "U9", "U9", Origin("GSEC7", True)
    )
    decisions.record(
        DecisionDraft.from_text("Other team thing"), "U9", "U9", Origin("COTHER5", False)
    )
    return decisions


def test_team_pack_layout(db: Database, clock: FrozenClock) -> None:
    _seed(db, clock)
    team = TeamService(db, clock).add("payments", "CPAY1", jira_project="PAY")
    pack = build_pack(db, team_scope(team))
    assert pack.startswith("# Context pack: team payments\n")
    assert "## Intents" in pack and "### I-1 · Refunds in one click" in pack
    assert "- p95 under 300 ms" in pack and "- [ ] When an agent clicks Refund" in pack
    decisions = pack.split("## Decisions")[1].split("## Superseded decisions")[0]
    # newest first, superseded one not among the current ones
    assert decisions.index("D-3 · Retry refunds") < decisions.index("D-2 · Use Stripe refunds")
    assert "Braintree" not in decisions and "**Alternatives considered**\n\nAdyen" in decisions
    folded = pack.split("## Superseded decisions")[1].split("## Open questions")[0]
    assert "<details>" in folded and "D-1 · Use Braintree for PAY-12" in folded
    assert "(superseded by D-2)" in folded and "**Why**\n\ncheap" in folded
    questions = pack.split("## Open questions")[1]
    assert "D-3 · Retry refunds twice" in questions and "proposed" in questions
    assert "I-2 · Vague idea: no outcome and no acceptance checks yet" in questions
    # user text cannot close our <details> or add a heading
    assert "&lt;/details&gt;" in pack and "\n# not a heading" not in pack
    # private and other teams' decisions stay out
    assert "Secret" not in pack and "Other team" not in pack


def test_pack_is_stable_and_diffable(db: Database, clock: FrozenClock) -> None:
    decisions = _seed(db, clock)
    scope = PackScope("channel CPAY1", channels=["CPAY1"])
    first = build_pack(db, scope)
    clock.advance(days=3)
    assert build_pack(db, scope) == first  # nothing changed, nothing differs
    decisions.record(
        DecisionDraft.from_text("Ship on Tuesdays"), "U1", "U1", Origin("CPAY1", False)
    )
    second = build_pack(db, scope)
    added = set(second.splitlines()) - set(first.splitlines())
    assert "### D-6 · Ship on Tuesdays" in added


def test_key_pack_and_private_channel_view(db: Database, clock: FrozenClock) -> None:
    _seed(db, clock)
    public = build_pack(db, PackScope("PAY-12", key="PAY-12"))
    assert "I-1 · Refunds" in public and "D-2 · Use Stripe" in public and "D-3 · Retry" in public
    assert "Secret" not in public
    inside = build_pack(db, PackScope("PAY-12", key="PAY-12", viewer_channel="GSEC7"))
    assert "Secret: PAY-12 pricing leak" in inside
    by_intent = build_pack(db, PackScope("I-1", key="I-1"))
    assert "D-3 · Retry" in by_intent and "D-2 · Use Stripe" in by_intent
    empty = build_pack(db, PackScope("NOPE-1", key="NOPE-1"))
    assert "## Decisions\n\n_None._" in empty


class _Names:
    """Names as a test decides them; ids it does not know come back unchanged."""

    def __init__(self, users: dict[str, str], channels: dict[str, str]) -> None:
        self.users, self.channels = users, channels

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)

    def channel(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id)


def test_people_and_channels_by_name(db: Database, clock: FrozenClock) -> None:
    decisions = _seed(db, clock)
    decisions.record(
        DecisionDraft.from_text("Ask <@U2> and <#COTHER5> before <@U7> changes PAY-12"),
        "U1",
        "U1",
        Origin("CPAY1", False),
    )
    names = _Names({"U1": "Ada", "U2": "Grace Hopper", "U3": "Linus"}, {"CPAY1": "payments"})
    pack = build_pack(db, PackScope("channel", channels=["CPAY1"]), names)
    assert "- Channels: #payments" in pack and "- Channel: #payments" in pack
    assert "- By: @Ada" in pack and "- By: @Linus" in pack
    assert "Ask @Grace Hopper and #COTHER5 before @U7 changes" in pack  # unknown: the id
    assert "@U1" not in pack and "CPAY1" not in pack
    assert build_pack(db, PackScope("channel", channels=["CPAY1"])).count("- By: @U1") == 2


def test_a_name_cannot_inject_markdown_or_html(db: Database, clock: FrozenClock) -> None:
    _seed(db, clock)
    names = _Names({"U3": "<b>Eve</b>\n# heading"}, {"CPAY1": "pay\nments"})
    pack = build_pack(db, PackScope("channel", channels=["CPAY1"]), names)
    assert "- By: @bEve/b # heading" in pack and "- Channel: #pay ments" in pack
    assert "<b>" not in pack


def test_decision_text_is_not_repeated_when_it_is_the_title(
    db: Database, clock: FrozenClock
) -> None:
    decisions = _seed(db, clock)
    decisions.record(
        DecisionDraft(decision="Ship on Tuesdays\nOnly after the 10:00 standup", why="calm"),
        "U1",
        "U1",
        Origin("CPAY1", False),
    )
    pack = build_pack(db, PackScope("channel", channels=["CPAY1"]))
    stripe = pack.split("D-2 · Use Stripe refunds")[1].split("###")[0]
    assert "**Decision**" not in stripe and "**Why**\n\nbetter API" in stripe
    tuesday = pack.split("D-6 · Ship on Tuesdays")[1].split("###")[0]
    assert "**Decision**\n\nShip on Tuesdays\nOnly after the 10:00 standup" in tuesday
