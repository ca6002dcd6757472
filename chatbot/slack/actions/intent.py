"""Buttons on intent cards, the checks modal and App Home."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from chatbot.intent.models import IntentStatus
from chatbot.intent.service import IntentError, IntentView
from chatbot.slack.blocks.intent import checks_page, intent_form
from chatbot.slack.commands.digest import open_setup_from_home
from chatbot.slack.form_budget import read_for_click
from chatbot.slack.ids import HomeId, IntentId
from chatbot.slack.parts import SlackParts
from chatbot.slack.payloads import where

log = logging.getLogger(__name__)


def _value(body: dict[str, Any]) -> str:
    action = body["actions"][0]
    return str(action.get("value") or (action.get("selected_option") or {}).get("value", ""))


def register(app: App, parts: SlackParts) -> None:
    services = parts.services
    flow = parts.intents

    def load(client: WebClient, body: dict[str, Any], intent_id: str) -> IntentView | None:
        at = where(body)
        channel, user = at.channel, at.user
        view = flow.intents.get(int(intent_id)) if intent_id.isdigit() else None
        if view is None:
            flow.outbox.ephemeral(
                channel or user, user, flow.msg("intent_not_found", ref=intent_id)
            )
        return view

    def load_for_form(client: WebClient, body: dict[str, Any], intent_id: str) -> IntentView | None:
        """`load` for a button that opens a form: within the form budget, as the form opens
        with this click's 3 s trigger_id."""
        ours = intent_id.isdigit()
        read = (lambda: flow.intents.get(int(intent_id))) if ours else (lambda: None)
        got = read_for_click(parts.forms, services.prompts, client, body, read)
        if got is None:
            return None
        if got.value is None:
            at = where(body)
            text = flow.msg("intent_not_found", ref=intent_id)
            flow.outbox.ephemeral(at.channel or at.user, at.user, text)
        return got.value

    def after_change(client: WebClient, body: dict[str, Any], view: IntentView) -> None:
        flow.refresh_card(view)
        container = body.get("container") or {}
        if container.get("type") == "view":
            return
        if container.get("is_ephemeral") or view.intent.card_ts is None:
            at = where(body)
            channel, user = at.channel, at.user
            flow.show(view, channel, user, None)

    @app.action(IntentId.SAVE)
    def save(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        view = load(client, body, _value(body))
        if view is None:
            return
        at = where(body)
        channel, user = at.channel, at.user
        try:
            view = flow.intents.save(view.intent.id, user)
        except IntentError as exc:
            flow.outbox.ephemeral(channel, user, exc.text(services.prompts))
            return
        if not view.intent.card_ts:
            flow.post_card(view, thread_ts=view.intent.thread_ts, user=user)
        else:
            flow.refresh_card(view)
        flow.outbox.ephemeral(channel, user, flow.msg("saved", intent_ref=view.ref))

    @app.action(IntentId.EDIT)
    def edit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        view = load_for_form(client, body, _value(body))
        if view is not None:
            client.views_open(
                trigger_id=body["trigger_id"],
                view=intent_form(
                    flow.prompts, view.fields(), view.intent.channel_id, view.intent.id
                ),
            )

    @app.action(IntentId.VERIFY_CHECK)
    def verify(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        at = where(body)
        channel, user = at.channel, at.user
        value = _value(body)
        try:
            if not value.isdigit():  # not a button of ours
                raise IntentError("intent.errors.check_replaced")
            view = flow.intents.verify_check(int(value), user)
        except IntentError as exc:
            flow.outbox.ephemeral(channel or user, user, exc.text(services.prompts))
            return
        flow.refresh_card(view)
        container = body.get("container") or {}
        if container.get("type") == "view" and body.get("view", {}).get("type") == "modal":
            page = int(json.loads(body["view"].get("private_metadata") or "{}").get("page", 0))
            client.views_update(
                view_id=body["view"]["id"],
                view=checks_page(flow.prompts, view, page, flow.jira_url),
            )
        elif container.get("type") == "view":
            parts.home.publish(user)
        elif container.get("is_ephemeral"):
            flow.show(view, channel, user, None)

    @app.action(IntentId.ALL_CHECKS)
    def all_checks(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        view = load_for_form(client, body, _value(body))
        if view is not None:
            client.views_open(
                trigger_id=body["trigger_id"],
                view=checks_page(flow.prompts, view, 0, flow.jira_url),
            )

    @app.action(IntentId.CHECKS_PAGE)
    def checks_next(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        intent_id, _, page = _value(body).partition(":")
        view = load(client, body, intent_id)
        if view is not None:
            client.views_update(
                view_id=body["view"]["id"],
                view=checks_page(flow.prompts, view, int(page or 0), flow.jira_url),
            )

    @app.action(IntentId.SET_STATUS)
    def set_status(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        intent_id, _, status = _value(body).partition(":")
        view = load(client, body, intent_id)
        if view is None:
            return
        user = where(body).user
        view = flow.intents.set_status(view.intent.id, IntentStatus(status), user)
        after_change(client, body, view)

    @app.action(IntentId.SHOW)
    def show(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        view = load(client, body, _value(body))
        if view is None:
            return
        at = where(body)
        channel, user = at.channel, at.user
        flow.show(view, channel or view.intent.channel_id, user, None)

    @app.action(IntentId.JIRA_CREATE)
    @app.action(IntentId.JIRA_LINK)
    def jira_buttons(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        view = load_for_form(client, body, _value(body))
        if view is None:
            return
        at = where(body)
        channel, user = at.channel, at.user
        if parts.jira is None:
            flow.outbox.ephemeral(channel or user, user, flow.msg("jira_not_configured"))
            return
        parts.jira.on_card_button(client, body, view)

    @app.action(HomeId.NEW_INTENT)
    def home_new(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=intent_form(services.prompts))

    @app.action(HomeId.SETUP)
    def home_setup(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        open_setup_from_home(parts, client, body)
