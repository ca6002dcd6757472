"""Jira history for the digest: a team's issues and their status and assignee changes,
brought in step with Jira incrementally.

Each run asks for the team's JQL `AND updated >= watermark - overlap ORDER BY updated ASC`
and stores page by page; the watermark (sync_state `jira:{team_id}`) moves in the same
transaction as the page it covers, so a run stopped anywhere resumes from there, and
everything is an upsert by natural key (work item: team + Jira id, then key; change:
work item + history id + field), so repeating a page stores nothing twice.

After each page the next query starts again from the minute of the page's newest issue
("seek" paging) rather than following an offset: an issue updated while we page moves to
the end of the ordering, which would make an offset skip its neighbour. JQL dates have
minute precision, so a page entirely within one minute is followed by its page token.

A search embeds only part of a long changelog (Cloud: the newest 100 entries); the rest
comes from Cloud's bulk changelog fetch, or from `/issue/{id}/changelog` pages fetched in
parallel. Only the gateway talks to Jira; this module knows nothing of the jira client, and
the storing is `chatbot.jira.store`'s (shared with the webhook).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import update
from sqlmodel import col, select

from chatbot.clock import Clock
from chatbot.db.core_models import SyncState
from chatbot.db.engine import Database
from chatbot.db.outage import log_job_failure
from chatbot.jira.errors import JiraError, JiraNotFound
from chatbot.jira.gateway import JiraGateway, SearchPage
from chatbot.jira.models import JiraStatus, WorkItem
from chatbot.jira.store import (
    BUG_TYPE,
    CHANGE_FIELDS,
    SyncCursor,
    escape_field,
    escape_jql,
    escape_recheck_name,
    insert_changes,
    load_state,
    parse_jira_time,
    save_state,
    state_name,
    stored_updated,
    upsert_items,
)
from chatbot.teams.models import Team

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=5)  # Jira's search index can lag a write by a few seconds
PAGE_SIZE = 100
BASE_FIELDS = [
    "summary",
    "status",
    "issuetype",
    "assignee",
    "labels",
    "created",
    "updated",
    "project",
]

#: Called after each stored page with (issues stored so far, total when Jira tells it).
ProgressFn = Callable[[int, int | None], None]


class JiraHistoryError(Exception):
    """A team that cannot be synced as configured (no project or JQL)."""


@dataclass
class SyncResult:
    team: str
    issues: int = 0
    changes: int = 0
    deleted: int = 0
    escaped: int = 0
    requests: int = 0


def team_jql(team: Team) -> str:
    """The team's JQL without any ORDER BY (the sync adds its own ordering)."""
    if team.jira_jql and team.jira_jql.strip():
        return re.sub(r"\s*\bORDER\s+BY\b.*$", "", team.jira_jql.strip(), flags=re.I | re.S)
    if team.jira_project:
        return f"project = {team.jira_project}"
    raise JiraHistoryError(
        f"Team {team.name} has no Jira project or JQL; set one with "
        f"`chatbot team set {team.name} jira_project KEY`."
    )


def jql_time(at: datetime, zone_name: str) -> str:
    """A UTC instant as a JQL date, which Jira reads in the account's zone at minute
    precision. When that local minute happens twice (clocks going back) go one hour
    earlier, so whichever of the two Jira picks, nothing is skipped."""
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = at.astimezone(zone)
    naive = local.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first != second:
        local = (at - timedelta(hours=1)).astimezone(zone)
    return local.strftime("%Y/%m/%d %H:%M")


def _embedded_since(raw: dict[str, Any], stored: datetime | None) -> bool:
    """Whether the issue's embedded changelog holds every entry made after `stored` (its
    `updated` when we stored it): its oldest embedded entry is no newer than that. An issue
    unchanged since is always so (its entries are all at or before its `updated`)."""
    if stored is None:
        return False
    times = [
        t
        for h in (raw.get("changelog") or {}).get("histories") or []
        if (t := parse_jira_time(h.get("created"))) is not None
    ]
    return bool(times) and min(times) <= stored


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _status_ids(issues: list[dict[str, Any]]) -> set[str]:
    found = {str(((i.get("fields") or {}).get("status") or {}).get("id") or "") for i in issues}
    return found - {""}


class JiraHistorySync:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        gateway: JiraGateway,
        overlap: timedelta = OVERLAP,
        page_size: int = PAGE_SIZE,
        workers: int = 4,
    ) -> None:
        self.db = db
        self.clock = clock
        self.gateway = gateway
        self.overlap = overlap
        self.page_size = page_size
        self.workers = workers

    # --- one team ------------------------------------------------------------------------
    def sync_team(
        self, team: Team, full: bool = False, progress: ProgressFn | None = None
    ) -> SyncResult:
        base = team_jql(team)
        assert team.id is not None
        name = state_name(team.id)
        sent_before = self.gateway.requests_sent
        result = SyncResult(team.name)
        watermark, cursor = self._load_state(name)
        if full:
            # Everything again: a fresh account zone and catalogue, and at the end every
            # item this run did not see is marked deleted (gone, or moved out of the JQL).
            watermark = None
            cursor = SyncCursor(full_started=self.clock.now(), escape_pending=True)
        zone = cursor.tz or self.gateway.time_zone()
        cursor.tz = zone
        since = watermark - self.overlap if watermark else None
        # The escape rule is re-evaluated from the earliest of: this run's start, a run
        # that stopped before evaluating it, bugs a webhook stored (the sync sees no change).
        starts: list[datetime | None] = [since]
        if cursor.escape_pending:
            starts.append(cursor.escape_from)
        with self.db.session() as s:
            recheck = load_state(s, escape_recheck_name(team.id))
        if recheck is not None:
            cursor.escape_pending = True
            starts.append(recheck[0])
        cursor.escape_from = None if None in starts else min(t for t in starts if t is not None)
        self._save_state(name, watermark, cursor, drop=escape_recheck_name(team.id))
        known_statuses = self._known_statuses()
        if full:
            known_statuses = self.refresh_statuses()

        fields = BASE_FIELDS + ([f] if (f := escape_field(team)) else [])
        query_since, token = since, None
        total: int | None = None

        def fetch(since: datetime | None, token: str | None) -> tuple[SearchPage, list[Any]]:
            jql = f"({base})"
            if since is not None:
                jql += f' AND updated >= "{jql_time(since, zone)}"'
            page = self.gateway.search_page(
                jql + " ORDER BY updated ASC, key ASC", fields, token, self.page_size
            )
            issues = [i for i in page.issues if i.get("id") and i.get("key")]
            # A full sync reads every changelog again (it is also the repair); an incremental
            # one trusts what it stored.
            self._complete_changelogs(team.id or 0, issues, cursor.full_started is None)
            return page, issues

        # The next page is read while this one is stored; pages are still stored in order.
        with ThreadPoolExecutor(max_workers=1) as ahead:
            pending: Future[tuple[SearchPage, list[Any]]] | None = ahead.submit(
                fetch, query_since, token
            )
            while pending is not None:
                page, issues = pending.result()
                newest = max(
                    (t for i in issues if (t := parse_jira_time(i["fields"].get("updated")))),
                    default=None,
                )
                pending = None
                if page.next_cursor is not None and newest is not None:
                    if query_since is None or _minute(newest) > _minute(query_since):
                        query_since, token = newest, None
                    else:
                        token = page.next_cursor
                    pending = ahead.submit(fetch, query_since, token)
                if _status_ids(issues) - known_statuses:
                    known_statuses = self.refresh_statuses()
                if newest is not None:
                    watermark = max(watermark, newest) if watermark else newest
                stored, changes, changed_bugs = self._store_page(
                    team, issues, name, watermark, cursor
                )
                result.issues += stored
                result.changes += changes
                total = page.total if total is None else total  # the first query's count
                if progress is not None:
                    progress(result.issues, total)

        if cursor.escape_pending and escape_jql(team):
            result.escaped = self._evaluate_escapes(team, base, cursor.escape_from, zone)
        cursor.escape_pending, cursor.escape_from = False, None
        if cursor.full_started is not None:
            result.deleted = self._mark_unseen_deleted(team, cursor.full_started)
            cursor.full_started = None
        self._save_state(name, watermark, cursor)
        result.requests = self.gateway.requests_sent - sent_before
        return result

    # --- changelogs ------------------------------------------------------------------------
    def _complete_changelogs(
        self, team_id: int, issues: list[dict[str, Any]], trust_stored: bool
    ) -> None:
        """Give every issue its whole changelog (as far as status and assignee go).

        Only the changes not stored yet matter (a changelog entry never changes), so with
        `trust_stored` an issue whose embedded entries reach back to its stored `updated`
        (every issue the overlap re-reads unchanged, and most changed ones) is not fetched
        again: everything newer came embedded, everything older is stored."""
        partial = [
            raw
            for raw in issues
            if int((raw.get("changelog") or {}).get("total") or 0)
            > len((raw.get("changelog") or {}).get("histories") or [])
        ]
        if partial and trust_stored:
            with self.db.session() as s:
                stored = stored_updated(s, team_id, [str(raw["id"]) for raw in partial])
            partial = [
                raw for raw in partial if not _embedded_since(raw, stored.get(str(raw["id"])))
            ]
        if not partial:
            return
        fetched: dict[str, list[dict[str, Any]]] = {}
        if self.gateway.is_cloud:
            try:
                fetched = self.gateway.bulk_changelogs(
                    [str(raw["id"]) for raw in partial], list(CHANGE_FIELDS)
                )
            except JiraNotFound:
                fetched = self._page_changelogs(partial)
        else:
            fetched = self._page_changelogs(partial)
        for raw in partial:
            changelog = raw.setdefault("changelog", {})
            merged = {str(h.get("id")): h for h in changelog.get("histories") or []}
            for history in fetched.get(str(raw["id"]), []):
                merged[str(history.get("id"))] = history
            changelog["histories"] = list(merged.values())

    def _page_changelogs(self, partial: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """`/issue/{id}/changelog` from its start up to what came embedded (the newest
        entries), every page of every issue fetched in parallel."""
        tasks: list[tuple[str, int]] = []
        for raw in partial:
            changelog = raw.get("changelog") or {}
            missing = int(changelog.get("total") or 0) - len(changelog.get("histories") or [])
            tasks += [(str(raw["id"]), start) for start in range(0, missing, self.page_size)]
        found: dict[str, list[dict[str, Any]]] = {}

        def fetch(task: tuple[str, int]) -> tuple[str, list[dict[str, Any]]]:
            issue_id, start = task
            return issue_id, self.gateway.changelog_page(issue_id, start, self.page_size).histories

        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(tasks)))) as pool:
            for issue_id, histories in pool.map(fetch, tasks):
                found.setdefault(issue_id, []).extend(histories)
        return found

    # --- storing ---------------------------------------------------------------------------
    def _store_page(
        self,
        team: Team,
        issues: list[dict[str, Any]],
        name: str,
        watermark: datetime | None,
        cursor: SyncCursor,
    ) -> tuple[int, int, bool]:
        """Upsert a page's work items and their new changes, and move the watermark, in one
        transaction; (items, changes, a bug changed)."""
        now = self.clock.now()
        with self.db.session() as s:
            items = upsert_items(s, team.id or 0, issues, now, escape_field(team)) if issues else []
            changed_bug = any(item.changed and item.issue_type == BUG_TYPE for item in items)
            changelogs = [
                (item, (raw.get("changelog") or {}).get("histories") or [])
                for raw, item in zip(issues, items, strict=True)
            ]
            added = insert_changes(s, team.id or 0, changelogs)
            if changed_bug:
                cursor.escape_pending = True
            save_state(s, name, watermark, cursor, now)
        return len(issues), added, changed_bug

    def _known_statuses(self) -> set[str]:
        with self.db.session() as s:
            return set(s.exec(select(JiraStatus.status_id)).all())

    def refresh_statuses(self) -> set[str]:
        """Jira's status catalogue, with each status's category, into jira_status."""
        catalogue = self.gateway.statuses()
        now = self.clock.now()
        with self.db.session() as s:
            existing = {row.status_id: row for row in s.exec(select(JiraStatus)).all()}
            for raw in catalogue:
                status_id = str(raw.get("id") or "")
                if not status_id:
                    continue
                name = str(raw.get("name") or "")[:100]
                category = str((raw.get("statusCategory") or {}).get("key") or "")[:32]
                row = existing.get(status_id)
                if row is None:
                    s.add(
                        JiraStatus(
                            status_id=status_id, name=name, category=category, updated_at=now
                        )
                    )
                elif (row.name, row.category) != (name, category):
                    row.name, row.category, row.updated_at = name, category, now
                    s.add(row)
            return set(existing) | {str(r.get("id")) for r in catalogue if r.get("id")}

    def _evaluate_escapes(self, team: Team, base: str, since: datetime | None, zone: str) -> int:
        """The team's escape JQL over its bugs updated since `since` (all when None):
        matching bugs are flagged escaped, the others in that range are not."""
        rule = escape_jql(team)
        jql = f"({base}) AND issuetype = {BUG_TYPE} AND ({rule})"
        if since is not None:
            jql += f' AND updated >= "{jql_time(since, zone)}"'
        matched: set[str] = set()
        token: str | None = None
        while True:
            page = self.gateway.search_page(
                jql, ["issuetype"], token, self.page_size, expand_changelog=False
            )
            matched |= {str(i.get("id")) for i in page.issues}
            token = page.next_cursor
            if token is None:
                break
        with self.db.session() as s:
            query = select(WorkItem).where(
                WorkItem.team_id == team.id, WorkItem.issue_type == BUG_TYPE
            )
            if since is not None:
                # `since` itself, not the earlier minute the query used: every bug in this
                # range was within the query's range, so "not matched" means not escaped.
                query = query.where(col(WorkItem.updated_at) >= since)
            for row in s.exec(query).all():
                escaped = row.jira_id in matched
                if row.escaped != escaped:
                    row.escaped = escaped
                    s.add(row)
        return len(matched)

    def _mark_unseen_deleted(self, team: Team, started: datetime) -> int:
        with self.db.session() as s:
            outcome = s.execute(
                update(WorkItem)
                .where(
                    col(WorkItem.team_id) == team.id,
                    col(WorkItem.synced_at) < started,
                    col(WorkItem.deleted).is_(False),
                )
                .values(deleted=True)
            )
            return int(getattr(outcome, "rowcount", 0) or 0)

    # --- sync state ------------------------------------------------------------------------
    def _load_state(self, name: str) -> tuple[datetime | None, SyncCursor]:
        with self.db.session() as s:
            return load_state(s, name) or (None, SyncCursor())

    def _save_state(
        self,
        name: str,
        watermark: datetime | None,
        cursor: SyncCursor,
        drop: str | None = None,
    ) -> None:
        with self.db.session() as s:
            save_state(s, name, watermark, cursor, self.clock.now())
            gone = s.get(SyncState, drop) if drop else None
            if gone is not None:
                s.delete(gone)


# --- every team: the clock job and `chatbot sync jira` without --team ----------------------
def syncable_teams(db: Database) -> list[Team]:
    with db.session() as s:
        teams = s.exec(select(Team).order_by(col(Team.name))).all()
    return [t for t in teams if (t.jira_jql or "").strip() or t.jira_project]


def sync_all_teams(db: Database, clock: Clock, gateway: JiraGateway) -> list[SyncResult]:
    """The clock's job: every team with a Jira project or JQL, one after another; a team
    whose sync fails is logged in one line and retried at the next tick from its watermark."""
    sync = JiraHistorySync(db, clock, gateway)
    results: list[SyncResult] = []
    for team in syncable_teams(db):
        try:
            results.append(sync.sync_team(team))
        except (JiraError, JiraHistoryError) as exc:
            log.warning(
                "Jira sync of team %s stopped (%s); it resumes at the next run", team.name, exc
            )
        except Exception as exc:
            log_job_failure(
                log, exc, "Jira sync of team %s failed; it resumes at the next run", team.name
            )
    return results
