"""WIP per engineer at the week's end instant (and at the end of each of its 7 local days).

At an instant, each work item's status and assignee are the last ones set before it (from
the changelog); before its first change an item has that change's `from` value, and an item
with no change has its current values, once it was created before the instant. Its category
comes from the current status mapping (`chatbot.metrics.categories`). Items in an
in-progress category count per assignee (`by_person`, by Jira display name); unassigned
items, and non-members' items when the team sets members, are `excluded`. `mean` = total ÷
people (the members when set, else the assignees holding at least one item); no people →
null. Deleted items are left out.

The database counts, one statement per range of asked weeks (the 8 trend weeks; the
baseline week). Jira's changelog is a chain (each change's `from` is the previous `to`), so
an item's state just before any instant is the `from` of its first change at or after it,
or its current values when it has none; and a count at an instant is the count when the
range starts plus what changed since. The statement returns, per assignee, the items in
progress when the range starts, then one +1/−1 per event inside the range, bucketed to the
first instant that sees it: an item created in progress; a status change into or out of
progress (for the assignee the item has once that moment's changes are made); an assignee
change while in progress (−1 for the old assignee, +1 for the new). The items in progress
when the range starts are found from whichever side of the history is shorter: among the
items changed since then plus those in progress now (every other item kept its current
values), or among the items created before then (an early baseline).

`--explain` lists the items in progress at the week's end the same way, item by item.
"""

from __future__ import annotations

import bisect
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    any_,
    bindparam,
    case,
    func,
    literal_column,
    select,
    text,
    true,
    union,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ColumnElement

from chatbot.db.engine import Database
from chatbot.db.types import UTCDateTime
from chatbot.jira.models import WorkItem, WorkItemChange
from chatbot.metrics.base import ExplainItem, TeamScope, WeekFigure
from chatbot.metrics.categories import IN_PROGRESS, spelled_statuses
from chatbot.metrics.common import iso, merged_ranges, rounded
from chatbot.metrics.stats import rate
from chatbot.metrics.week import Week

WORK_ITEM = WorkItem.__table__  # type: ignore[attr-defined]
CHANGE = WorkItemChange.__table__  # type: ignore[attr-defined]
WI = WORK_ITEM.c
WIC = CHANGE.c
FIELDS = ("status", "assignee")
ONE, ZERO = literal_column("1", Integer), literal_column("0", Integer)

# The statements are built once per shape (dialect, number of instants, how the items are
# found) and cached: building one costs more than a database runs it. What varies is bound
# by name: see `_params`.
TEAM = bindparam("team_id", type_=Integer())
START = bindparam("range_start", type_=UTCDateTime())
IN_PROGRESS_NAMES = bindparam("in_progress", expanding=True)
SPELLED_NAMES = bindparam("in_progress_spelled", expanding=True)
ID_LIST = bindparam("candidate_id_list", expanding=True)
ID_ARRAY = bindparam("candidate_ids", type_=postgresql.ARRAY(Integer()))


def _instant(index: int) -> Any:
    return bindparam(f"instant_{index}", type_=UTCDateTime())


@dataclass
class _Snapshot:
    """WIP at one instant."""

    by_person: dict[str, int] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    items: list[ExplainItem] = field(default_factory=list)


def _folded(spelled: list[str]) -> list[str]:
    """The in-progress status names for `lower(status) IN (...)`: lowered as Python does
    (among `spelled` already) and as a database that folds ASCII letters only would lower
    them (SQLite; PostgreSQL under the C locale)."""
    ascii_lower = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
    return sorted({name.translate(ascii_lower) for name in spelled})


def _in_progress(column: Any) -> ColumnElement[bool]:
    return func.lower(column).in_(IN_PROGRESS_NAMES)


def _flag(column: Any) -> Any:
    return case((_in_progress(column), ONE), else_=ZERO)


class Wip:
    name = "wip"
    headline = "mean"
    lower_is_better = True

    def compute(
        self, db: Database, team: TeamScope, weeks: Sequence[Week], explain: bool = False
    ) -> dict[str, WeekFigure]:
        spelled = spelled_statuses(db, team, IN_PROGRESS)
        names = {
            "team_id": team.team_id,
            "in_progress": _folded(spelled),
            "in_progress_spelled": spelled,
        }
        instants = sorted({t for w in weeks for t in w.day_ends()})
        snapshots = {t: _Snapshot() for t in instants}
        with db.engine.connect() as conn:
            dialect = conn.dialect.name
            span = _history_span(conn, team)
            for start, end in merged_ranges(weeks):
                inside = [t for t in instants if start < t <= end]
                params = {**names, "range_start": start, **_instants(inside)}
                if _reads_recent_side(start, end, span):
                    # Items not changed since `start` are as they are now: those in progress
                    # now count from the start (or their creation) under their assignee.
                    open_now = conn.execute(_open_now(conn, team, spelled)).all()
                    rows = [*_unchanged(open_now, start, inside)]
                    found = "changed"
                    if dialect == "postgresql":
                        found = "ids"
                        params["candidate_ids"] = _changed_ids(conn, params)
                else:
                    found, open_now, rows = "created", None, []
                statement = _changes(dialect, len(inside), found, open_now is not None)
                rows += conn.execute(statement, params).all()
                _count(team, rows, inside, snapshots)
            if explain:
                for week in weeks:
                    at = week.end
                    params = {**names, "range_start": at}
                    found = "created"
                    if _reads_recent_side(at, at, span):
                        open_ids = [r.id for r in conn.execute(_open_now(conn, team, spelled))]
                        ids = sorted({*_changed_ids(conn, params), *open_ids})
                        params |= {"candidate_ids": ids, "candidate_id_list": ids}
                        found = "ids"
                    rows = conn.execute(_items_at(dialect, found), params).all()
                    snapshots[at].items = _explained(team, rows, at)
        return {w.label: _figure(team, w, snapshots) for w in weeks}


def _instants(instants: list[datetime]) -> dict[str, datetime]:
    return {f"instant_{i}": t for i, t in enumerate(instants, 1)}


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


def _reads_recent_side(
    since: datetime, until: datetime, span: tuple[datetime | None, datetime | None]
) -> bool:
    """Whether the history since `since` is shorter than the history before `until`: then
    the items that may be in progress in between are found among those changed since
    `since` and those in progress now (every other item kept its current values all along);
    else among those created before `until` (an early baseline)."""
    earliest, latest = span
    since_cost = (latest - since) if latest else timedelta(0)
    until_cost = (until - earliest) if earliest else timedelta(0)
    return since_cost <= until_cost


CHANGED_SINCE_START = union(
    *(
        select(WIC.work_item_id.label("id")).where(
            WIC.team_id == TEAM, WIC.field == name, WIC.at >= START
        )
        for name in FIELDS
    )
)
"""The items changed since the range's start: a range of the (team, field, at) index per
field (a DISTINCT would have SQLite walk the whole changelog in item order)."""


def _changed_ids(conn: Any, params: dict[str, Any]) -> list[int]:
    return [row.id for row in conn.execute(CHANGED_SINCE_START, params)]


def _among(dialect: str, column: Any, found: str) -> ColumnElement[bool]:
    """`column` is one of the items that may matter: those created before the end (all;
    the statement bounds them), those changed since the start (a subquery), or a list of
    ids (on PostgreSQL, which would guess tens of thousands of rows from the subquery and
    scan the whole work item table to join them, one array parameter)."""
    if found == "created":
        return true()
    if found == "changed":
        return column.in_(CHANGED_SINCE_START)
    return column == any_(ID_ARRAY) if dialect == "postgresql" else column.in_(ID_LIST)


def _unchanged(open_now: Sequence[Any], start: datetime, instants: list[datetime]) -> Any:
    """The items in progress now, counted as if unchanged since `start` (`_changes` takes
    back the ones that did change): from the start, or from their creation."""
    for row in open_now:
        if row.created_at >= instants[-1]:
            continue
        k = 0 if row.created_at < start else bisect.bisect_right(instants, row.created_at) + 1
        yield _Row(k, row.assignee_id, row.assignee_name, 1)


@dataclass(frozen=True)
class _Row:
    k: int
    a_id: str | None
    a_name: str | None
    delta: int


def _open_now(conn: Any, team: TeamScope, spelled: list[str]) -> Any:
    """The team's items in progress now (by the status names as spelled), through the
    (team, status) index. SQLite's statistics average over statuses (most items are done),
    so it would rather scan the table; there the index is named."""
    columns = (WI.id, WI.created_at, WI.assignee_id, WI.assignee_name)
    if conn.dialect.name != "sqlite":
        return select(*columns).where(
            WI.team_id == team.team_id, WI.status.in_(spelled), WI.deleted.is_(False)
        )
    return (
        text(
            "SELECT id, created_at, assignee_id, assignee_name "
            "FROM work_item INDEXED BY ix_work_item_team_status "
            "WHERE team_id = :team AND status IN :names AND deleted = 0"
        )
        .bindparams(bindparam("names", expanding=True))
        .bindparams(team=team.team_id, names=spelled)
        .columns(*columns)
    )


class _StateAt:
    """An item's status or assignee just before `when` (or, `after`, once the changes made
    at `when` are applied): the `from` of its first change from then on, else its current
    values. Each value is one index lookup on (work item, field, at): a missing value reads
    as "" inside the lookup, so NULL means "no change" (no status named "" is in progress,
    and an empty assignee id or name is taken as none)."""

    def __init__(self, item: Any, when: Any, after: bool = False) -> None:
        self.item, self.when, self.after = item, when, after

    def _value(self, field_name: str, column_name: str, current: Any) -> Any:
        c = CHANGE.alias(f"{field_name}_{column_name}")
        later = c.c.at > self.when if self.after else c.c.at >= self.when
        first = (
            select(func.coalesce(c.c[column_name], ""))
            .where(c.c.work_item_id == self.item.c.id, c.c.field == field_name, later)
            .order_by(c.c.at, c.c.id)
            .limit(1)
            .scalar_subquery()
        )
        return func.coalesce(first, current)

    def status(self) -> Any:
        return self._value("status", "from_value", self.item.c.status)

    def assignee(self) -> tuple[Any, Any]:
        return (
            func.nullif(self._value("assignee", "from_id", self.item.c.assignee_id), ""),
            func.nullif(self._value("assignee", "from_value", self.item.c.assignee_name), ""),
        )


def _instant_index(column: Any, count: int) -> Any:
    """1-based index of the first of the `count` instants strictly after `column` (count + 1
    past the last): the first instant that sees an event at `column`. A balanced CASE, so
    each row costs a handful of comparisons however many instants there are."""

    def pick(lo: int, hi: int) -> Any:  # the answer lies in lo..hi
        if lo == hi:
            return literal_column(str(lo), Integer)
        mid = (lo + hi) // 2  # the answer is at most mid iff column < instant mid
        return case((column < _instant(mid), pick(lo, mid)), else_=pick(mid + 1, hi))

    return pick(1, count + 1)


def _live(item: Any) -> tuple[ColumnElement[bool], ...]:
    return item.c.team_id == TEAM, item.c.deleted.is_(False)


@lru_cache(maxsize=64)
def _changes(dialect: str, count: int, found: str, open_now: bool) -> Any:
    """Rows of (k, assignee id, assignee name, delta) for the items `_among` finds, over
    `count` instants: k = 0 for the items in progress when the range starts, else the
    1-based instant from which the event counts. With `open_now` (counted by `_unchanged`),
    the items among them that are in progress now are taken back first."""
    end = _instant(count)
    item = WORK_ITEM.alias("wi")
    # `id IN (...)`, not a join: joined, SQLite may first scan the whole table to build a
    # Bloom filter for a few thousand lookups.
    items = (
        select(
            item.c.id, item.c.created_at, item.c.status, item.c.assignee_id, item.c.assignee_name
        )
        .where(_among(dialect, item.c.id, found), *_live(item), item.c.created_at < end)
        .cte("items")
    )
    # Each item enters the range when it starts, or when it is created within it.
    before_start = items.c.created_at < START
    entry = _StateAt(items, case((before_start, START), else_=items.c.created_at))
    k_entry = case((before_start, ZERO), else_=_instant_index(items.c.created_at, count))
    entered = select(*_event(k_entry, *entry.assignee(), ONE)).where(_in_progress(entry.status()))
    parts = [entered]
    if open_now:
        current = (items.c.assignee_id, items.c.assignee_name)
        parts.append(
            select(*_event(k_entry, *current, -ONE)).where(items.c.status.in_(SPELLED_NAMES))
        )

    # A change counts once its item exists; earlier ones (clock skew) are in the state the
    # item was created with. The changes are read by (team, field, at); the `+ 0` keeps
    # SQLite from reading them item by item instead, after a scan of the whole changelog to
    # build a Bloom filter.
    def in_range(field_name: str) -> tuple[Any, Any]:
        c = CHANGE.alias(f"in_range_{field_name}")
        return c, (
            select()
            .select_from(c.join(items, items.c.id == c.c.work_item_id + 0))
            .where(
                c.c.team_id == TEAM,
                c.c.field == field_name,
                c.c.at >= START,
                c.c.at < end,
                c.c.at >= items.c.created_at,
            )
        )

    s, status_changes = in_range("status")
    s_delta = _flag(s.c.to_value) - _flag(s.c.from_value)
    new_assignee = _StateAt(items, s.c.at, after=True).assignee()
    status_moves = status_changes.add_columns(
        *_event(_instant_index(s.c.at, count), *new_assignee, s_delta)
    ).where(s_delta != 0)

    a, assignee_changes = in_range("assignee")
    handovers = (
        assignee_changes.add_columns(
            _instant_index(a.c.at, count).label("k"),
            a.c.from_id,
            a.c.from_value,
            a.c.to_id,
            a.c.to_value,
        )
        .where(_in_progress(_StateAt(items, a.c.at).status()))
        .cte("handovers")
    )
    h = handovers.c
    handed_over = select(*_event(h.k, h.from_id, h.from_value, -ONE))
    taken_over = select(*_event(h.k, h.to_id, h.to_value, ONE))
    events = union_all(*parts, status_moves, handed_over, taken_over).subquery("events")
    e = events.c
    return select(e.k, e.a_id, e.a_name, func.sum(e.delta).label("delta")).group_by(
        e.k, e.a_id, e.a_name
    )


def _labelled(assignee: tuple[Any, Any]) -> tuple[Any, Any]:
    return assignee[0].label("a_id"), assignee[1].label("a_name")


def _event(k: Any, a_id: Any, a_name: Any, delta: Any) -> tuple[Any, ...]:
    return k.label("k"), a_id.label("a_id"), a_name.label("a_name"), delta.label("delta")


@lru_cache(maxsize=16)
def _items_at(dialect: str, found: str) -> Any:
    """The items in progress at the instant bound as the range's start, with their status
    and assignee then."""
    item = WORK_ITEM.alias("wi")
    state = _StateAt(item, START)
    status = state.status()
    return select(
        item.c.key, item.c.created_at, status.label("status"), *_labelled(state.assignee())
    ).where(
        _among(dialect, item.c.id, found),
        *_live(item),
        item.c.created_at < START,
        _in_progress(status),
    )


def _reason(team: TeamScope, account: str | None, name: str | None) -> str | None:
    if account is None and name is None:
        return "unassigned"
    if team.members and name not in team.members and account not in team.members:
        return "non_member"
    return None


def _count(
    team: TeamScope,
    rows: Sequence[Any],
    instants: list[datetime],
    snapshots: dict[datetime, _Snapshot],
) -> None:
    """Each assignee's count when the range starts plus the events up to each instant."""
    steps: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        reason = _reason(team, row.a_id, row.a_name)
        key = ("excluded", reason) if reason else ("person", row.a_name or row.a_id or "")
        steps.setdefault(key, [0] * (len(instants) + 1))[row.k] += int(row.delta)
    for (kind, name_or_reason), changes in steps.items():
        running = changes[0]
        for index, t in enumerate(instants, 1):
            running += changes[index]
            if running:
                target = snapshots[t].excluded if kind == "excluded" else snapshots[t].by_person
                target[name_or_reason] = target.get(name_or_reason, 0) + running


def _explained(team: TeamScope, rows: Sequence[Any], instant: datetime) -> list[ExplainItem]:
    items = []
    for row in rows:
        reason = _reason(team, row.a_id, row.a_name)
        person = row.a_name or row.a_id or "unassigned"
        items.append(
            ExplainItem(
                ref=row.key,
                counted=reason is None,
                value=1.0 if reason is None else None,
                reason=reason,
                times={"created": iso(row.created_at), "at": iso(instant)},
                detail=f"{row.status}, {person}",
            )
        )
    return sorted(items, key=lambda i: i.ref)


def _mean(team: TeamScope, snap: _Snapshot) -> float | None:
    people = len(team.members) if team.members else len(snap.by_person)
    return rate(sum(snap.by_person.values()), people)


def _figure(team: TeamScope, week: Week, snapshots: dict[datetime, _Snapshot]) -> WeekFigure:
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
        items=end.items,
    )


METRIC = Wip()
