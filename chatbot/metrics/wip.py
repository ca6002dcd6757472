"""WIP per engineer at the week's end instant (and at the end of each of its 7 local days).

At an instant, each work item's status and assignee are the last ones set before it (from
the changelog); before its first change an item has that change's `from` value, and an item
with no change has its current values, once it was created before the instant. Its category
comes from the current status mapping (`chatbot.metrics.categories`). Items in an
in-progress category count per assignee (`by_person`, by Jira display name); unassigned
items, and non-members' items when the team sets members, are `excluded`. `mean` = total ÷
people (the members when set, else the assignees holding at least one item); no people →
null. Deleted items are left out.

How the rows are found without reading the whole history, for each range of asked weeks
(the 8 trend weeks; the baseline week), from whichever side of the history is shorter:
either the changes since the range's start plus the items in progress now (every other
item kept its current values through the range), or the items created by the range's end
with their changes before it and, for items not changed by then, their first later change.
Both read the changelog as a chain (each change's `from` is the previous `to`), which
Jira's changelog is.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import bindparam, func, select, text

from chatbot.db.engine import Database
from chatbot.db.types import UTCDateTime
from chatbot.jira.models import WorkItem, WorkItemChange
from chatbot.metrics.base import ExplainItem, TeamScope, WeekFigure
from chatbot.metrics.categories import IN_PROGRESS, status_categories, statuses_in
from chatbot.metrics.common import iso, merged_ranges, rounded
from chatbot.metrics.stats import rate
from chatbot.metrics.week import Week

WI = WorkItem.__table__.c  # type: ignore[attr-defined]
WIC = WorkItemChange.__table__.c  # type: ignore[attr-defined]
FIELDS = ("status", "assignee")
Assignee = tuple[str | None, str | None]  # (account id, display name)


@dataclass
class _Item:
    key: str
    created_at: datetime
    status: str | None
    assignee: Assignee
    changes: dict[str, list[Any]] = field(default_factory=lambda: {"status": [], "assignee": []})


@dataclass
class _Snapshot:
    """WIP at one instant."""

    by_person: dict[str, int] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    items: list[ExplainItem] = field(default_factory=list)


class Wip:
    name = "wip"
    headline = "mean"
    lower_is_better = True

    def compute(
        self, db: Database, team: TeamScope, weeks: Sequence[Week], explain: bool = False
    ) -> dict[str, WeekFigure]:
        categories = status_categories(db, team)
        in_progress = set(statuses_in(categories, IN_PROGRESS))
        instants = sorted({t for w in weeks for t in w.day_ends()})
        snapshots = {t: _Snapshot() for t in instants}
        ranges = merged_ranges(weeks)
        with db.engine.connect() as conn:
            earliest, latest = _history_span(conn, team)
            for start, end in ranges:
                # Read the shorter side of the history: what happened since the range began
                # (recent weeks), or what existed by its end (an early baseline).
                since_cost = (latest - start) if latest else timedelta(0)
                until_cost = (end - earliest) if earliest else timedelta(0)
                loader = _items_since if since_cost <= until_cost else _items_until
                items = loader(conn, team, start, end, in_progress)
                inside = [t for t in instants if start < t <= end]
                _count(team, items, inside, snapshots, categories, explain)
        return {w.label: _figure(team, w, snapshots, explain) for w in weeks}


def _history_span(conn: Any, team: TeamScope) -> tuple[datetime | None, datetime | None]:
    """The team's first work item and last change (two index lookups)."""
    earliest = conn.execute(
        select(func.min(WI.created_at)).where(WI.team_id == team.team_id)
    ).scalar()
    latest = max(
        (
            conn.execute(
                select(func.max(WIC.at)).where(WIC.team_id == team.team_id, WIC.field == name)
            ).scalar()
            for name in FIELDS
        ),
        key=lambda at: at or datetime.min.replace(tzinfo=UTC),
    )
    return earliest, latest


def _status_names(in_progress: set[str], team: TeamScope) -> list[str]:
    """Current statuses to look up by index: the lower-cased names, their title-cased and
    upper-cased forms, and the names as the team wrote them in its overrides."""
    names = set(in_progress) | {n.title() for n in in_progress} | {n.upper() for n in in_progress}
    names |= {n for n in team.status_overrides if n.lower() in in_progress}
    return sorted(names)


def _change_rows(conn: Any, team: TeamScope, *where: Any) -> Sequence[Any]:
    """Status and assignee changes; each item's lists are put in order by `_attach`."""
    return conn.execute(
        select(
            WIC.id,
            WIC.work_item_id,
            WIC.field,
            WIC.at,
            WIC.from_id,
            WIC.from_value,
            WIC.to_id,
            WIC.to_value,
        ).where(WIC.team_id == team.team_id, WIC.field.in_(FIELDS), *where)
    ).all()


_BY_TIME_THEN_FIELD = itemgetter(0, 1)
_BY_TIME_THEN_ID = attrgetter("at", "id")


def _attach(items: dict[int, _Item], changes: Sequence[Any]) -> list[_Item]:
    """Each item's changes per field, in the order they were made (ties: as recorded)."""
    for change in changes:
        item = items.get(change.work_item_id)
        if item is not None:
            item.changes[change.field].append(change)
    for item in items.values():
        for field_changes in item.changes.values():
            field_changes.sort(key=_BY_TIME_THEN_ID)
    return list(items.values())


def _items_since(
    conn: Any, team: TeamScope, start: datetime, end: datetime, in_progress: set[str]
) -> list[_Item]:
    """Changes since `start` (to now) and the items they touch, plus the items in progress
    now: every other item kept its current values through the range. The items are read
    by id and by current status, two index lookups (a join would let a planner scan them)."""
    changes = _change_rows(conn, team, WIC.at >= start)
    columns = (WI.id, WI.key, WI.created_at, WI.status, WI.assignee_id, WI.assignee_name)
    live = (WI.team_id == team.team_id, WI.deleted.is_(False), WI.created_at < end)
    touched = sorted({c.work_item_id for c in changes})
    rows = list(conn.execute(select(*columns).where(WI.id.in_(touched), *live)).all())
    rows += conn.execute(_open_now(conn.dialect.name, team, in_progress)).all()
    items = {
        r.id: _Item(r.key, r.created_at, r.status, (r.assignee_id, r.assignee_name)) for r in rows
    }
    return _attach(items, changes)


def _open_now(dialect: str, team: TeamScope, in_progress: set[str]) -> Any:
    """The team's items in progress now, through the (team, status) index. SQLite's
    statistics average over statuses (most items are done), so it would rather scan the
    table; there the index is named."""
    names = _status_names(in_progress, team)
    if dialect != "sqlite":
        return select(
            WI.id, WI.key, WI.created_at, WI.status, WI.assignee_id, WI.assignee_name
        ).where(WI.team_id == team.team_id, WI.status.in_(names), WI.deleted.is_(False))
    return (
        text(
            "SELECT id, key, created_at, status, assignee_id, assignee_name "
            "FROM work_item INDEXED BY ix_work_item_team_status "
            "WHERE team_id = :team AND status IN :names AND deleted = 0"
        )
        .bindparams(bindparam("names", expanding=True))
        .bindparams(team=team.team_id, names=names)
        .columns(created_at=UTCDateTime())
    )


def _items_until(
    conn: Any, team: TeamScope, start: datetime, end: datetime, in_progress: set[str]
) -> list[_Item]:
    """Items created before `end` with their changes before it; an item not changed before
    `end` takes the `from` values of its first later change (or its current values)."""

    def first_after(field_name: str, column: Any) -> Any:
        return (
            select(column)
            .where(WIC.work_item_id == WI.id, WIC.field == field_name, WIC.at >= end)
            .order_by(WIC.at, WIC.id)
            .limit(1)
            .scalar_subquery()
        )

    rows = conn.execute(
        select(
            WI.id,
            WI.key,
            WI.created_at,
            WI.status,
            WI.assignee_id,
            WI.assignee_name,
            first_after("status", WIC.from_value).label("status_then"),
            first_after("status", WIC.id).label("status_later"),
            first_after("assignee", WIC.from_id).label("assignee_id_then"),
            first_after("assignee", WIC.from_value).label("assignee_name_then"),
            first_after("assignee", WIC.id).label("assignee_later"),
        ).where(WI.team_id == team.team_id, WI.deleted.is_(False), WI.created_at < end)
    ).all()
    items: dict[int, _Item] = {}
    for r in rows:
        status = r.status_then if r.status_later is not None else r.status
        if r.assignee_later is not None:
            assignee = (r.assignee_id_then, r.assignee_name_then)
        else:
            assignee = (r.assignee_id, r.assignee_name)
        items[r.id] = _Item(r.key, r.created_at, status, assignee)
    return _attach(items, _change_rows(conn, team, WIC.at < end))


def _segments(
    item: _Item, in_progress: set[str]
) -> list[tuple[datetime, datetime | None, str | None, Assignee]]:
    """(after, until, status, assignee) for the item's in-progress states: the state of every
    instant t with after < t <= until (None = unbounded), once the item exists."""
    statuses, assignees = item.changes["status"], item.changes["assignee"]
    # Before its first change an item has that change's `from` value.
    status = statuses[0].from_value if statuses else item.status
    seen = {status, *(c.to_value for c in statuses)}
    if not any((name or "").lower() in in_progress for name in seen):
        return []  # never in progress: nothing to count
    assignee: Assignee = (
        (assignees[0].from_id, assignees[0].from_value) if assignees else item.assignee
    )
    # Both lists are in order already; a stable sort interleaves them by time.
    events = [(c.at, 0, c) for c in statuses] + [(c.at, 1, c) for c in assignees]
    events.sort(key=_BY_TIME_THEN_FIELD)
    segments = []
    lo: datetime | None = None
    for at, kind, change in events:
        if at != lo:
            segments.append((lo, at, status, assignee))
            lo = at
        if kind == 0:
            status = change.to_value
        else:
            assignee = (change.to_id, change.to_value)
    segments.append((lo, None, status, assignee))
    kept = []
    for after, until, state, person in segments:
        if (state or "").lower() not in in_progress:
            continue
        begin = after if after is not None and after > item.created_at else item.created_at
        if until is None or until > begin:
            kept.append((begin, until, state, person))
    return kept


def _count(
    team: TeamScope,
    items: list[_Item],
    instants: list[datetime],
    snapshots: dict[datetime, _Snapshot],
    categories: dict[str, str],
    explain: bool,
) -> None:
    members = set(team.members)
    in_progress = {name for name, found in categories.items() if found == IN_PROGRESS}
    steps: dict[tuple[str, str], list[int]] = {}
    for item in items:
        for after, until, status, assignee in _segments(item, in_progress):
            first = bisect.bisect_right(instants, after)
            last = bisect.bisect_right(instants, until) if until is not None else len(instants)
            if first >= last:
                continue
            account, name = assignee
            if account is None and name is None:
                reason: str | None = "unassigned"
            elif members and name not in members and account not in members:
                reason = "non_member"
            else:
                reason = None
            person = name or account or ""
            # +1 from the first instant covered, −1 after the last: summed once per range
            # below, so an item in progress for months costs one entry, not one per day.
            key = ("excluded", reason) if reason else ("person", person)
            changes = steps.setdefault(key, [0] * (len(instants) + 1))
            changes[first] += 1
            changes[last] -= 1
            if explain:
                for t in instants[first:last]:
                    snapshots[t].items.append(
                        ExplainItem(
                            ref=item.key,
                            counted=reason is None,
                            value=1.0 if reason is None else None,
                            reason=reason,
                            times={"created": iso(item.created_at), "at": iso(t)},
                            detail=f"{status}, {person or 'unassigned'}",
                        )
                    )
    for (kind, name_or_reason), changes in steps.items():
        running = 0
        for index, t in enumerate(instants):
            running += changes[index]
            if running:
                target = snapshots[t].excluded if kind == "excluded" else snapshots[t].by_person
                target[name_or_reason] = target.get(name_or_reason, 0) + running


def _mean(team: TeamScope, snap: _Snapshot) -> float | None:
    people = len(team.members) if team.members else len(snap.by_person)
    return rate(sum(snap.by_person.values()), people)


def _figure(
    team: TeamScope, week: Week, snapshots: dict[datetime, _Snapshot], explain: bool
) -> WeekFigure:
    end = snapshots[week.end]
    mean = rounded(_mean(team, end))
    by_person = dict(sorted(end.by_person.items()))
    return WeekFigure(
        headline=mean,
        fields={
            "mean": mean,
            "by_person": by_person,
            "over_limit": [p for p, n in by_person.items() if n > team.wip_limit],
            "limit": team.wip_limit,
            "daily": [rounded(_mean(team, snapshots[t])) for t in week.day_ends()],
            "n": sum(by_person.values()),
            "excluded": dict(sorted(end.excluded.items())),
        },
        items=sorted(end.items, key=lambda i: i.ref) if explain else [],
    )


METRIC = Wip()
