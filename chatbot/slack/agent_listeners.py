"""Agent tokens in Slack (App Home, `/context connect`), deactivated people, and the buttons on
what agents post: Accept a proposed decision, Verify a check an agent brought evidence for."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from chatbot.agents.tokens import TokenError, TokenService, token_ref
from chatbot.decisions.models import DecisionStatus
from chatbot.decisions.service import DecisionService, decision_ref
from chatbot.intent.service import IntentError, IntentService
from chatbot.services import Services
from chatbot.slack.blocks.agent import (
    accepted_card,
    connect_form,
    evidence_verified,
    token_made,
    token_made_view,
)
from chatbot.slack.ids import AgentId
from chatbot.slack.owed import Message
from chatbot.slack.parts import SlackParts
from chatbot.slack.payloads import where
from chatbot.slack.post import ephemeral
from chatbot.slack.text import escape

log = logging.getLogger(__name__)


def mcp_url(services: Services) -> str:
    base = services.settings.public_url or f"http://localhost:{services.settings.port}"
    return base.rstrip("/") + "/mcp"


def _tokens(services: Services) -> TokenService:
    return TokenService(services.db, services.clock)


def connect_from_command(
    services: Services, client: WebClient, channel: str, user: str, name: str, respond: Respond
) -> None:
    """`/context connect NAME`: the token and the configs, ephemeral, shown this once."""
    prompts = services.prompts
    if not name.strip():
        respond(text=prompts.text("agents.connect_usage"), response_type="ephemeral")
        return
    try:
        made = _tokens(services).create(user, name, services.settings.agent_token_days)
    except TokenError as exc:
        text = prompts.text(
            "agents.connect_failed", problem=exc.text(prompts), echo=escape(name[:200])
        )
        respond(text=text, response_type="ephemeral")
        return
    blocks = token_made(prompts, made.token, made.secret, mcp_url(services))
    text = prompts.text("agents.connect_title")
    _show_secret(client, getattr(respond, "response_url", None), channel, user, text, blocks)
    log.info("agent token %s made by %s", token_ref(made.token.id), user)


def _show_secret(
    client: WebClient,
    response_url: str | None,
    channel: str,
    user: str,
    text: str,
    blocks: list[dict[str, Any]],
) -> None:
    """Show a new token straight to Slack, never through the outbox: its rows keep what they
    sent, and the secret is stored nowhere but as its hash. When Slack does not take it, the
    token is unseen and unusable; the person makes another (the unused one expires)."""
    if response_url:
        try:
            answer = WebhookClient(response_url, timeout=10).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False
            )
            if answer.status_code == 200:
                return
        except Exception as exc:  # the response_url did not answer: try the Web API
            log.info("response_url for a new token failed: %s", type(exc).__name__)
    try:
        ephemeral(client, channel, user, text, blocks)
    except Exception as exc:  # Slack down: nothing is kept, so nothing leaks later either
        log.warning("could not show a new token to %s: %s", user, type(exc).__name__)


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    prompts = services.prompts
    outbox = parts.outbox

    @app.action(AgentId.CONNECT)
    def open_connect(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=connect_form(prompts))

    @app.view(AgentId.CONNECT_FORM)
    def connect(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        user = where(body).user
        values = (view.get("state") or {}).get("values") or {}
        name = str(((values.get("name") or {}).get("value") or {}).get("value") or "")
        try:
            made = _tokens(services).create(user, name, services.settings.agent_token_days)
        except TokenError as exc:
            ack(response_action="errors", errors={"name": exc.text(prompts)[:150]})
            return
        blocks = token_made(prompts, made.token, made.secret, mcp_url(services))
        ack(response_action="update", view=token_made_view(prompts, blocks))
        log.info("agent token %s made by %s", token_ref(made.token.id), user)
        parts.home.publish(user)

    @app.action(AgentId.REVOKE)
    def revoke(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user = where(body).user
        value = str(body["actions"][0].get("value") or "")
        if not value.isdigit():
            return
        try:
            token = _tokens(services).revoke(int(value), by_user=user)
        except TokenError as exc:
            outbox.ephemeral(user, user, exc.text(prompts))
            return
        log.info("agent token %s revoked by %s", token_ref(token.id), user)
        parts.home.publish(user)

    @app.event("user_change")
    def deactivated(event: dict[str, Any]) -> None:
        person = event.get("user") or {}
        if isinstance(person, dict) and person.get("deleted") and person.get("id"):
            count = _tokens(services).revoke_user(str(person["id"]))
            if count:
                log.info("revoked %s agent token(s) of a deactivated person", count)

    @app.action(AgentId.ACCEPT_DECISION)
    def accept(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        at = where(body)
        value = str(body["actions"][0].get("value") or "")
        decisions = DecisionService(services.db, services.clock)
        d = decisions.get(int(value)) if value.isdigit() else None
        if d is None or d.status != DecisionStatus.PROPOSED or d.channel_id != at.channel:
            ref = decision_ref(d.id) if d is not None else f"D-{value[:20]}"
            text = prompts.text("agents.not_yours_to_accept", ref=ref)
            outbox.ephemeral(at.channel or at.user, at.user, text)
            return
        d = decisions.edit(d.id or 0, at.user, status=DecisionStatus.ACCEPTED)
        blocks = accepted_card(prompts, d, at.user, services.settings.jira_url)
        ts = (body.get("message") or {}).get("ts") or d.card_ts
        # The card's update, owed under the card's key (a later refresh replaces it); with
        # no card to update, the accepted card is posted.
        key = f"slack-card:{at.channel}:{ts}" if ts else None
        outbox.say(Message(at.channel, d.title, blocks, update_ts=ts or None, key=key))
        log.info("%s accepted by %s", decision_ref(d.id), at.user)

    @app.action(AgentId.VERIFY_EVIDENCE)
    def verify(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        at = where(body)
        value = str(body["actions"][0].get("value") or "")
        if not value.isdigit():
            return
        intents = IntentService(services.db, services.clock)
        try:
            view = intents.verify_check(int(value), at.user)
        except IntentError as exc:  # the check was replaced or removed meanwhile
            outbox.ephemeral(at.channel or at.user, at.user, exc.text(prompts))
            return
        number = next((n for n, c in enumerate(view.checks, 1) if c.id == int(value)), 0)
        message = body.get("message") or {}
        first = (message.get("blocks") or [{}])[0]
        shown = str((first.get("text") or {}).get("text") or message.get("text") or "")
        blocks = evidence_verified(prompts, shown, number, at.user)
        text = prompts.text("agents.evidence_verified", number=number, user=at.user)
        if message.get("ts"):
            outbox.say(Message(at.channel, text, blocks, update_ts=str(message["ts"])))
        log.info("check %s of %s verified by %s", number, view.ref, at.user)
