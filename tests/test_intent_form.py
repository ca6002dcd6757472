"""The intent form: inline errors, create, edit from the card, and over-long fields kept."""

from __future__ import annotations

from sqlmodel import select

from chatbot.intent.models import Intent, IntentRevision
from tests.conftest import Bot


def _open_form(bot: Bot) -> dict:
    assert bot.slack.command("/intent", "").status == 200
    bot.settle()
    return bot.fake.wait_for("views.open")[-1].params["view"]


def _submit_refunds(bot: Bot) -> None:
    values = {
        "title": "Refunds",
        "outcome": "Agents refund in 1 click",
        "checks": "When an agent clicks Refund, then the order shows Refunded",
    }
    bot.slack.view_submission(_open_form(bot), values)
    bot.settle()


def test_missing_outcome_and_checks_come_back_as_field_errors(bot: Bot) -> None:
    view = _open_form(bot)
    resp = bot.slack.view_submission(
        view, {"title": "Faster search", "outcome": "", "checks": "  \n"}
    )
    assert resp.status == 200
    answer = resp.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"outcome", "checks"}
    bot.settle()
    with bot.services.db.session() as s:
        assert s.exec(select(Intent)).all() == []


def test_form_creates_intent_and_posts_card_with_coach_notes(bot: Bot) -> None:
    view = _open_form(bot)
    resp = bot.slack.view_submission(
        view,
        {
            "title": "Faster search",
            "outcome": "Search should be fast",
            "checks": "Search works\nWhen a shopper searches, then results appear within 300 ms",
            "constraints": "p95 latency under 300 ms",
            "why": "",
            "out_of_scope": "",
        },
    )
    assert resp.status == 200 and not resp.body.strip(b"{}")
    bot.settle()
    card = bot.fake.wait_for("chat.postMessage", lambda c: bool(c.params.get("blocks")))[0]
    text = str(card.params["blocks"])
    assert "Coach" in text and "“fast” has no number" in text and "Check 1 cannot fail" in text
    with bot.services.db.session() as s:
        intent = s.exec(select(Intent)).one()
        assert intent.card_ts == card.response["ts"] and intent.channel_id == "C1"
        assert intent.constraints == ["p95 latency under 300 ms"]


def test_edit_in_form_updates_card_and_records_revision(bot: Bot) -> None:
    _submit_refunds(bot)
    with bot.services.db.session() as s:
        intent = s.exec(select(Intent)).one()
    bot.slack.action("intent_edit", str(intent.id))
    bot.settle()
    edit_view = bot.fake.wait_for("views.open", count=2)[-1].params["view"]
    assert "Agents refund in 1 click" in str(edit_view)
    bot.slack.view_submission(edit_view, {"outcome": "Agents refund in 1 click within 5 seconds"})
    bot.settle()
    update = bot.fake.wait_for("chat.update")[-1]
    assert update.params["ts"] == intent.card_ts and "within 5 seconds" in str(
        update.params["blocks"]
    )
    with bot.services.db.session() as s:
        revisions = s.exec(
            select(IntentRevision).where(IntentRevision.intent_id == intent.id)
        ).all()
        assert [r.number for r in revisions] == [1, 2]
        assert revisions[-1].snapshot["outcome"] == "Agents refund in 1 click within 5 seconds"


def test_overlong_field_is_shown_not_editable_and_kept(bot: Bot) -> None:
    from chatbot.intent.service import IntentFields, IntentService

    service = IntentService(bot.services.db, bot.services.clock)
    long_outcome = "a" * 5000
    view = service.create(
        IntentFields(title="Long", outcome=long_outcome, checks=["When x, then y is shown"]),
        "C1",
        "U1",
    )
    bot.slack.action("intent_edit", str(view.intent.id))
    bot.settle()
    form = bot.fake.wait_for("views.open")[-1].params["view"]
    assert "5,000 characters" in str(form)
    assert not any(b.get("block_id") == "outcome" for b in form["blocks"])
    bot.slack.view_submission(form, {"why": "Because"})
    bot.settle()
    assert service.get(view.intent.id).intent.outcome == long_outcome
    assert service.get(view.intent.id).intent.why == "Because"


def test_save_verify_list_and_show(bot: Bot) -> None:
    _submit_refunds(bot)
    with bot.services.db.session() as s:
        intent = s.exec(select(Intent)).one()
    bot.slack.action("intent_save", str(intent.id))
    bot.settle()
    assert "Saved I-1" in str(bot.fake.wait_for("chat.postEphemeral")[-1].params["text"])
    from chatbot.intent.service import IntentService

    service = IntentService(bot.services.db, bot.services.clock)
    check = service.get(intent.id).checks[0]
    bot.slack.action("intent_verify_check", str(check.id), user="U7")
    bot.settle()
    assert service.get(intent.id).checks[0].verified_by == "U7"
    assert "verified by <@U7>" in str(bot.fake.of("chat.update")[-1].params["blocks"])
    bot.slack.command("/intent", "list")
    bot.settle()
    listing = bot.fake.wait_for("respond")[-1]
    assert "I-1" in str(listing.params["blocks"]) and "1/1 checks verified" in str(
        listing.params["blocks"]
    )
    bot.slack.command("/intent", "show I-1")
    bot.settle()
    shown = bot.fake.wait_for("respond", count=2)[-1]
    assert "Refunds" in str(shown.params["blocks"])
    bot.slack.command("/intent", "show I-99")
    bot.settle()
    assert "No intent `I-99`" in bot.fake.wait_for("respond", count=3)[-1].params["text"]


def test_jira_buttons_say_jira_is_not_configured(bot: Bot) -> None:
    _submit_refunds(bot)
    bot.slack.action("intent_jira_create", "1")
    bot.settle()
    assert "Jira is not configured" in bot.fake.wait_for("chat.postEphemeral")[-1].params["text"]


def test_expired_trigger_tells_the_user_to_try_again(bot: Bot) -> None:
    bot.fake.fail_next("views.open", "expired_trigger_id")
    assert bot.slack.command("/intent", "").status == 200
    bot.settle()
    told = bot.fake.wait_for("respond")[-1]
    assert "could not open the form" in told.params["text"]
    assert told.params["response_type"] == "ephemeral"
