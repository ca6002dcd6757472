"""Jira's `jira:issue_created|updated|deleted` webhooks applied to the work items at once,
between two syncs. Idempotent: the same delivery twice changes nothing more, and an older
delivery arriving after a newer one does not roll the fields back.

An issue belongs to the teams that already hold it, and to teams whose Jira setting is a
plain project that the issue is in; a team with its own JQL gets a new issue from its next
sync (the JQL is Jira's to evaluate).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from chatbot.clock import Clock
from chatbot.db.core_models import SyncState
from chatbot.db.engine import Database
from chatbot.jira.models import WorkItem
from chatbot.jira.store import (
    BUG_TYPE,
    escape_field,
    escape_jql,
    escape_recheck_name,
    insert_changes,
    upsert_items,
)
from chatbot.teams.models import Team

ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")


def apply_issue_event(db: Database, clock: Clock, payload: dict[str, Any]) -> int:
    """Apply one issue webhook; returns how many work items it touched."""
    event = str(payload.get("webhookEvent") or "")
    issue = payload.get("issue")
    if event not in ISSUE_EVENTS or not isinstance(issue, dict):
        return 0
    jira_id, key = str(issue.get("id") or ""), str(issue.get("key") or "").upper()
    if not jira_id or not key:
        return 0
    now = clock.now()
    with db.session() as s:
        if event == "jira:issue_deleted":
            rows = s.exec(select(WorkItem).where(WorkItem.jira_id == jira_id)).all()
            for row in rows:
                row.deleted, row.synced_at = True, now
                s.add(row)
            return len(rows)
        fields = issue.get("fields")
        raw = {**issue, "key": key, "fields": fields if isinstance(fields, dict) else {}}
        project = str((raw["fields"].get("project") or {}).get("key") or "")
        project = project or key.split("-")[0]
        teams = _teams_for(s, jira_id, project)
        history = _history(payload)
        for team in teams:
            [item] = upsert_items(
                s, team.id or 0, [raw], now, escape_field(team), only_if_newer=True
            )
            if history is not None:
                insert_changes(s, team.id or 0, [(item, [history])])
            if item.issue_type == BUG_TYPE and escape_jql(team):
                _ask_escape_recheck(s, team.id or 0, item.updated_at, now)
        return len(teams)


def _teams_for(s: Session, jira_id: str, project: str) -> list[Team]:
    holding = set(s.exec(select(WorkItem.team_id).where(WorkItem.jira_id == jira_id)).all())
    teams = s.exec(select(Team).order_by(col(Team.id))).all()
    return [
        t
        for t in teams
        if t.id in holding
        or (not (t.jira_jql or "").strip() and (t.jira_project or "").upper() == project.upper())
    ]


def _history(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The delivery's changelog entry, shaped like one history of a search's changelog."""
    changelog = payload.get("changelog") or {}
    if not isinstance(changelog, dict) or not changelog.get("id") or not changelog.get("items"):
        return None
    stamp = payload.get("timestamp")
    try:
        at = datetime.fromtimestamp(int(stamp) / 1000, UTC) if stamp is not None else None
    except (TypeError, ValueError, OverflowError, OSError):
        at = None
    updated = ((payload.get("issue") or {}).get("fields") or {}).get("updated")
    return {
        "id": str(changelog["id"]),
        "created": at.isoformat() if at else updated,
        "items": changelog.get("items") or [],
    }


def _ask_escape_recheck(s: Session, team_id: int, since: datetime, now: datetime) -> None:
    name = escape_recheck_name(team_id)
    row = s.get(SyncState, name)
    if row is None:
        s.add(SyncState(name=name, watermark=since, cursor={}, updated_at=now))
    elif row.watermark is None or since < row.watermark:
        row.watermark, row.updated_at = since, now
        s.add(row)
