"""/digest, its buttons, the setup form, the Friday check-in and App Home, driven over
signed HTTP against the real app and the fake Slack API, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from chatbot.digest.models import DigestPost
from chatbot.metrics.base import TeamScope
from chatbot.metrics.checkins import CheckIn
from chatbot.slack.blockkit import view_problems
from chatbot.teams.models import Team
from chatbot.teams.service import TeamError, TeamService, check_setting
from tests.conftest import Bot

# The fixtures' clock is Wednesday 18 Nov 2026: the last complete week is 2026-W46.
WEEK = "2026-W46"


def _team(bot: Bot, **fields: Any) -> Team:
    defaults: dict[str, Any] = {"tz": "Europe/Berlin", "orchestrators": ["UORCH"]}
    return TeamService(bot.services.db, bot.services.clock).add(
        "payments", "C1", **{**defaults, **fields}
    )


def _said(bot: Bot, count: int = 1) -> list[dict[str, Any]]:
    return [c.params for c in bot.fake.wait_for("respond", count=count)]


def _posts(bot: Bot, channel: str = "C1") -> list[Any]:
    return [c for c in bot.fake.of("chat.postMessage", ok=True) if c.params["channel"] == channel]


def _select(bot: Bot, action_id: str, value: str, user: str, ts: str = "5.0") -> None:
    """Picks `value` in the select `action_id` of a DM message the bot sent to `user`."""
    chosen = bot.slack.action(
        action_id,
        value,
        user=user,
        channel="D" + user,
        message_ts=ts,
        action_type="static_select",
        block_id=action_id,
    )
    assert chosen.status == 200
    bot.settle()


def test_no_team_says_how_to_set_one_up(bot: Bot) -> None:
    bot.slack.command("/digest", "", channel="C9")
    bot.settle()
    said = _said(bot)[0]["text"]
    assert "No team uses this channel" in said and "/digest setup" in said
    bot.slack.command("/digest", "help", channel="C9")
    bot.settle()
    assert "/digest post again" in _said(bot, 2)[-1]["text"]


def test_preview_is_ephemeral_and_posts_nothing(bot: Bot) -> None:
    _team(bot)
    bot.slack.command("/digest", "", user="U2")
    bot.settle()
    said = _said(bot)[0]
    assert said["response_type"] == "ephemeral"
    blocks = json.dumps(said["blocks"])
    assert f"Preview of {WEEK}" in blocks and "Weekly digest" in blocks
    assert _posts(bot) == []


def test_a_named_week_is_previewed_a_running_one_partial_a_future_one_refused(bot: Bot) -> None:
    _team(bot)
    bot.slack.command("/digest", "2099-W01", user="U2")
    bot.settle()
    said = _said(bot)[0]
    assert said["response_type"] == "ephemeral" and "blocks" not in said
    assert said["text"].startswith("2099-W01 has not started yet")
    assert f"try `/digest {WEEK}`" in said["text"] and len(said["text"].splitlines()) == 1
    # The fixtures' clock is inside 2026-W47: its figures are partial, and say so.
    bot.slack.command("/digest", "2026-W47", user="U2")
    bot.settle()
    blocks = json.dumps(_said(bot, 2)[-1]["blocks"])
    assert "Preview of 2026-W47" in blocks and "2026-W47 is not over yet" in blocks
    bot.slack.command("/digest", WEEK, user="U2")
    bot.settle()
    blocks = json.dumps(_said(bot, 3)[-1]["blocks"])
    assert f"Preview of {WEEK}" in blocks and "not over yet" not in blocks
    assert _posts(bot) == []


def test_post_is_for_orchestrators_and_admins(bot: Bot) -> None:
    _team(bot, admins=["UADMIN"])
    bot.slack.command("/digest", "post", user="U2")
    bot.settle()
    refused = _said(bot)[0]["text"]
    assert "Only the team's orchestrators and admins" in refused
    assert "<@UORCH>" in refused and "<@UADMIN>" in refused
    assert _posts(bot) == []

    bot.slack.command("/digest", "post", user="UADMIN")
    bot.settle()
    assert len(_posts(bot)) == 1 and "Posted the 2026-W46 digest" in _said(bot, 2)[-1]["text"]
    bot.slack.command("/digest", "post", user="UORCH")
    bot.settle()
    assert "already posted" in _said(bot, 3)[-1]["text"] and len(_posts(bot)) == 1
    bot.slack.command("/digest", "post again", user="UORCH")
    bot.settle()
    assert len(_posts(bot)) == 2
    with bot.services.db.session() as s:
        reasons = sorted(p.reason for p in s.exec(select(DigestPost)).all())
    assert reasons == ["again", "manual"]


def test_post_while_another_process_posts_says_since_when(bot: Bot) -> None:
    from chatbot.db.claims import claim_run
    from chatbot.digest.publish import slot_key

    team = _team(bot)
    assert team.id is not None
    assert claim_run(bot.services.db, bot.services.clock, slot_key(team.id, WEEK), "digest")
    bot.slack.command("/digest", "post", user="UORCH")
    bot.settle()
    said = _said(bot)[-1]["text"]
    since = f"{bot.services.clock.now():%H:%M} UTC"
    assert f"being posted right now (since {since})" in said and "already" not in said
    assert _posts(bot) == []


def test_setup_checks_roles_and_validates_inline(bot: Bot) -> None:
    _team(bot, admins=["UADMIN"])
    bot.slack.command("/digest", "setup", user="U2")
    bot.settle()
    assert "Only the team's orchestrators and admins" in _said(bot)[0]["text"]
    assert bot.fake.of("views.open") == []

    bot.slack.command("/digest", "setup", user="UADMIN")
    bot.settle()
    view = bot.fake.wait_for("views.open")[0].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "digest_setup"
    answer = bot.slack.view_submission(view, {"tz": "Mars/Olympus", "wip_limit": "0"}, "UADMIN")
    assert answer.content_type == "application/json;charset=utf-8"  # as Bolt writes it
    errors = answer.json()["errors"]
    assert "time zone" in errors["tz"] and "between 1 and 50" in errors["wip_limit"]
    assert bot.slack.view_submission(view, {"tz": "UTC"}, user="U2").json()["response_action"]

    # Slack sends the selects' initial choices back as chosen
    chosen = {"channel_id": "C1", "digest_weekday": "0", "checkin_weekday": "4"}
    ok = bot.slack.view_submission(
        view,
        {**chosen, "tz": "America/New_York", "wip_limit": "3", "status_overrides": "QA=done"},
        "UADMIN",
    )
    assert ok.status == 200 and not ok.body
    saved = TeamService(bot.services.db, bot.services.clock).get("payments")
    assert saved is not None and saved.tz == "America/New_York" and saved.wip_limit == 3
    assert saved.status_overrides == {"QA": "done"}
    again = bot.slack.view_submission(view, {**chosen, "status_overrides": ""}, "UADMIN")
    assert again.status == 200 and not again.body
    saved = TeamService(bot.services.db, bot.services.clock).get("payments")
    assert saved is not None and saved.status_overrides == {}


def test_setup_creates_a_team_for_a_new_channel(bot: Bot) -> None:
    bot.slack.command("/digest", "setup", user="UNEW", channel="C7")
    bot.settle()
    view = bot.fake.wait_for("views.open")[0].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    chosen = {"channel_id": "C7", "digest_weekday": "0", "checkin_weekday": "4"}
    bad = bot.slack.view_submission(view, {**chosen, "name": "no spaces please"}, "UNEW")
    assert "name" in bad.json()["errors"]
    bot.slack.view_submission(view, {**chosen, "name": "checkout"}, "UNEW")
    team = TeamService(bot.services.db, bot.services.clock).get("checkout")
    assert team is not None and team.channel_id == "C7" and team.admins == ["UNEW"]


def _setup_view(bot: Bot, user: str) -> dict[str, Any]:
    bot.slack.command("/digest", "setup", user=user)
    bot.settle()
    view = bot.fake.wait_for("views.open")[-1].params["view"]
    return json.loads(view) if isinstance(view, str) else view


def _initial(view: dict[str, Any], block_id: str) -> Any:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return block["element"].get("initial_value"), block["element"].get("multiline", False)


def test_setup_sets_ai_agents_markers_labels_and_goals(bot: Bot) -> None:
    """The AI settings and goals `chatbot team set` takes (--ai-agent, --ai-marker,
    --ai-label, --goal), in the form: shown as stored, refused with the CLI's own reasons on
    their fields (nothing saved), saved when right; a goal's line removed removes it."""
    _team(bot, admins=["UADMIN"], ai_agents=["robo-dev"], goals="cycle_time=-40%\nreview_time=8h")
    view = _setup_view(bot, "UADMIN")
    assert view_problems(view) == []
    assert _initial(view, "ai_agents") == ("robo-dev", False)
    assert _initial(view, "ai_markers") == (None, True)
    assert _initial(view, "ai_labels") == ("ai-assisted, ai-generated", False)
    assert _initial(view, "goals") == ("cycle_time=-40%\nreview_time=8h", True)

    chosen = {"channel_id": "C1", "digest_weekday": "0", "checkin_weekday": "4"}
    typed = {
        "ai_markers": "^ai-tool:\n(unclosed",
        "ai_labels": "ai-assisted, " + "x" * 101,
        "goals": "cycle_time=-40%\nreview_time=8",
    }
    refused = bot.slack.view_submission(view, {**chosen, **typed}, "UADMIN").json()
    assert refused["response_action"] == "errors"
    errors = refused["errors"]
    assert set(errors) == {"ai_markers", "ai_labels", "goals"}
    for field, value in typed.items():  # what `chatbot team set` says for the same value
        with pytest.raises(TeamError) as cli:
            check_setting(field, value)
        assert errors[field] == cli.value.text(bot.services.prompts)[:150]
    assert errors["ai_markers"].startswith("--ai-marker takes a regular expression")
    assert "'(unclosed'" in errors["ai_markers"]
    assert "review_time=8h" in errors["goals"]
    unchanged = TeamService(bot.services.db, bot.services.clock).get("payments")
    assert unchanged is not None and unchanged.ai_agents == ["robo-dev"]

    saved_ok = bot.slack.view_submission(
        view,
        {
            **chosen,
            "ai_agents": "Robo-Dev, helper-agent",
            "ai_markers": "^ai-tool:\n^Generated-by: Aider",
            "ai_labels": "ai-assisted, Agent Work",
            "goals": "review_time=6h\nchange_failure_rate=10%",
        },
        "UADMIN",
    )
    assert saved_ok.status == 200 and not saved_ok.body
    team = TeamService(bot.services.db, bot.services.clock).get("payments")
    assert team is not None
    assert team.ai_agents == ["robo-dev", "helper-agent"]
    assert team.ai_markers == ["^ai-tool:", "^Generated-by: Aider"]
    assert team.ai_labels == ["ai-assisted", "agent work"]
    # cycle_time's line was removed: that goal is gone; the others are as typed.
    assert team.goals == {
        "review_time": {"absolute": 6.0},
        "change_failure_rate": {"absolute": 0.1},
    }
    scope = TeamScope.of(team)
    assert scope.is_agent("helper-agent")
    assert scope.ai_rules.signals("ann", ["Agent Work"], "", ["Port\n\nGenerated-by: Aider"]) == [
        "marker",
        "label",
    ]

    # Shown again as saved; clearing the goals removes them all.
    view = _setup_view(bot, "UADMIN")
    assert _initial(view, "ai_markers") == ("^ai-tool:\n^Generated-by: Aider", True)
    assert _initial(view, "goals") == ("review_time=6h\nchange_failure_rate=10%", True)
    cleared = bot.slack.view_submission(view, {**chosen, "goals": ""}, "UADMIN")
    assert cleared.status == 200 and not cleared.body
    team = TeamService(bot.services.db, bot.services.clock).get("payments")
    assert team is not None and team.goals == {} and team.ai_agents == ["robo-dev", "helper-agent"]


def test_show_the_work_opens_a_paged_modal(bot: Bot) -> None:
    team = _team(bot)
    with bot.services.db.session() as s:
        for i in range(35):
            at = datetime(2026, 11, 13, 15, tzinfo=UTC)
            s.add(
                CheckIn(
                    team_id=team.id or 0,
                    user_id=f"U{i:03d}",
                    week=WEEK,
                    orchestration_share=0.4,
                    interrupt_share=0.3,
                    answered_at=at,
                    updated_at=at,
                )
            )
    value = json.dumps({"team": "payments", "week": WEEK, "metric": "orchestration"})
    bot.slack.action("digest_explain_orchestration", value)
    bot.settle()
    view = bot.fake.wait_for("views.open")[0].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "digest_explain" and "Page 1 of 2" in json.dumps(view)
    assert "U000" in json.dumps(view) and "U034" not in json.dumps(view)
    bot.slack.action("digest_explain_page", "2", view={**view, "id": "V9", "hash": "h1"})
    bot.settle()
    update = bot.fake.wait_for("views.update")[0].params
    second = json.loads(update["view"]) if isinstance(update["view"], str) else update["view"]
    assert update["view_id"] == "V9" and "U034" in json.dumps(second)
    assert json.loads(second["private_metadata"])["page"] == 2


def test_checkin_answer_change_and_late_answer(bot: Bot) -> None:
    team = _team(bot, senior_engineers=["USEN1", "USEN2", "USEN3"])
    checkins = bot.root.checkins
    # Friday 20 Nov 2026 15:00 Berlin = 14:00 UTC
    assert checkins.run_due(team, datetime(2026, 11, 20, 13, 59, tzinfo=UTC)) == 0
    assert checkins.run_due(team, datetime(2026, 11, 20, 14, 0, tzinfo=UTC)) == 3
    assert checkins.run_due(team, datetime(2026, 11, 20, 14, 30, tzinfo=UTC)) == 0
    dm = next(c for c in bot.fake.of("chat.postMessage") if c.params["channel"] == "USEN1")
    assert "checkin_orchestration" in json.dumps(dm.params["blocks"])

    week = "2026-W47"
    _select(bot, "checkin_orchestration", f"{team.id}|{week}|40", "USEN1")
    _select(bot, "checkin_interrupts", f"{team.id}|{week}|30", "USEN1")
    _select(bot, "checkin_orchestration", f"{team.id}|{week}|60", "USEN1")
    with bot.services.db.session() as s:
        rows = s.exec(select(CheckIn)).all()
    assert len(rows) == 1
    assert (rows[0].orchestration_share, rows[0].interrupt_share) == (0.6, 0.3)
    update = bot.fake.wait_for("chat.update", count=3)[-1].params
    assert "orchestration 60%, interrupts 30%" in update["text"]

    # A reminder goes (once) to the two who have not answered, two hours later.
    assert checkins.run_due(team, datetime(2026, 11, 20, 16, 0, tzinfo=UTC)) == 2
    assert checkins.run_due(team, datetime(2026, 11, 20, 16, 1, tzinfo=UTC)) == 0

    bot.services.clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    assert bot.root.digests.post_slot(team, week).status == "posted"
    _select(bot, "checkin_orchestration", f"{team.id}|{week}|90", "USEN1")
    late = bot.fake.wait_for("chat.postEphemeral")[-1].params["text"]
    assert "already posted" in late and "Friday" in late
    with bot.services.db.session() as s:
        assert s.exec(select(CheckIn)).one().orchestration_share == 0.6
    _select(bot, "checkin_orchestration", f"{team.id}|{week}|90", "UOTHER")
    assert "senior engineers" in bot.fake.wait_for("chat.postEphemeral", count=2)[-1].params["text"]


def test_app_home_shows_latest_digest_and_settings_opens_the_form(bot: Bot) -> None:
    team = _team(bot)

    assert bot.root.digests.post_slot(team, WEEK).status == "posted"
    bot.slack.event({"type": "app_home_opened", "user": "UORCH", "channel": "D1", "tab": "home"})
    bot.settle()
    home = json.dumps(bot.fake.wait_for("views.publish")[0].params["view"])
    assert "Latest digests" in home and "payments" in home and WEEK in home
    bot.slack.action("home_setup", "setup", user="UORCH")
    bot.settle()
    view = bot.fake.wait_for("views.open")[0].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "digest_setup"
    bot.slack.action("home_setup", "setup", user="UNOBODY")
    bot.settle()
    # Owed through the outbox: from App Home there is no channel, so the note is a DM.
    told = bot.fake.wait_for("chat.postMessage", lambda c: c.params["channel"] == "UNOBODY")
    assert "not an orchestrator or admin" in told[0].params["text"]
