"""Agent tokens in Slack (App Home, `/context connect`), deactivated people, and the buttons on
what agents post: Accept a proposed decision, Verify a check an agent brought evidence for."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

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
from chatbot.slack.failures import (
    failure_text,
    log_failure,
    quoted,
    tell_directly,
    typed_text,
)
from chatbot.slack.form_budget import Ended, Outcome, log_unanswered, notice_view
from chatbot.slack.ids import AgentId
from chatbot.slack.owed import Message
from chatbot.slack.parts import SlackParts
from chatbot.slack.payloads import where
from chatbot.slack.text import escape

log = logging.getLogger(__name__)


def mcp_url(services: Services) -> str:
    base = services.settings.public_url or f"http://localhost:{services.settings.port}"
    return base.rstrip("/") + "/mcp"


def _tokens(services: Services) -> TokenService:
    return TokenService(services.db, services.clock)


def connect_from_command(
    parts: SlackParts,
    client: WebClient,
    body: dict[str, Any],
    name: str,
    respond: Respond,
) -> None:
    """`/context connect NAME`: the token and the configs, ephemeral, shown this once, and
    only once stored. Made within the form budget; a slow database gets a note at once and
    the token when it is stored."""
    services = parts.services
    prompts = services.prompts
    user = str(body.get("user_id") or "")
    if not name.strip():
        respond(text=prompts.text("agents.connect_usage"), response_type="ephemeral")
        return
    days = services.settings.agent_token_days

    def later(outcome: Outcome[NewToken]) -> None:
        _show_from_command(parts, client, body, name, outcome)

    got = parts.forms.run(lambda: _tokens(services).create(user, name, days), later)
    if got.ended == Ended.LATE:
        log.info("/context connect: still saving after the budget; the person was told")
        tell_directly(client, body, prompts.text("agents.connect_late"))
        return
    if got.error is not None and not got.outage and not isinstance(got.error, TokenError):
        raise got.error  # a bug: the error handler logs its traceback
    if got.ended == Ended.BUSY or got.outage:
        log_unanswered("/context connect", got)
        echo = quoted(typed_text(body))
        tell_directly(client, body, prompts.text("messages.database_down", echo=echo))
        return
    _show_from_command(parts, client, body, name, got)


def _show_from_command(
    parts: SlackParts, client: WebClient, body: dict[str, Any], name: str, got: Outcome[NewToken]
) -> None:
    """The new token, straight to Slack (never through the outbox, which would keep the
    secret in the database); if Slack cannot show it, it is revoked and the person told."""
    services = parts.services
    prompts = services.prompts
    user = str(body.get("user_id") or "")
    made = got.value
    if made is None:
        error = got.error or RuntimeError("no outcome")
        if isinstance(error, TokenError):
            problem = error.text(prompts)
            text = prompts.text("agents.connect_failed", problem=problem, echo=escape(name[:200]))
        else:
            _log_late_failure("/context connect", error, body)
            text = failure_text(prompts, error, body)
        tell_directly(client, body, text)
        return
    blocks = token_made(prompts, made.token, made.secret, mcp_url(services))
    text = prompts.text("agents.connect_title")
    if not _show_once(client, body, text, blocks):
        _revoke_unshown(parts, client, user, made, name)
        return
    log.info("agent token %s made by %s", token_ref(made.token.id), user)


def _show_once(
    client: WebClient, body: dict[str, Any], text: str, blocks: list[dict[str, Any]]
) -> bool:
    """An ephemeral through the request's response_url, else chat.postEphemeral: whether
    Slack took it."""
    url = body.get("response_url")
    if url:
        try:
            answer = WebhookClient(url, timeout=5).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False
            )
            if answer.status_code == 200:
                return True
        except Exception as exc:  # expired or unreachable: try the Web API
            log.info("response_url failed (%s); using chat.postEphemeral", type(exc).__name__)
    try:
        client.chat_postEphemeral(
            channel=str(body.get("channel_id") or ""),
            user=str(body.get("user_id") or ""),
            text=text,
            blocks=blocks,
        )
        return True
    except Exception as exc:
        log.info("chat.postEphemeral failed (%s)", type(exc).__name__)
        return False


def _revoke_unshown(
    parts: SlackParts, client: WebClient, user: str, made: NewToken, name: str
) -> None:
    """A token its person never saw is revoked: nobody can use it, and they are told."""
    log.warning("agent token %s could not be shown to %s; revoked", token_ref(made.token.id), user)
    _tokens(parts.services).revoke(int(made.token.id or 0))
    text = parts.services.prompts.text("agents.connect_not_shown", name=escape(name[:200]))
    try:
        parts.outbox.post(user, text)  # waits there for Slack to answer again
    except Exception:  # the database went away again: say it straight
        tell_directly(client, {"user": {"id": user}}, text)


def _log_late_failure(what: str, error: BaseException, body: dict[str, Any]) -> None:
    """The one line of a request whose database work failed after its answer was given."""
    if is_outage(error):
        log.warning(
            "%s: the database gave up after the person was answered (%s); they were told",
            what,
            outage_reason(error),
        )
    elif isinstance(error, Exception):
        log_failure(error, body)


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
            ack(
                response_action="update",
                view=notice_view(view, text, prompts.text("messages.form_close")),
            )
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
        else:
            _log_late_failure("view agent_connect_form", error, body)
            text = failure_text(prompts, error, body)
        tell_directly(client, {"user": {"id": user}}, text)
        return
    blocks = token_made(prompts, made.token, made.secret, mcp_url(services))
    try:
        client.views_update(view_id=view_id, view=token_made_view(prompts, blocks))
    except Exception as exc:  # refused (the modal was closed) or Slack did not answer
        reason = exc.response.get("error") if isinstance(exc, SlackApiError) else None
        log.info("the connect form could not be updated (%s)", reason or type(exc).__name__)
        _revoke_unshown(parts, client, user, made, name)
        return
    log.info("agent token %s made by %s (shown late)", token_ref(made.token.id), user)
    parts.home.publish(user)
