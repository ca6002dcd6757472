"""/digest setup's submission: validated by the same TeamService as `chatbot team set`;
a bad value comes back as an inline error on its field, and nothing is saved."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from chatbot.db.outage import is_outage, outage_reason
from chatbot.prompts import Prompts
from chatbot.slack.blocks.team_setup import setup_values
from chatbot.slack.commands.digest import can_manage
from chatbot.slack.failures import failure_text, log_failure, quoted, tell_directly, typed_text
from chatbot.slack.form_budget import Ended, Outcome, errors_on_form, log_unanswered, notice_view
from chatbot.slack.ids import DigestId
from chatbot.slack.owed import Message
from chatbot.slack.parts import SlackParts
from chatbot.slack.text import escape
from chatbot.teams.models import Team
from chatbot.teams.service import TeamError, TeamService, check_setting

log = logging.getLogger(__name__)


def _field_of(message: str, fields: list[str]) -> str:
    """Which input a TeamService error is about (its messages name the setting)."""
    lowered = message.lower().replace("-", "_")
    for field in sorted(fields, key=len, reverse=True):
        if field in lowered or field.rstrip("s") in lowered:
            return field
    if "channel" in lowered and "channel_id" in fields:
        return "channel_id"
    if "time zone" in lowered and "tz" in fields:
        return "tz"
    return fields[0]


def _field_errors(changes: dict[str, Any], prompts: Prompts) -> dict[str, str]:
    """Each field checked alone, so every bad one is reported at once."""
    errors: dict[str, str] = {}
    for field, value in changes.items():
        if field == "status_overrides" or value in ("", None, []):
            continue
        try:
            check_setting(field, value)
        except TeamError as exc:
            errors[field] = exc.text(prompts)[:150]
    return errors


def _overrides(current: dict[str, str], text: str) -> list[str]:
    """The form shows every override, one per line; a line removed removes that override."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    kept = {line.partition("=")[0].strip().casefold() for line in lines}
    removed = [f"{name}=" for name in current if name.casefold() not in kept]
    return lines + removed


def _goals(current: dict[str, Any], text: str) -> list[str]:
    """The form shows every goal, one per line; a line removed removes that goal."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    kept = {line.partition("=")[0].strip().lower() for line in lines}
    return lines + [f"{metric}=" for metric in current if metric not in kept]


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    teams = TeamService(services.db, services.clock)
    prompts = services.prompts

    @app.view(DigestId.SETUP)
    def submit(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        changes = setup_values(view["state"]["values"])
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        name = meta.get("team") if isinstance(meta, dict) else None
        new_name = str(changes.pop("name", "") or "").strip()
        errors = _field_errors(changes, prompts)
        if name is None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}", new_name):
            errors["name"] = prompts.text("digest.setup.bad_name")
        if errors:
            ack(response_action="errors", errors=errors)
            return

        # Everything below reads or writes the database, within the form budget: the answer
        # to this submission (errors or closing) is due within Slack's 3 s.
        def save() -> Team | dict[str, str]:
            return _save(teams, prompts, user, name, new_name, changes)

        def later(outcome: Outcome[Team | dict[str, str]]) -> None:
            _report_late(parts, client, body, user, outcome)

        got = parts.forms.run(save, later)
        if got.ended == Ended.LATE:
            # Its one warning comes with its outcome (`_report_late`).
            log.info("view digest_setup: still saving after the budget; the form says so")
            ack(
                response_action="update",
                view=notice_view(
                    view,
                    prompts.text("messages.form_saving_late"),
                    prompts.text("messages.form_close"),
                ),
            )
            return
        if got.error is not None and not got.outage:
            raise got.error  # a bug: the error handler logs its traceback
        if got.ended != Ended.DONE:  # refused at once, or every form thread is waiting on it
            log_unanswered("view digest_setup", got)
            ack(
                response_action="errors",
                errors=errors_on_form(view, prompts.text("messages.form_not_saved")),
            )
            return
        if isinstance(got.value, dict):
            ack(response_action="errors", errors=got.value)
            return
        ack()
        saved = got.value
        assert saved is not None
        log.info("team %s settings saved from Slack by %s", saved.name, user)
        text = services.prompts.text("digest.command.setup_saved", team=escape(saved.name))
        parts.outbox.say(Message(user, text))


def _save(
    teams: TeamService,
    prompts: Prompts,
    user: str,
    name: str | None,
    new_name: str,
    changes: dict[str, Any],
) -> Team | dict[str, str]:
    """The team saved, or the form's errors (a field each) when it cannot be."""
    team = teams.get(name) if name else None
    if name and team is None:
        return {"channel_id": prompts.text("digest.setup.team_gone", team=name)}
    if team is not None and (team.orchestrators or team.admins) and not can_manage(team, user):
        return {"channel_id": prompts.text("digest.setup.not_allowed")}
    if "status_overrides" in changes:
        current = team.status_overrides if team is not None else {}
        changes["status_overrides"] = _overrides(current, changes["status_overrides"])
        if not changes["status_overrides"]:
            del changes["status_overrides"]
    if "goals" in changes:
        changes["goals"] = _goals(team.goals if team is not None else {}, changes["goals"])
        if not changes["goals"]:
            del changes["goals"]
    if team is None and not changes.get("admins") and not changes.get("orchestrators"):
        changes["admins"] = [user]  # whoever creates a team can edit it later
    try:
        if team is None:
            channel = str(changes.pop("channel_id", "") or "")
            return teams.add(new_name, channel, **changes)
        return teams.update(str(name), **changes)
    except TeamError as exc:
        reason = exc.text(prompts)
        field = "name" if name is None else _field_of(reason, list(changes) or ["channel_id"])
        return {field: reason[:150]}


def _report_late(
    parts: SlackParts,
    client: WebClient,
    body: dict[str, Any],
    user: str,
    outcome: Outcome[Team | dict[str, str]],
) -> None:
    """The form was closed before the save ended: its outcome, by DM. Saved: through the
    outbox (the database answers again); not saved: straight to Slack, with what was typed."""
    prompts = parts.services.prompts
    saved = outcome.value
    if isinstance(saved, Team):
        log.info("team %s settings saved from Slack by %s (late)", saved.name, user)
        text = prompts.text("digest.command.setup_saved", team=escape(saved.name))
        try:
            parts.outbox.post(user, text)
        except Exception as exc:  # the database went away again: say it straight
            log.info("saved settings confirmed without the outbox (%s)", type(exc).__name__)
            tell_directly(client, {"user": {"id": user}}, text)
        return
    if isinstance(saved, dict):
        problem = " ".join(saved.values())
        text = prompts.text(
            "digest.setup.not_saved_late", problem=escape(problem), echo=quoted(typed_text(body))
        )
    else:
        error = outcome.error or RuntimeError("no outcome")
        if is_outage(error):
            log.warning(
                "view digest_setup: the database gave up after the form closed (%s); "
                "the person was told",
                outage_reason(error),
            )
        else:
            log_failure(error, body)
        text = failure_text(prompts, error, body)
    tell_directly(client, {"user": {"id": user}}, text)
