"""Where the Jira history is kept: the upserts of work items and their changes (shared by the
sync loop and the webhook), the team's escape rule as stored, and each sync's saved state
(its watermark and a `SyncCursor`).

Everything is an upsert by natural key (work item: team + Jira id, then key; change: work
item + history id + field), so storing the same page or delivery twice stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, or_, update
from sqlmodel import Session, select

from chatbot.db.core_models import SyncState
from chatbot.jira.models import WorkItem, WorkItemChange
from chatbot.teams.models import Team

CHANGE_FIELDS = ("status", "assignee")
BUG_TYPE = "Bug"

# Core statements rather than ORM objects: a full sync writes thousands of rows a minute and
# building a model object per row costs more than the database does.
ITEMS = WorkItem.__table__  # type: ignore[attr-defined]
CHANGES = WorkItemChange.__table__  # type: ignore[attr-defined]


def parse_jira_time(value: str | None) -> datetime | None:
    """Jira's `2026-11-18T10:00:00.000+0000` (or ISO with a colon or Z) as UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --- the team's escape rule, as `team set` stores it --------------------------------------
def escape_jql(team: Team) -> str | None:
    rule = team.escape_rule or {}
    jql = rule.get("jql") if isinstance(rule, dict) else None
    return str(jql).strip() if jql and str(jql).strip() else None


def escape_field(team: Team) -> str | None:
    rule = team.escape_rule or {}
    field = rule.get("field") if isinstance(rule, dict) else None
    return str(field) if field else None


# --- sync state -----------------------------------------------------------------------------
def state_name(team_id: int) -> str:
    return f"jira:{team_id}"


def escape_recheck_name(team_id: int) -> str:
    """The sync_state row asking the next sync to re-evaluate the JQL escape rule for bugs
    updated since its watermark (a webhook stored them, so the sync sees no change)."""
    return f"jira-escape:{team_id}"


@dataclass
class SyncCursor:
    """What a team's sync keeps beside its watermark between runs (sync_state.cursor).

    Stored as JSON under the keys it always had (`tz`, `full_started`, `escape_pending`,
    `escape_from`), so rows written before this class existed read the same.
    """

    #: The bot account's zone, in which Jira reads JQL dates; asked once, then kept.
    tz: str | None = None
    #: When a full sync began: items not seen since are marked deleted when it ends.
    full_started: datetime | None = None
    #: The escape rule must be re-evaluated (a bug changed, or a run stopped before it).
    escape_pending: bool = False
    #: From when to re-evaluate it; None with `escape_pending` means every bug.
    escape_from: datetime | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> SyncCursor:
        raw = raw or {}
        tz = raw.get("tz")
        return cls(
            tz=str(tz) if tz else None,
            full_started=_time_or_none(raw.get("full_started")),
            escape_pending=bool(raw.get("escape_pending")),
            escape_from=_time_or_none(raw.get("escape_from")),
        )

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.tz:
            found["tz"] = self.tz
        if self.full_started is not None:
            found["full_started"] = self.full_started.isoformat()
        if self.escape_pending:
            found["escape_pending"] = True
            found["escape_from"] = self.escape_from.isoformat() if self.escape_from else None
        return found


def _time_or_none(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def load_state(s: Session, name: str) -> tuple[datetime | None, SyncCursor] | None:
    """The watermark and cursor saved under `name`, or None when nothing is saved."""
    row = s.get(SyncState, name)
    return (row.watermark, SyncCursor.from_json(row.cursor)) if row else None


def save_state(
    s: Session, name: str, watermark: datetime | None, cursor: SyncCursor, now: datetime
) -> None:
    row = s.get(SyncState, name)
    if row is None:
        s.add(SyncState(name=name, watermark=watermark, cursor=cursor.to_json(), updated_at=now))
        return
    row.watermark, row.cursor, row.updated_at = watermark, cursor.to_json(), now
    s.add(row)


def stored_updated(s: Session, team_id: int, jira_ids: list[str]) -> dict[str, datetime]:
    """Jira id -> the `updated` time stored for the team's items among `jira_ids`."""
    if not jira_ids:
        return {}
    c = ITEMS.c
    rows = s.execute(
        select(c.jira_id, c.updated_at).where(c.team_id == team_id, c.jira_id.in_(jira_ids))
    ).all()
    return {str(r.jira_id): r.updated_at for r in rows}


# --- the upserts ----------------------------------------------------------------------------


@dataclass
class StoredItem:
    """A work item as an upsert left it; `changed`: new, or a different `updated`."""

    id: int
    jira_id: str
    key: str
    issue_type: str
    updated_at: datetime
    changed: bool


def upsert_items(
    s: Session,
    team_id: int,
    issues: list[dict[str, Any]],
    now: datetime,
    field_rule: str | None,
    only_if_newer: bool = False,
) -> list[StoredItem]:
    """Insert or update one work item per raw issue, in order. Found by Jira id first, so a
    moved issue keeps its row and takes its new key. With `only_if_newer` an older copy of
    an issue (a late webhook) leaves the stored fields as they are."""
    ids = [str(raw["id"]) for raw in issues]
    keys = [str(raw["key"]) for raw in issues]
    c = ITEMS.c
    found = s.execute(
        select(c.id, c.jira_id, c.key, c.issue_type, c.updated_at, c.deleted, c.fields).where(
            c.team_id == team_id, or_(c.jira_id.in_(ids), c.key.in_(keys))
        )
    ).all()
    by_id = {r.jira_id: r for r in found}
    by_key = {r.key: r for r in found}
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    inserts: list[dict[str, Any]] = []
    out: list[StoredItem | str] = []  # a jira id stands for a row inserted below
    for raw in issues:
        jira_id, key = str(raw["id"]), str(raw["key"])
        row = by_id.get(jira_id)
        holder = by_key.get(key)
        if holder is not None and holder.jira_id != jira_id:
            # The key now belongs to another issue (the old holder was moved away and its
            # move not yet seen): free the key so the unique (team, key) holds.
            s.execute(
                update(ITEMS)
                .where(c.id == holder.id)
                .values(key=f"{holder.key}~{holder.jira_id}"[:64])
            )
            by_key.pop(key, None)
        fields = raw.get("fields") or {}
        updated = parse_jira_time(fields.get("updated")) or now
        if row is not None and only_if_newer and updated < row.updated_at:
            out.append(StoredItem(row.id, jira_id, row.key, row.issue_type, row.updated_at, False))
            continue
        values = _values(raw, fields, updated, now, field_rule, row.fields if row else None)
        if row is None:
            values.setdefault("created_at", updated)
            inserts.append(
                {
                    "project_key": "",
                    "issue_type": "",
                    "summary": "",
                    "status": "",
                    "status_id": None,
                    "assignee_id": None,
                    "assignee_name": None,
                    "labels": [],
                    "fields": {},
                    "escaped": False,
                    **values,
                    "team_id": team_id,
                    "jira_id": jira_id,
                }
            )
            out.append(jira_id)
            continue
        changed = row.updated_at != updated or row.key != key or row.deleted
        updates.setdefault(tuple(sorted(values)), []).append({"_id": row.id, **values})
        issue_type = values.get("issue_type", row.issue_type)
        out.append(StoredItem(row.id, jira_id, key, issue_type, updated, changed))
    for names, batch in updates.items():
        s.execute(
            update(ITEMS)
            .where(c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in names}),
            batch,
        )
    new_ids: dict[str, int] = {}
    if inserts:
        unique = list({v["jira_id"]: v for v in inserts}.values())
        _insert_rows(s, ITEMS, unique)
        new_ids = dict(
            s.execute(
                select(c.jira_id, c.id).where(
                    c.team_id == team_id, c.jira_id.in_([v["jira_id"] for v in unique])
                )
            ).all()
        )
    by_new = {v["jira_id"]: v for v in inserts}
    return [
        item
        if isinstance(item, StoredItem)
        else StoredItem(
            new_ids[item],
            item,
            by_new[item]["key"],
            by_new[item]["issue_type"],
            by_new[item]["updated_at"],
            True,
        )
        for item in out
    ]


def _values(
    raw: dict[str, Any],
    fields: dict[str, Any],
    updated: datetime,
    now: datetime,
    field_rule: str | None,
    stored_fields: dict[str, Any] | None,
) -> dict[str, Any]:
    """The columns a raw issue sets; fields it does not carry are left as stored."""
    key = str(raw["key"])
    values: dict[str, Any] = {
        "key": key,
        "project_key": str((fields.get("project") or {}).get("key") or key.split("-")[0])[:32],
        "updated_at": updated,
        "synced_at": now,
        "deleted": False,
    }
    if "issuetype" in fields:
        values["issue_type"] = str((fields.get("issuetype") or {}).get("name") or "")[:64]
    if "summary" in fields:
        values["summary"] = str(fields.get("summary") or "")
    if "status" in fields:
        status = fields.get("status") or {}
        values["status"] = str(status.get("name") or "")[:100]
        values["status_id"] = str(status["id"]) if status.get("id") is not None else None
    if "assignee" in fields:
        assignee = fields.get("assignee") or {}
        who = assignee.get("accountId") or assignee.get("name") or assignee.get("key")
        name = assignee.get("displayName")
        values["assignee_id"] = str(who)[:128] if who else None
        values["assignee_name"] = str(name)[:255] if name else None
    if "labels" in fields:
        values["labels"] = [str(x) for x in fields.get("labels") or []]
    if field_rule and field_rule in fields:
        values["fields"] = {**(stored_fields or {}), field_rule: fields.get(field_rule)}
    created = parse_jira_time(fields.get("created"))
    if created is not None:
        values["created_at"] = created
    return values


def change_rows(
    team_id: int, work_item_id: int, histories: Iterable[dict[str, Any]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Status and assignee changes of a changelog, keyed by (history id, field)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for history in histories:
        history_id = str(history.get("id") or "")
        at = parse_jira_time(history.get("created"))
        if not history_id or at is None:
            continue
        for item in history.get("items") or []:
            field = str(item.get("fieldId") or item.get("field") or "").lower()
            if field not in CHANGE_FIELDS:
                continue
            from_id = item.get("from") or item.get("tmpFromAccountId")
            to_id = item.get("to") or item.get("tmpToAccountId")
            found[(history_id[:32], field)] = {
                "team_id": team_id,
                "work_item_id": work_item_id,
                "history_id": history_id[:32],
                "field": field,
                "from_id": str(from_id)[:128] if from_id else None,
                "from_value": _cut(item.get("fromString")),
                "to_id": str(to_id)[:128] if to_id else None,
                "to_value": _cut(item.get("toString")),
                "at": at,
            }
    return found


def _cut(value: Any) -> str | None:
    return str(value)[:255] if value is not None else None


def insert_changes(
    s: Session, team_id: int, changelogs: list[tuple[StoredItem, list[dict[str, Any]]]]
) -> int:
    """Insert the changes not stored yet (a changelog entry never changes once written)."""
    wanted: dict[tuple[int, str, str], dict[str, Any]] = {}
    for item, histories in changelogs:
        for (history_id, field), values in change_rows(team_id, item.id, histories).items():
            wanted[(item.id, history_id, field)] = values
    if not wanted:
        return 0
    item_ids = sorted({item_id for item_id, _h, _f in wanted})
    c = CHANGES.c
    existing = {
        (r.work_item_id, r.history_id, r.field)
        for r in s.execute(
            select(c.work_item_id, c.history_id, c.field).where(c.work_item_id.in_(item_ids))
        ).all()
    }
    new = [values for k, values in wanted.items() if k not in existing]
    _insert_rows(s, CHANGES, new)
    return len(new)


def _insert_rows(s: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """One executemany (psycopg pipelines it; a multi-row VALUES or RETURNING measured
    slower on PostgreSQL)."""
    if rows:
        s.execute(insert(table), rows)
