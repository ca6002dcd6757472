"""Test data in one call: `make_intent`, `make_decision`, `make_team`, `stored_intent`, and
the few Slack steps many tests share (`start_guided`, `reply`, `posted_intent`, `told`,
`settle`).

Every factory goes through the real domain service, so what it builds is exactly what the
bot would have stored; only the defaults are the test's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import select

from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.decisions.models import Decision
from chatbot.decisions.service import DecisionDraft, DecisionService, Origin
from chatbot.intent.models import Intent
from chatbot.intent.service import IntentFields, IntentService, IntentView
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService

if TYPE_CHECKING:
    from tests.conftest import Bot

REFUND_CHECKS = [
    "When an agent clicks Refund, the money lands in 1 minute",
    "Without the refund role the API answers 403",
]


def make_intent(
    db: Database,
    clock: Clock,
    title: str = "Refunds in one click",
    *,
    outcome: str = "Agents refund an order in one click (see PAY-42)",
    why: str = "Refunds take 20 minutes",
    constraints: list[str] | None = None,
    checks: list[str] | None = None,
    out_of_scope: str = "Partial refunds",
    channel: str = "C1",
    user: str = "U1",
    saved: bool = False,
    jira_key: str | None = None,
) -> IntentView:
    """An intent as the form or the guided conversation stores it; `saved` makes it ready,
    `jira_key` links it."""
    intents = IntentService(db, clock)
    fields = IntentFields(
        title=title,
        outcome=outcome,
        why=why,
        constraints=["p95 under 300 ms"] if constraints is None else constraints,
        checks=list(REFUND_CHECKS) if checks is None else checks,
        out_of_scope=out_of_scope,
    )
    view = intents.create(fields, channel, user)
    if saved:
        view = intents.save(view.intent.id or 0, user)
    if jira_key:
        view = intents.link(view.intent.id or 0, jira_key, user)
    return view


def make_decision(
    db: Database,
    clock: Clock,
    text: str = "Use Postgres because we need row locks",
    *,
    channel: str = "C1",
    private: bool = False,
    author: str = "U1",
    logged_by: str | None = None,
    **draft: Any,
) -> Decision:
    """A decision logged from `text` (as `/decision text`), or from `draft` fields when given
    (`decision=`, `why=`, `jira_keys=`, `status=`, ...)."""
    parsed = DecisionDraft(**draft) if draft else DecisionDraft.from_text(text)
    origin = Origin(channel, is_private=private)
    return DecisionService(db, clock).record(parsed, author, logged_by or author, origin).decision


def make_team(
    db: Database,
    clock: Clock,
    name: str = "payments",
    channel: str = "CPAY1",
    **settings: Any,
) -> Team:
    """A team with the given settings (any `chatbot team set` key), the rest at defaults."""
    return TeamService(db, clock).add(name, channel, **settings)


# --- Slack steps --------------------------------------------------------------------------------
def start_guided(bot: Bot, title: str = "Checkout redesign", channel: str = "C1") -> str:
    """Run `/intent <title>` and return the thread's root ts."""
    assert bot.slack.command("/intent", title, channel=channel).status == 200
    bot.settle()
    call = bot.fake.wait_for(
        "chat.postMessage", lambda c: c.ok and "Drafting intent" in c.params.get("text", "")
    )[0]
    return call.response["ts"]


def reply(bot: Bot, root: str, text: str, user: str = "U2", **kw: object) -> None:
    """Answer in the guided conversation's thread."""
    assert bot.slack.thread_reply("C1", root, text, user=user, **kw).status == 200
    bot.settle()


def posted_intent(bot: Bot, channel: str = "C1", title: str = "Refunds in one click") -> IntentView:
    """A saved intent with its card posted (so it has a thread), as after the form."""
    services = bot.services
    view = make_intent(services.db, services.clock, title, channel=channel, saved=True)
    assert services.slack is not None
    bot.root.slack.intents.post_card(view)
    refreshed = IntentService(services.db, services.clock).get(view.intent.id or 0)
    assert refreshed is not None and refreshed.intent.thread_ts
    return refreshed


def told(bot: Bot, words: str) -> list[str]:
    """Every text the bot said (posted, ephemeral or through response_url) containing `words`."""
    texts = [
        str(c.params.get("text", ""))
        for c in bot.fake.calls
        if c.method in ("chat.postMessage", "chat.postEphemeral", "respond")
    ]
    return [t for t in texts if words in t]


def settle(bot: Bot) -> None:
    """Wait for after-ack work and for the outbox sends it kicked off (and their notices)."""

    for _ in range(3):
        bot.settle()
        assert bot.root.kicker.wait_idle(10), "outbox sends did not finish"
    bot.settle()


def stored_intent(db: Database, intent_id: int | None = None) -> Intent:
    """The intent row as stored: the one with `intent_id`, or the only one there is."""
    with db.session() as s:
        query = (
            select(Intent) if intent_id is None else select(Intent).where(Intent.id == intent_id)
        )
        return s.exec(query).one()
