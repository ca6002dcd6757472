"""App Home and @mentions."""

from __future__ import annotations

from chatbot.intent.service import IntentFields, IntentService
from tests.conftest import Bot


def test_app_home_lists_my_open_intents_and_unverified_checks(bot: Bot) -> None:
    service = IntentService(bot.services.db, bot.services.clock)
    service.create(
        IntentFields(title="Refunds", outcome="o 1", checks=["When A, then B is shown"]), "C1", "U5"
    )
    bot.slack.event({"type": "app_home_opened", "user": "U5", "channel": "D1", "tab": "home"})
    bot.settle()
    view = bot.fake.wait_for("views.publish")[0].params["view"]
    assert view["type"] == "home"
    assert (
        "Refunds" in str(view) and "intent_verify_check" in str(view) and "home_setup" in str(view)
    )


def test_mention_help_and_mention_intent(bot: Bot) -> None:
    bot.slack.event(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "text": "<@UBOT0001> help",
            "ts": "1800000000.000001",
        }
    )
    bot.settle()
    assert "/intent" in bot.fake.wait_for("chat.postMessage")[0].params["text"]
    bot.slack.event(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "text": "<@UBOT0001> intent Faster refunds",
            "ts": "1800000000.000002",
        }
    )
    bot.settle()
    root = bot.fake.wait_for("chat.postMessage", lambda c: "Drafting intent" in c.params["text"])[0]
    assert "Faster refunds" in root.params["text"]
