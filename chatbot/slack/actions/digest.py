"""Digest buttons: "Show the work" (a paged modal), the check-in selects, App Home's
Settings button and its latest-digest section."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from chatbot.services import Services
from chatbot.slack.blocks import section
from chatbot.slack.blocks.checkin import checkin_blocks
from chatbot.slack.blocks.digest import explain_modal
from chatbot.slack.form_budget import read_for_form
from chatbot.slack.ids import DigestId
from chatbot.slack.owed import Message
from chatbot.slack.parts import SlackParts
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService

log = logging.getLogger(__name__)
_EXPLAIN = re.compile(rf"^{DigestId.EXPLAIN}(?!page$)\w+$")


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    prompts = services.prompts
    teams = TeamService(services.db, services.clock)
    checkins = parts.checkins

    def explain_view(team_name: str, week: str, metric: str, page: int) -> dict[str, Any]:
        team = teams.get(team_name)
        if team is None:
            return explain_modal([], prompts, team_name, week, metric, page) | {
                "blocks": [section(prompts.text("digest.explain.gone"))]
            }
        items = parts.digests.explain(team, week, metric)
        return explain_modal(items, prompts, team_name, week, metric, page)

    @app.action(_EXPLAIN)
    def show_work(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        ref = _json(body["actions"][0].get("value"))
        # Gathered within the form budget: the modal opens with this click's 3 s trigger_id.
        got = read_for_form(
            parts.forms,
            prompts,
            client,
            body,
            f"action {DigestId.EXPLAIN}",
            lambda: explain_view(
                str(ref.get("team")), str(ref.get("week")), str(ref.get("metric")), 1
            ),
            told="messages.view_too_slow",
        )
        if got is not None and got.value is not None:
            client.views_open(trigger_id=body["trigger_id"], view=got.value)

    @app.action(DigestId.EXPLAIN_PAGE)
    def explain_page(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        meta = _json(body["view"].get("private_metadata"))
        value = str(body["actions"][0].get("value") or "1")
        page = int(value) if value.isdigit() else 1
        view = explain_view(
            str(meta.get("team")), str(meta.get("week")), str(meta.get("metric")), page
        )
        client.views_update(view_id=body["view"]["id"], hash=body["view"].get("hash"), view=view)

    def on_share(share: str):
        def handler(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()
            user = body["user"]["id"]
            value = (body["actions"][0].get("selected_option") or {}).get("value", "")
            try:
                team_id, week, pct = str(value).split("|")
                share_value = int(pct) / 100
                team = _team_by_id(services, int(team_id))
            except ValueError:  # not a value the check-in message sent: nothing to save
                log.info("check-in answer with a malformed value ignored")
                return
            answer = checkins.answer(team, week, user, share, share_value)
            container = body.get("container") or {}
            channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or user
            if answer.status == "late" and team is not None:
                parts.outbox.ephemeral(channel, user, checkins.late_text(team, week))
                return
            if answer.status != "saved" or team is None:
                name = (
                    team.name if team is not None else prompts.text("digest.checkin.unknown_team")
                )
                parts.outbox.ephemeral(
                    channel, user, prompts.text("digest.checkin.not_senior", team=name)
                )
                return
            row = answer.checkin
            assert row is not None
            note = prompts.text(
                "digest.checkin.saved",
                orchestration=_pct(row.orchestration_share, prompts),
                interrupts=_pct(row.interrupt_share, prompts),
            )
            blocks = checkin_blocks(
                team.name,
                int(team_id),
                week,
                prompts,
                row.orchestration_share,
                row.interrupt_share,
                note=note,
            )
            message_ts = container.get("message_ts")
            if message_ts:  # the answer is saved; the message shows it when Slack takes it
                parts.outbox.say(Message(channel, note, blocks, update_ts=str(message_ts)))

        return handler

    app.action(DigestId.CHECKIN_ORCHESTRATION)(on_share("orchestration"))
    app.action(DigestId.CHECKIN_INTERRUPTS)(on_share("interrupts"))


def _json(text: Any) -> dict[str, Any]:
    """A button value or private_metadata we wrote; anything else reads as empty."""
    try:
        found = json.loads(str(text or "{}"))
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _team_by_id(services: Services, team_id: int) -> Team | None:
    with services.db.session() as s:
        return s.get(Team, team_id)


def _pct(value: float | None, prompts: Any) -> str:
    if value is None:
        return prompts.text("digest.checkin.not_answered")
    return f"{value * 100:.0f}%"
