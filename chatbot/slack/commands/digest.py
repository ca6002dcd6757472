"""/digest: preview last week's (or a named week's) digest (ephemeral), post it now, open the
team settings."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from chatbot.digest.publish import DigestPublisher, PostResult, PostStatus
from chatbot.metrics.engine import FutureWeek
from chatbot.metrics.week import Week, WeekError
from chatbot.services import Services
from chatbot.slack.blocks import context
from chatbot.slack.blocks.digest import digest_blocks, digest_fallback
from chatbot.slack.blocks.team_setup import setup_modal
from chatbot.slack.form_budget import read_for_form
from chatbot.slack.parts import SlackParts
from chatbot.slack.post import ephemeral
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService

log = logging.getLogger(__name__)
WEEK_WORD = re.compile(r"\d{4}-w\d{1,2}")  # the command's words are lower-cased


def can_manage(team: Team, user: str) -> bool:
    """Orchestrators and admins post and edit; a team with neither is open to set up."""
    return user in team.orchestrators or user in team.admins


def managers_text(services: Services, team: Team) -> str:
    people = list(dict.fromkeys([*team.orchestrators, *team.admins]))
    if not people:
        return services.prompts.text("digest.command.nobody_named")
    return ", ".join(f"<@{p}>" for p in people[:20])


def open_setup_from_home(parts: SlackParts, client: WebClient, body: dict[str, Any]) -> None:
    """App Home's Settings button: the form of the first team this person manages."""
    services = parts.services
    user = body["user"]["id"]
    teams = TeamService(services.db, services.clock)
    got = read_for_form(parts.forms, services.prompts, client, body, "App Home settings", teams.all)
    if got is None:
        return
    mine = [t for t in got.value or [] if can_manage(t, user)]
    if not mine:
        parts.outbox.ephemeral(user, user, services.prompts.text("digest.setup.home_no_team"))
        return
    open_setup(services, client, body["trigger_id"], mine[0], None)


def open_setup(
    services: Services, client: WebClient, trigger_id: str, team: Team | None, channel: str | None
) -> None:
    client.views_open(trigger_id=trigger_id, view=setup_modal(team, services.prompts, channel))


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    prompts = services.prompts
    teams = TeamService(services.db, services.clock)

    def say(respond: Respond, text: str) -> None:
        respond(text=text, response_type="ephemeral", replace_original=False)

    @app.command("/digest")
    def digest_command(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        words = (body.get("text") or "").strip().lower().split()
        channel, user = body["channel_id"], body["user_id"]
        sub = words[0] if words else ""
        week = sub.upper() if WEEK_WORD.fullmatch(sub) else None
        if sub in {"help", "?"} or (sub not in {"", "post", "setup"} and week is None):
            say(respond, prompts.text("digest.command.usage"))
            return
        if sub == "setup":
            got = read_for_form(
                parts.forms,
                prompts,
                client,
                body,
                "/digest setup",
                lambda: teams.by_channel(channel),
            )
            if got is None:
                return
            team = got.value
            guarded = team is not None and (team.orchestrators or team.admins)
            if guarded and team is not None and not can_manage(team, user):
                who = managers_text(services, team)
                action = prompts.text("digest.command.action_setup")
                say(respond, prompts.text("digest.command.not_allowed", action=action, who=who))
                return
            open_setup(services, client, body["trigger_id"], team, channel)
            return
        team = teams.by_channel(channel)
        if team is None:
            say(respond, prompts.text("digest.command.no_team", channel=channel))
            return
        if sub == "post":
            again = len(words) > 1 and words[1] == "again"
            _post(services, parts.digests, team, user, again, respond)
            return
        _preview(services, parts.digests, client, team, channel, user, respond, week)


def _preview(
    services: Services,
    publisher: DigestPublisher,
    client: WebClient,
    team: Team,
    channel: str,
    user: str,
    respond: Respond,
    week: str | None = None,
) -> None:
    prompts = services.prompts
    try:
        digest = publisher.compute(team, week)
    except FutureWeek as exc:
        text = prompts.text("digest.command.future_week", week=exc.week, latest=exc.latest)
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    except WeekError:
        text = prompts.text("digest.command.bad_week", week=week or "")
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    except Exception as exc:
        log.exception("digest preview for team %s failed", team.name)
        text = prompts.text("digest.command.engine_failed", error=type(exc).__name__)
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    note = prompts.text("digest.command.preview_note", week=digest.get("week", ""))
    blocks = [context(note), *digest_blocks(digest, prompts)]
    ephemeral(client, channel, user, digest_fallback(digest, prompts), blocks, respond=respond)


def post_result_text(services: Services, team: Team, result: PostResult) -> str:
    prompts = services.prompts
    if result.status == PostStatus.POSTED:
        return prompts.text("digest.command.posted", week=result.week, channel=team.channel_id)
    if result.status == PostStatus.BUSY:
        since = f"{result.since:%H:%M} UTC" if result.since else "a moment ago"
        return prompts.text(
            "digest.command.being_posted", week=result.week, since=since, channel=team.channel_id
        )
    if result.status == PostStatus.ALREADY:
        when = ""
        if result.post is not None and result.post.posted_at is not None:
            when = f" on {result.post.posted_at:%Y-%m-%d %H:%M} UTC"
        return prompts.text("digest.command.already_posted", week=result.week, when=when)
    advice = {
        "not_in_channel": prompts.text("messages.not_in_channel_short"),
        "channel_not_found": prompts.text("digest.command.advice_channel"),
    }.get(
        str(result.error).split(":")[0],
        prompts.text(
            "digest.command.advice_retry"
            if result.status == PostStatus.WAITING
            else "digest.command.advice_no_retry"
        ),
    )
    return prompts.text("digest.command.post_failed", error=result.error, advice=advice)


def _post(
    services: Services,
    publisher: DigestPublisher,
    team: Team,
    user: str,
    again: bool,
    respond: Respond,
) -> None:
    prompts = services.prompts
    if not can_manage(team, user):
        who = managers_text(services, team)
        text = prompts.text(
            "digest.command.not_allowed", action=prompts.text("digest.command.action_post"), who=who
        )
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    week = Week.last_complete(services.clock.now(), team.tz).label
    if again:
        result = publisher.post_again(team, week, user)
    else:
        result = publisher.post_slot(team, week, reason="manual", user=user)
    text = post_result_text(services, team, result)
    respond(text=text, response_type="ephemeral", replace_original=False)
