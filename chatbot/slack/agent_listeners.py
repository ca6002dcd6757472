"""Agent tokens in Slack (App Home, `/context connect`), deactivated people, and the buttons on
what agents post: Accept a proposed decision, Verify a check an agent brought evidence for."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatbot.agents.tokens import NewToken, TokenError, TokenService, token_ref
from chatbot.db.outage import is_outage, outage_reason
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
from chatbot.slack.failures import failure_text, log_failure, tell_directly
from chatbot.slack.form_budget import Ended, Outcome, log_unanswered, notice_view
from chatbot.slack.ids import AgentId
from chatbot.slack.parts import SlackParts
from chatbot.slack.payloads import where
from chatbot.slack.post import ephemeral, post
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
    ephemeral(client, channel, user, text, blocks, respond=respond)
    log.info("agent token %s made by %s", token_ref(made.token.id), user)


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    prompts = services.prompts

    def republish_home(client: WebClient, user: str) -> None:
        parts.home.publish(client, user)

    @app.action(AgentId.CONNECT)
    def open_connect(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=connect_form(prompts))

    @app.view(AgentId.CONNECT_FORM)
    def connect(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        user = where(body).user
        values = (view.get("state") or {}).get("values") or {}
        name = str(((values.get("name") or {}).get("value") or {}).get("value") or "")
        days = services.settings.agent_token_days

        # The token is made within the form budget (the answer is due in 3 s) and shown only
        # once it is stored: in this answer, or, when the database was slow, in the same
        # modal afterwards (`_show_late`).
        def later(outcome: Outcome[NewToken]) -> None:
            _show_late(parts, client, body, str(view.get("id") or ""), user, name, outcome)

        got = parts.forms.run(lambda: _tokens(services).create(user, name, days), later)
        if got.ended == Ended.LATE:
            log.info("view agent_connect_form: still saving after the budget; the form says so")
            text = prompts.text("messages.form_saving_late")
            ack(response_action="update", view=notice_view(view, text))
            return
        if isinstance(got.error, TokenError):
            ack(response_action="errors", errors={"name": got.error.text(prompts)[:150]})
            return
        if got.error is not None and not got.outage:
            raise got.error  # a bug: the error handler logs its traceback
        if got.value is None:  # refused at once, or every form thread is waiting on it
            log_unanswered("view agent_connect_form", got)
            ack(
                response_action="errors",
                errors={"name": prompts.text("messages.form_not_saved")[:150]},
            )
            return
        made = got.value
        blocks = token_made(prompts, made.token, made.secret, mcp_url(services))
        ack(response_action="update", view=token_made_view(prompts, blocks))
        log.info("agent token %s made by %s", token_ref(made.token.id), user)
        republish_home(client, user)

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
            ephemeral(client, user, user, exc.text(prompts))
            return
        log.info("agent token %s revoked by %s", token_ref(token.id), user)
        republish_home(client, user)

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
            ephemeral(client, at.channel or at.user, at.user, text)
            return
        d = decisions.edit(d.id or 0, at.user, status=DecisionStatus.ACCEPTED)
        blocks = accepted_card(prompts, d, at.user, services.settings.jira_url)
        ts = (body.get("message") or {}).get("ts") or d.card_ts
        post(client, at.channel, d.title, blocks, update_ts=ts)
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
            ephemeral(client, at.channel or at.user, at.user, exc.text(prompts))
            return
        number = next((n for n, c in enumerate(view.checks, 1) if c.id == int(value)), 0)
        message = body.get("message") or {}
        first = (message.get("blocks") or [{}])[0]
        shown = str((first.get("text") or {}).get("text") or message.get("text") or "")
        blocks = evidence_verified(prompts, shown, number, at.user)
        text = prompts.text("agents.evidence_verified", number=number, user=at.user)
        post(client, at.channel, text, blocks, update_ts=message.get("ts"))
        log.info("check %s of %s verified by %s", number, view.ref, at.user)


def _show_late(
    parts: SlackParts,
    client: WebClient,
    body: dict[str, Any],
    view_id: str,
    user: str,
    name: str,
    outcome: Outcome[NewToken],
) -> None:
    """The connect form answered before its token was stored. Stored: the token goes into the
    same modal (never into a message or the outbox, which would keep it); if the modal cannot
    show it (closed, Slack down), the token is revoked and the person told. Not stored: told
    why, with the name they typed."""
    services = parts.services
    prompts = services.prompts
    made = outcome.value
    if made is None:
        error = outcome.error or RuntimeError("no outcome")
        if isinstance(error, TokenError):
            problem = error.text(prompts)
            text = prompts.text("agents.connect_failed", problem=problem, echo=escape(name[:200]))
        elif is_outage(error):
            log.warning(
                "view agent_connect_form: the database gave up after the form answered (%s); "
                "the person was told",
                outage_reason(error),
            )
            text = failure_text(prompts, error, body)
        else:
            log_failure(error, body)
            text = failure_text(prompts, error, body)
        tell_directly(client, {"user": {"id": user}}, text)
        return
    blocks = token_made(prompts, made.token, made.secret, mcp_url(services))
    try:
        client.views_update(view_id=view_id, view=token_made_view(prompts, blocks))
    except Exception as exc:  # refused (the modal was closed) or Slack did not answer
        reason = exc.response.get("error") if isinstance(exc, SlackApiError) else None
        log.warning(
            "agent token %s could not be shown to %s (%s); revoked",
            token_ref(made.token.id),
            user,
            reason or type(exc).__name__,
        )
        _tokens(services).revoke(int(made.token.id or 0))
        text = prompts.text("agents.connect_not_shown", name=escape(name[:200]))
        try:
            parts.outbox.post(user, text)
        except Exception:  # the database went away again: say it straight
            tell_directly(client, {"user": {"id": user}}, text)
        return
    log.info("agent token %s made by %s (shown late)", token_ref(made.token.id), user)
    parts.home.publish(client, user)
