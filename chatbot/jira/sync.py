"""Outbox handlers that bring Jira in step: the intent's ticket, comment and remote link.

Each step records what it did in the row's state before the next one, and a retry after
an answer that never came looks before it writes again: the create reads the tickets made
since its first try for its idempotency property (by key, since Jira's search lags writes),
the comment looks for its marker line. The remote link is
an upsert by globalId. So a flaky Jira gets exactly one ticket, comment and link.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.intent.service import IntentService, IntentView
from chatbot.jira import render
from chatbot.jira.document import Doc, Paragraph
from chatbot.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraNotFound,
    JiraRejected,
    JiraUnavailable,
)
from chatbot.jira.gateway import Issue, JiraGateway
from chatbot.jira.store import parse_jira_time
from chatbot.jira.writes import COMMENT_KIND, INTENT_KIND
from chatbot.outbox.models import OutboxMessage
from chatbot.outbox.worker import GiveUp, Handler, Landed, Progress, RetryLater

PROPERTY_KEY = "throughline"
#: How far Jira's clock may be behind ours when telling which tickets came after a create.
CLOCK_SKEW = timedelta(minutes=5)


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _translate(exc: JiraError, what: str) -> Exception:
    if isinstance(exc, JiraUnavailable):
        return RetryLater(str(exc), exc.retry_after)
    if isinstance(exc, JiraAuthError):
        return GiveUp(
            str(exc),
            "Jira refused the bot's credentials. An admin can run "
            "`chatbot jira check`; then try again (nothing you typed was lost).",
        )
    if isinstance(exc, JiraRejected):
        return GiveUp(str(exc), f"Jira refused to {what}: {exc}")
    return GiveUp(str(exc))


def upsert_comment(
    gateway: JiraGateway, progress: Progress, issue_key: str, doc: Doc, marker: str
) -> None:
    """Create the comment once, then edit it; 1 request per change, 0 when unchanged."""
    state = progress.state
    if state.get("comment_issue") not in (None, issue_key):
        progress.save(comment_id=None, comment_hash=None, comment_sent=False)
    body_hash = _hash(gateway.body(doc))
    comment_id = state.get("comment_id")
    if comment_id and state.get("comment_hash") == body_hash:
        return
    if comment_id:
        try:
            gateway.update_comment(issue_key, comment_id, doc)
            progress.save(comment_hash=body_hash)
            return
        except JiraNotFound:
            # Someone deleted our comment; write it anew (the ticket itself is checked below).
            progress.save(comment_id=None, comment_sent=False)
    if state.get("comment_sent"):
        # An earlier POST may have landed without us hearing back: find it by its marker.
        found = next((c for c in gateway.comments(issue_key) if marker in c.text), None)
        if found is not None:
            gateway.update_comment(issue_key, found.id, doc)
            progress.save(
                comment_id=found.id,
                comment_hash=body_hash,
                comment_issue=issue_key,
                comment_sent=False,
            )
            return
    progress.save(comment_sent=True, comment_issue=issue_key)
    new_id = gateway.add_comment(issue_key, doc)
    progress.save(comment_id=new_id, comment_hash=body_hash, comment_sent=False)


def comment_handler(gateway: JiraGateway) -> Handler:
    def handle(row: OutboxMessage, progress: Progress) -> Landed | None:
        key = str(row.payload["issue_key"])
        marker = render.marker(row.dedupe_key.removeprefix("jira-comment:"))
        doc = Doc([Paragraph(str(row.payload.get("text", ""))), Paragraph(marker)])
        try:
            upsert_comment(gateway, progress, key, doc, marker)
        except JiraNotFound as exc:
            raise GiveUp(str(exc), f"Jira has no ticket {key} (or the bot cannot see it).") from exc
        except JiraError as exc:
            raise _translate(exc, f"comment on {key}") from exc
        return Landed({"issue_key": key})

    return handle


def intent_handler(db: Database, clock: Clock, gateway: JiraGateway) -> Handler:
    intents = IntentService(db, clock)

    def handle(row: OutboxMessage, progress: Progress) -> Landed | None:
        p = row.payload
        view = intents.get(int(p["intent_id"]))
        if view is None:
            raise GiveUp("intent deleted", "That intent no longer exists; nothing was sent.")
        state = progress.state
        issue_key: str | None = state.get("issue_key")
        created = False
        try:
            if issue_key is None and p.get("mode") == "create":
                issue_key = _create(gateway, clock, progress, view, p)
                created = True
            elif issue_key is None:
                issue_key = str(p["issue_key"])
            marker = render.marker(row.dedupe_key)
            doc = render.intent_comment(view, p.get("thread_url"), marker)
            try:
                upsert_comment(gateway, progress, issue_key, doc, marker)
            except JiraNotFound as exc:
                raise GiveUp(str(exc), _unknown(issue_key, view.ref)) from exc
            if state.get("issue_key") != issue_key:
                progress.save(issue_key=issue_key)
            if view.intent.jira_key != issue_key:
                view = intents.link(view.intent.id or 0, issue_key, str(p.get("user") or ""))
            link_title = f"Slack: {view.ref} · {view.intent.title}"
            link_hash = _hash([p.get("thread_url"), link_title])
            if p.get("thread_url") and state.get("link_hash") != link_hash:
                gateway.upsert_remote_link(
                    issue_key,
                    f"throughline-intent-{view.intent.id}",
                    str(p["thread_url"]),
                    link_title,
                    "Intent and acceptance checks",
                )
                progress.save(link_hash=link_hash)
        except JiraError as exc:
            raise _translate(
                exc, "create the ticket" if p.get("mode") == "create" else f"update {issue_key}"
            ) from exc
        return Landed(
            {
                "issue_key": issue_key,
                "created": created or bool(state.get("created")),
                "intent_id": view.intent.id,
            }
        )

    return handle


def _create(
    gateway: JiraGateway, clock: Clock, progress: Progress, view: IntentView, p: dict[str, Any]
) -> str:
    state = progress.state
    token = state.get("token")
    if token is None:
        token = uuid.uuid4().hex[:12]
        progress.save(token=token)
    label = f"throughline-{token}"
    project = str(p["project"])
    if state.get("create_sent"):
        # The last create may have landed though we never heard back: look for it.
        found = _created_before(gateway, progress, project, token, label)
        if found is not None:
            progress.save(issue_key=found, created=True)
            return found
    if state.get("first_sent_at") is None:
        progress.save(first_sent_at=clock.now().isoformat())
    progress.save(create_sent=True)
    try:
        issue = gateway.create_issue(
            project=project,
            issue_type=str(p.get("issue_type") or "Story"),
            summary=render.summary(view),
            description=render.description(view, p.get("thread_url")),
            labels=["throughline", label],
            properties={PROPERTY_KEY: {"intent": view.ref, "idempotency_key": token}},
        )
    except JiraRejected as exc:
        raise GiveUp(
            str(exc),
            f"Jira refused to create the ticket in project `{p['project']}` "
            f"as `{p.get('issue_type')}`: {exc}. Check the project key and issue type, "
            "then press Create again.",
        ) from exc
    except JiraNotFound as exc:
        raise GiveUp(str(exc), f"Jira has no project `{p['project']}` the bot can see.") from exc
    progress.save(issue_key=issue.key, created=True)
    return issue.key


def _created_before(
    gateway: JiraGateway, progress: Progress, project: str, token: str, label: str
) -> str | None:
    """The key of the ticket an earlier create made, if it landed.

    Jira's search is eventually consistent (a ticket created seconds ago may be missing), so
    its answer alone cannot say "not created". Reading an issue by key is consistent. So:
    ask search for the project's highest key it knows, read the keys above it one by one up
    to the first Jira has not handed out, then the known ones downwards back to a ticket
    created before our first try; any of them carrying our idempotency property is ours.
    Costs nothing when no answer was lost: only a retry after a lost create reads.
    """
    first_sent = progress.state.get("first_sent_at")
    if first_sent is None:  # a row whose create was sent before this: its label, as then
        matches = gateway.search(f'labels = "{label}"', ["summary"], 1, wait_on_429=False)
        found = next(iter(matches), None)
        return str(found["key"]) if found is not None else None
    since = datetime.fromisoformat(str(first_sent)) - CLOCK_SKEW
    known_top = gateway.highest_key_number(project)
    number = known_top + 1
    while (issue := _read_issue(gateway, f"{project}-{number}")) is not None:
        if _ours(issue, token):
            return issue.key
        number += 1
    for number in range(known_top, 0, -1):
        issue = _read_issue(gateway, f"{project}-{number}")
        if issue is None:
            continue  # a deleted ticket
        if _ours(issue, token):
            return issue.key  # its key now, should someone have moved it
        created = parse_jira_time(((issue.raw or {}).get("fields") or {}).get("created"))
        if created is not None and created < since:
            break
    return None


def _read_issue(gateway: JiraGateway, key: str) -> Issue | None:
    try:
        return gateway.get_issue(key, "created", [PROPERTY_KEY])
    except JiraNotFound:
        return None


def _ours(issue: Issue, token: str) -> bool:
    return (issue.properties.get(PROPERTY_KEY) or {}).get("idempotency_key") == token


def _unknown(key: str, ref: str) -> str:
    return (
        f"Jira has no ticket `{key}` (or the bot's account cannot see it), so {ref} was not "
        f"linked. Check the key and try `/intent link {ref} <KEY>` again."
    )


def jira_handlers(db: Database, clock: Clock, gateway: JiraGateway) -> dict[str, Handler]:
    """The outbox handlers for Jira writes, by row kind."""
    return {
        INTENT_KIND: intent_handler(db, clock, gateway),
        COMMENT_KIND: comment_handler(gateway),
    }
