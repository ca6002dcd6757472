"""Steps shared by the intent tests: start a guided conversation, answer in its thread."""

from __future__ import annotations

from tests.conftest import Bot


def start_guided(bot: Bot, title: str = "Checkout redesign", channel: str = "C1") -> str:
    """Run `/intent <title>` and return the thread's root ts."""
    assert bot.slack.command("/intent", title, channel=channel).status == 200
    bot.settle()
    call = bot.fake.wait_for(
        "chat.postMessage", lambda c: c.ok and "Drafting intent" in c.params.get("text", "")
    )[0]
    return call.response["ts"]


def reply(bot: Bot, root: str, text: str, user: str = "U2", **kw: object) -> None:
    assert bot.slack.thread_reply("C1", root, text, user=user, **kw).status == 200
    bot.settle()
