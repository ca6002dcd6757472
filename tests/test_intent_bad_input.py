"""Bad input in the guided conversation: each gets a clear message and nothing typed is lost."""

from __future__ import annotations

import threading

from sqlmodel import select

from chatbot.clock import FrozenClock
from chatbot.intent.models import AcceptanceCheck, IntentStatus
from chatbot.slack.blockkit import MESSAGE_MAX_BLOCKS, SECTION_TEXT_MAX
from tests.conftest import Bot
from tests.factories import reply as _reply
from tests.factories import start_guided as _start
from tests.factories import stored_intent


def _last_card(bot: Bot) -> list[dict]:
    return [c for c in bot.fake.of("chat.postMessage", ok=True) if c.params.get("blocks")][
        -1
    ].params["blocks"]


def test_ten_thousand_character_answer_is_kept_whole_and_card_fits(bot: Bot) -> None:
    root = _start(bot)
    long_answer = ("Customers can pay with saved cards without retyping. " * 200)[:10_000]
    _reply(bot, root, long_answer)
    assert stored_intent(bot.services.db).outcome == long_answer.strip()
    assert "That answer is 10,000 characters" in bot.fake.of("chat.postMessage")[-1].params["text"]
    for word in ["skip"] * 5:
        _reply(bot, root, word)
    blocks = _last_card(bot)
    assert all(len(b.get("text", {}).get("text", "")) <= SECTION_TEXT_MAX for b in blocks)
    assert "shortened here, kept in full" in str(blocks)


def test_sixty_checks_fold_into_a_card_within_limits(bot: Bot) -> None:
    root = _start(bot)
    _reply(bot, root, "Shoppers can check out in 3 steps")
    _reply(bot, root, "skip")
    _reply(bot, root, "skip")
    checks = "\n".join(
        f"When a shopper submits step {i}, then the page shows step {i + 1}" for i in range(60)
    )
    _reply(bot, root, checks)
    _reply(bot, root, "skip")
    _reply(bot, root, "skip")
    with bot.services.db.session() as s:
        assert len(s.exec(select(AcceptanceCheck)).all()) == 60
    blocks = _last_card(bot)
    assert len(blocks) <= MESSAGE_MAX_BLOCKS
    assert "intent_all_checks" in str(blocks) and "45 more checks" in str(blocks)
    # The "All checks" modal pages through all sixty.
    intent_id = str(stored_intent(bot.services.db).id)
    bot.slack.action("intent_all_checks", intent_id)
    bot.settle()
    view = bot.fake.wait_for("views.open")[0].params["view"]
    assert "checks 1–30 of 60" in str(view)
    bot.slack.action("intent_checks_page", f"{intent_id}:1", view={**view, "id": "V9"})
    bot.settle()
    page2 = bot.fake.wait_for("views.update")[0].params["view"]
    assert "checks 31–60 of 60" in str(page2)


def test_mentions_and_ampersands_are_escaped_never_ping(bot: Bot) -> None:
    root = _start(bot, title="Fix <!channel> & <@U999> bug")
    root_text = bot.fake.of("chat.postMessage")[0].params["text"]
    assert (
        "<!channel>" not in root_text and "&lt;!channel&gt;" in root_text and "&amp;" in root_text
    )
    _reply(bot, root, "Ops sees <!here> alerts & <@U123> gets paged within 5 minutes")
    for word in ["skip"] * 5:
        _reply(bot, root, word)
    # plain_text is never parsed for mentions; every mrkdwn text must be escaped.
    sent = " ".join(_mrkdwn_texts(_last_card(bot)))
    assert "<!here>" not in sent and "<@U123>" not in sent and "<!channel>" not in sent
    assert "&lt;!here&gt;" in sent


def _mrkdwn_texts(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "mrkdwn" else []
        return found + [t for v in node.values() for t in _mrkdwn_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _mrkdwn_texts(v)]
    return []


def test_emoji_and_right_to_left_text_round_trip(bot: Bot) -> None:
    title = "🚀 إطلاق الدفع السريع"
    root = _start(bot, title=title)
    _reply(bot, root, "המשתמש רואה אישור תוך 2 שניות ✅")
    assert stored_intent(bot.services.db).title == title
    assert stored_intent(bot.services.db).outcome == "המשתמש רואה אישור תוך 2 שניות ✅"


def test_cancel_midway_keeps_what_was_typed(bot: Bot) -> None:
    root = _start(bot)
    _reply(bot, root, "Shoppers can check out in 3 steps")
    _reply(bot, root, "cancel")
    intent = stored_intent(bot.services.db)
    assert intent.status == IntentStatus.CANCELLED
    assert intent.outcome == "Shoppers can check out in 3 steps"
    assert "Cancelled" in bot.fake.of("chat.postMessage")[-1].params["text"]
    # Later replies in the thread are ignored.
    before = len(bot.fake.calls)
    _reply(bot, root, "more text")
    assert len(bot.fake.calls) == before


def test_back_and_skip(bot: Bot) -> None:
    root = _start(bot)
    _reply(bot, root, "first outcome")
    _reply(bot, root, "back")
    assert "Outcome" in bot.fake.of("chat.postMessage")[-1].params["text"]
    _reply(bot, root, "second outcome")
    _reply(bot, root, "skip")
    assert "Skipped" in bot.fake.of("chat.postMessage")[-1].params["text"]
    assert (
        stored_intent(bot.services.db).outcome == "second outcome"
        and stored_intent(bot.services.db).why == ""
    )


def test_two_people_answering_at_once_lose_nothing(bot: Bot) -> None:
    root = _start(bot)
    question_ts = bot.fake.of("chat.postMessage")[-1].response["ts"]
    # Both wrote their answer to the outcome question before the next question was posted.
    sec, micro = (int(x) for x in question_ts.split("."))
    base = sec * 1_000_000 + micro

    def ts(micros: int) -> str:
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    answers = [
        ("U2", ts(base + 1), "Shoppers pay in one step"),
        ("U3", ts(base + 2), "Returning shoppers skip the address form"),
    ]
    threads = [
        threading.Thread(
            target=bot.slack.thread_reply, args=("C1", root, text), kwargs={"user": user, "ts": ts}
        )
        for user, ts, text in answers
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bot.settle()
    outcome = stored_intent(bot.services.db).outcome
    assert "Shoppers pay in one step" in outcome or "Returning shoppers" in outcome
    combined = outcome + stored_intent(bot.services.db).why
    assert (
        "Shoppers pay in one step" in combined
        and "Returning shoppers skip the address form" in combined
    )
    # Only one "why now" question was asked.
    asks = [c for c in bot.fake.of("chat.postMessage") if "2/6" in c.params.get("text", "")]
    assert len(asks) == 1


def test_bot_not_in_channel_gets_an_ephemeral_hint_with_the_text(bot: Bot) -> None:
    bot.fake.not_member.add("C404")
    resp = bot.slack.command("/intent", "Nobody invited me", channel="C404")
    assert resp.status == 200
    bot.settle()
    hint = bot.fake.wait_for("respond", lambda c: "/invite" in c.params.get("text", ""))[0]
    assert "Nobody invited me" in hint.params["text"]
    assert hint.params.get("response_type") == "ephemeral"


def test_same_event_delivered_three_times_has_one_effect(bot: Bot) -> None:
    root = _start(bot)
    for retry in (None, 1, 2):
        bot.slack.thread_reply(
            "C1",
            root,
            "Shoppers pay in one step",
            ts="1800000000.000100",
            event_id="EvSAME",
            retry=retry,
        )
    bot.settle()
    asks = [c for c in bot.fake.of("chat.postMessage") if "2/6" in c.params.get("text", "")]
    assert len(asks) == 1
    assert stored_intent(bot.services.db).outcome == "Shoppers pay in one step"


def test_ratelimited_slack_is_retried_after_retry_after(bot: Bot, clock: FrozenClock) -> None:
    """Slack says "wait 30 s": the root waits in the outbox exactly that long (no thread
    sleeps), then is posted once, and the conversation goes on in its thread."""
    bot.fake.fail_next("chat.postMessage", "ratelimited", times=1, retry_after=30)
    assert bot.slack.command("/intent", "Checkout redesign").status == 200
    bot.settle()

    def roots() -> list[bool]:
        return [c.ok for c in bot.fake.of("chat.postMessage") if "Drafting" in c.params["text"]]

    assert roots() == [False] and clock.slept == []
    clock.advance(seconds=29)
    assert bot.root.outbox.run_due() == 0  # not before Slack said
    clock.advance(seconds=1)
    assert bot.root.outbox.run_due() == 1
    assert roots() == [False, True]
    root_ts = bot.fake.of("chat.postMessage", ok=True)[0].response["ts"]
    asked = bot.fake.of("chat.postMessage", ok=True)[1]
    assert asked.params["thread_ts"] == root_ts and "1/6" in asked.params["text"]


def test_overlong_title_is_refused_with_the_text_echoed(bot: Bot) -> None:
    title = "x" * 250
    bot.slack.command("/intent", title)
    bot.settle()
    hint = bot.fake.wait_for("respond")[0]
    assert "at most 200" in hint.params["text"] and "xxxxx" in hint.params["text"]
