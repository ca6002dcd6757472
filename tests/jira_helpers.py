"""Helpers shared by the Jira end-to-end tests."""

from __future__ import annotations

from chatbot.intent.service import IntentFields, IntentView
from chatbot.outbox.jobs import outbox_kicker
from chatbot.slack.intent_flow import intent_flow
from tests.conftest import Bot


def settle(bot: Bot) -> None:
    """Wait for after-ack work and for the sends it kicked off (and their notices)."""
    for _ in range(3):
        bot.settle()
        assert outbox_kicker(bot.services).wait_idle(10), "outbox sends did not finish"
    bot.settle()


def ready_intent(bot: Bot, channel: str = "C1", title: str = "Refunds in one click") -> IntentView:
    """A saved intent with its card posted (so it has a thread), as after the form."""
    flow = intent_flow(bot.services)
    view = flow.intents.create(
        IntentFields(
            title=title,
            outcome="Agents refund an order in one click (see PAY-42)",
            why="Refunds take 20 minutes",
            constraints=["p95 under 300 ms"],
            checks=[
                "When an agent clicks Refund, the money lands in 1 minute",
                "Without the refund role the API answers 403",
            ],
            out_of_scope="Partial refunds",
        ),
        channel,
        "U1",
    )
    view = flow.intents.save(view.intent.id or 0, "U1")
    assert bot.services.slack is not None
    flow.post_card(bot.services.slack, view)
    refreshed = flow.intents.get(view.intent.id or 0)
    assert refreshed is not None and refreshed.intent.thread_ts
    return refreshed


def told(bot: Bot, words: str) -> list[str]:
    texts = [
        str(c.params.get("text", ""))
        for c in bot.fake.calls
        if c.method in ("chat.postMessage", "chat.postEphemeral", "respond")
    ]
    return [t for t in texts if words in t]
