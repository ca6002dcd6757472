"""The decision form's submission: new (from /decision or the message shortcut), edit, or
supersede. Blocking problems come back as inline errors with everything typed kept."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from chatbot.decisions.models import DecisionSource, DecisionStatus
from chatbot.decisions.service import (
    DecisionDraft,
    DecisionError,
    Origin,
    decision_ref,
    intent_ids_in,
    split_list,
)
from chatbot.jira_keys import jira_keys_in
from chatbot.slack.decision_flow import DecisionFlow
from chatbot.slack.ids import DecisionId
from chatbot.slack.parts import SlackParts
from chatbot.slack.payloads import where
from chatbot.slack.text import escape
from chatbot.slack.views.values import input_value

_LINK = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_]{1,9}-[1-9][0-9]{0,8}|I-[1-9][0-9]{0,8})$", re.I)


def _links(text: str) -> tuple[list[str], int | None, str | None]:
    """Jira keys and the intent typed in the links field, or the first item that is neither."""
    items = split_list(text)
    bad = [item for item in items if not _LINK.match(item)]
    if bad:
        return [], None, bad[0][:50]
    upper = " ".join(items).upper()
    intents = intent_ids_in(upper)
    keys = [k for k in jira_keys_in(upper) if not re.fullmatch(r"I-\d+", k)]
    return keys, (intents[0] if intents else None), None


def register(app: App, parts: SlackParts) -> None:
    flow = parts.decisions

    @app.view(DecisionId.FORM)
    def submit(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        meta = json.loads(view.get("private_metadata") or "{}")
        kept = set(meta.get("kept") or [])
        decision = input_value(values, "decision")
        errors: dict[str, str] = {}
        if decision is not None and "decision" not in kept and not decision:
            errors["decision"] = flow.msg("errors.form_no_decision")
        keys, intent_id, bad_link = _links(input_value(values, "links") or "")
        if bad_link and "links" not in kept:
            errors["links"] = flow.msg("errors.bad_link", link=bad_link)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        user = where(body).user
        draft = DecisionDraft(
            title=input_value(values, "title") or "",
            decision=decision or "",
            why=input_value(values, "why") or "",
            alternatives=input_value(values, "alternatives") or "",
            consequences=input_value(values, "consequences") or "",
            status=input_value(values, "status") or DecisionStatus.ACCEPTED,
            tags=split_list(input_value(values, "tags") or ""),
            jira_keys=keys,
            intent_id=intent_id,
        )
        try:
            if meta.get("decision_id"):
                _edit(flow, client, int(meta["decision_id"]), user, draft, kept)
            elif meta.get("supersedes"):
                _supersede(flow, client, int(meta["supersedes"]), user, draft)
            else:
                _new(flow, client, meta, values, user, draft)
        except DecisionError as exc:
            typed = draft.decision or draft.title
            problem = escape(exc.text(flow.services.prompts))
            flow.outbox.post(user, flow.msg("invalid", problem=problem, echo=flow.echo(typed)))


def _edit(
    flow: DecisionFlow,
    client: WebClient,
    decision_id: int,
    user: str,
    draft: DecisionDraft,
    kept: set[str],
) -> None:
    changes: dict[str, Any] = {
        name: getattr(draft, name)
        for name in ("title", "decision", "why", "alternatives", "consequences", "status")
        if name not in kept
    }
    if "links" not in kept:
        changes.update(jira_keys=draft.jira_keys, intent_id=draft.intent_id)
    if "tags" not in kept:
        changes["tags"] = draft.tags
    d = flow.decisions.edit(decision_id, user, **changes)
    if flow.refresh_card(d) is None:
        flow.publish(d, user)
    else:
        flow.write_to_jira(d)


def _supersede(
    flow: DecisionFlow, client: WebClient, old_id: int, user: str, draft: DecisionDraft
) -> None:
    new, old = flow.decisions.supersede(old_id, draft, user)
    flow.refresh_card(old)
    flow.write_to_jira(old)
    flow.publish(new, user)
    if old.card_channel and old.card_ts:
        flow.outbox.post(
            old.card_channel,
            flow.msg("superseded_notice", old=decision_ref(old.id), new=decision_ref(new.id)),
            thread_ts=old.card_ts,
        )


def _new(
    flow: DecisionFlow,
    client: WebClient,
    meta: dict[str, Any],
    values: dict[str, Any],
    user: str,
    draft: DecisionDraft,
) -> None:
    source = meta.get("source") or {}
    channel = source.get("channel") or meta.get("channel") or input_value(values, "channel") or user
    origin = Origin(channel, flow.is_private(client, channel), DecisionSource.FORM)
    author = user
    thread_ts = None
    if source.get("ts"):
        origin.source = DecisionSource.SHORTCUT
        origin.source_channel, origin.source_ts = channel, source["ts"]
        origin.permalink = flow.permalink(client, channel, source["ts"])
        author = source.get("author") or user
        thread_ts = source.get("thread_ts") or source["ts"]
    recorded = flow.record(client, draft, author, user, origin, draft.decision, thread_ts=thread_ts)
    if recorded is None:
        return
    d, created = recorded
    if not created:
        flow.outbox.post(user, flow.msg("shortcut_own_card", ref=decision_ref(d.id)))
