"""/context: search, an intent or ticket with its decisions, one decision, or the pack."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatbot.decisions.pack import PackScope, load_pack, render_pack, team_scope
from chatbot.decisions.search import terms
from chatbot.jira_keys import is_jira_key
from chatbot.services import Services
from chatbot.slack.agent_listeners import connect_from_command
from chatbot.slack.blocks.decision import intent_context, search_results
from chatbot.slack.decision_flow import DecisionFlow
from chatbot.slack.names import slack_names
from chatbot.slack.parts import SlackParts
from chatbot.teams.service import TeamService

log = logging.getLogger(__name__)
_INTENT = re.compile(r"^I-\d{1,9}$", re.IGNORECASE)
_DECISION = re.compile(r"^D-\d{1,9}$", re.IGNORECASE)


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    flow = parts.decisions

    @app.command("/context")
    def context_command(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        text = (body.get("text") or "").strip()
        channel, user = body["channel_id"], body["user_id"]
        word, _, rest = text.partition(" ")
        if not text or text.lower() in {"help", "?"}:
            respond(text=flow.msg("context_usage"), response_type="ephemeral")
        elif word.lower() == "connect":
            connect_from_command(parts, client, body, rest.strip(), respond)
        elif word.lower() == "pack":
            _pack(services, flow, client, channel, user, rest.strip() or None, respond)
        elif _DECISION.match(text):
            d = flow.decisions.find(text, viewer_channel=channel)
            if d is None:
                respond(text=flow.msg("not_found", ref=flow.echo(text)), response_type="ephemeral")
            else:
                flow.show(d, channel, user, respond)
        elif (_INTENT.match(text) or is_jira_key(text.upper())) and _linked(
            parts, flow, client, channel, user, text.upper(), respond
        ):
            return
        else:
            _search(flow, client, channel, user, text, respond)


def _linked(
    parts: SlackParts,
    flow: DecisionFlow,
    client: WebClient,
    channel: str,
    user: str,
    ref: str,
    respond: Respond,
) -> bool:
    """`/context PAY-12` or `/context I-3`; False when nothing is linked (search instead)."""
    view = parts.intents.intents.find(ref)
    if view is not None and view.intent.channel_is_private and view.intent.channel_id != channel:
        view = None  # an intent of a private channel stays there
    intent_ids = [view.intent.id] if view is not None and view.intent.id else []
    keys = [ref] if is_jira_key(ref) else []
    if view is not None and view.intent.jira_key:
        keys.append(view.intent.jira_key)
    decisions = flow.decisions.linked(channel, intent_ids=intent_ids, jira_keys=keys)
    if view is None and not decisions:
        if _INTENT.match(ref):
            respond(
                text=flow.msg("nothing_for_key", echo=flow.echo(ref)), response_type="ephemeral"
            )
            return True
        return False
    blocks = intent_context(flow.services.prompts, view, decisions, ref, flow.jira_url)
    flow.outbox.ephemeral(
        channel, user, flow.msg("results.ephemeral", ref=ref), blocks, respond=respond
    )
    return True


def _search(
    flow: DecisionFlow, client: WebClient, channel: str, user: str, query: str, respond: Respond
) -> None:
    if not terms(query):
        respond(text=flow.msg("no_words", echo=flow.echo(query)), response_type="ephemeral")
        return
    decisions = flow.search.decisions(query, viewer_channel=channel, limit=10)
    intents = flow.search.intents(query, viewer_channel=channel, limit=3)
    if not decisions and not intents:
        respond(text=flow.msg("no_results", echo=flow.echo(query)), response_type="ephemeral")
        return
    blocks = search_results(flow.services.prompts, query, decisions, intents, flow.jira_url)
    text = flow.msg("results.found", decisions=len(decisions), intents=len(intents))
    flow.outbox.ephemeral(channel, user, text, blocks, respond=respond)


def _pack(
    services: Services,
    flow: DecisionFlow,
    client: WebClient,
    channel: str,
    user: str,
    key: str | None,
    respond: Respond,
) -> None:
    """Upload the pack here. Private decisions of this conversation are in it (everyone who
    sees the file can see them anyway); those of any other private conversation never are."""
    names = slack_names(services.slack or client)
    if key:
        scope = PackScope(key.upper(), key=key.upper(), viewer_channel=channel)
    else:
        team = TeamService(services.db, services.clock).by_channel(channel)
        if team is not None:
            scope = team_scope(team, viewer_channel=channel)
        else:
            title = flow.msg("results.channel_scope", channel=names.channel(channel))
            scope = PackScope(title, channels=[channel], viewer_channel=channel)
    content = load_pack(services.db, scope)
    markdown = render_pack(content, names)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", scope.title).strip("-").lower() or "context"
    try:
        client.files_upload_v2(
            channel=channel,
            content=markdown,
            filename=f"context-pack-{slug}.md",
            title=flow.msg("results.pack_title", scope=scope.title),
            initial_comment=flow.msg(
                "pack_uploaded",
                scope=scope.title,
                intents=len(content.intents),
                decisions=len(content.decisions),
            ),
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error", "unknown_error"))
        log.warning("context pack upload to %s failed: %s", channel, error)
        flow.outbox.ephemeral(channel, user, flow.msg("pack_failed", error=error), respond=respond)
