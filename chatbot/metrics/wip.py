"""WIP per engineer at the week's end instant (and at the end of each of its 7 local days).

An item's status (or assignee) at an instant is the `from` value of its first change at or
after that instant, or its current value when it has none since. On a complete changelog
(each change's `from` is the previous one's `to`) that is the value last set before the
instant, as the spec words it; on an incomplete one (a transition Jira did not record) it
still ends in the item's current state rather than leaving it in progress for ever. Items
exist from their creation on; deleted items are left out. The category of a status comes
from the current status mapping (`chatbot.metrics.categories`), matched case-insensitively.

Items in an in-progress category count per assignee (`by_person`, by Jira display name);
unassigned items, and non-members' items when the team sets members, are `excluded`.
`mean` = total ÷ people (the members when set, else the assignees holding at least one
item); no people → null.

Every instant is computed the same way, whichever weeks are asked together, by one
statement per range of weeks (`_held`): the database finds the items that may be in progress
at one of the instants, the stretches of time in which each one's status was in progress
(its status changes from the first instant on, each with the one before it), the instants
each stretch covers, and the item's assignee at each (the `from` of its first assignee change
at or after it); it returns the counts per instant, status and assignee, or, for `--explain`,
the items themselves. So a week alone, the same week in a later trend and its `--explain`
list agree by construction. Which items may matter is found from whichever side of the
history is shorter: those whose status changed since the first instant plus those in progress
now (every other item kept its current status all along), or all those created before the
last instant (an early baseline). In a digest, only the reported week needs its 7 daily
figures; the trend and baseline weeks are read at their end instant alone.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    any_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from chatbot.db.engine import Database
from chatbot.db.types import UTCDateTime
from chatbot.jira.models import WorkItem, WorkItemChange
from chatbot.metrics.base import ExplainItem, Reading, TeamScope, WeekFigure
from chatbot.metrics.categories import IN_PROGRESS, spelled_statuses
from chatbot.metrics.common import iso, merged_ranges, rounded
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.stats import rate
from chatbot.metrics.week import Week

WORK_ITEM = WorkItem.__table__  # type: ignore[attr-defined]
CHANGE = WorkItemChange.__table__  # type: ignore[attr-defined]
WI = WORK_ITEM.c
WIC = CHANGE.c
STATUS, ASSIGNEE = "status", "assignee"
FIELDS = (STATUS, ASSIGNEE)

Assignee = tuple[str | None, str | None]  # (Jira account id, display name)


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


class Wip:
    name = MetricKey.WIP
    headline = "mean"
    lower_is_better = True

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        spelled = spelled_statuses(db, team, IN_PROGRESS)
        names = _Names(folded=_folded(spelled), lowered={name.lower() for name in spelled})
        daily = {w for w in weeks if reading is None or reading.shows(w)}
        instants = sorted({t for w in weeks for t in (w.day_ends() if w in daily else [w.end])})
        explained = {w.end for w in weeks} if explain else set()
        snapshots = {t: _Snapshot() for t in instants}
        with db.engine.connect() as conn:
            span = _history_span(conn, team)
            for start, end in merged_ranges(weeks):
                inside = [t for t in instants if start < t <= end]
                if not inside:
                    continue
                recent = _reads_recent_side(inside[0], inside[-1], span)
                counts, listing = _held(conn.dialect.name, len(inside), recent)
                values = _held_values(team, names, inside)
                for row in conn.execute(counts, values):
                    if names.holds(row.status):
                        for t in inside if row.k is None else [inside[row.k]]:
                            _add(team, snapshots[t], (row.account, row.person), row.items)
                if any(t in explained for t in inside):
                    for row in conn.execute(listing, values):
                        for t in inside if row.k is None else [inside[row.k]]:
                            if t in explained and names.holds(row.status):
                                snapshots[t].items.append(_explained(team, row, t))
        for snapshot in snapshots.values():
            snapshot.items.sort(key=lambda item: item.ref)
        return {w.label: _figure(team, w, snapshots, w in daily) for w in weeks}


@dataclass(frozen=True)
class _Names:
    """The in-progress status names: `folded` for the database's `lower()`, `lowered` for
    Python's (which has the last word on the statuses the database returns)."""

    folded: list[str]
    lowered: set[str]

    def holds(self, status: str | None) -> bool:
        return status is not None and status.lower() in self.lowered


def _add(team: TeamScope, snapshot: _Snapshot, assignee: Assignee, count: int) -> None:
    reason = _reason(team, *assignee)
    account, name = assignee
    if reason:
        snapshot.excluded[reason] = snapshot.excluded.get(reason, 0) + count
    else:
        person = name or account or ""
        snapshot.by_person[person] = snapshot.by_person.get(person, 0) + count


def _held_values(team: TeamScope, names: _Names, instants: list[datetime]) -> dict[str, Any]:
    """What `_held`'s statements are run with: the team, its in-progress status names and
    the instants (`t0`, `t1`, ...)."""
    values: dict[str, Any] = {"team_id": team.team_id, "folded": names.folded}
    values.update({f"t{k}": t for k, t in enumerate(instants)})
    return values


@lru_cache(maxsize=64)
def _held(dialect: str, count: int, recent: bool) -> tuple[Select[Any], Select[Any]]:
    """Two statements over one reading of the items in progress at `count` instants (sorted,
    numbered 0..n-1 as `k`, bound as `t0`, `t1`, ...): the counts per instant, status and
    assignee; and the items themselves per instant, for `--explain`. `k` is NULL for the
    items that stood still since the first instant (no status or assignee change since, in
    progress now, created before it): they count the same at every instant, so the database
    groups them once instead of once per instant. Built once per shape (a digest runs them
    every time, and building them costs more than some metrics); `_held_values` binds them."""
    times = [bindparam(f"t{k}", type_=UTCDateTime()) for k in range(count)]
    first, last = times[0], times[-1]
    team_id = bindparam("team_id", type_=Integer())
    in_progress_names = bindparam("folded", expanding=True, type_=String())
    moments = [select(literal(k, Integer).label("k"), t.label("t")) for k, t in enumerate(times)]
    instant = (union_all(*moments) if len(moments) > 1 else moments[0]).cte("instant")
    kept = and_(WI.team_id == team_id, WI.deleted.is_(False), WI.created_at < last)
    last_status = (
        select(func.max(WIC.at))
        .where(WIC.work_item_id == WI.id, WIC.field == STATUS, WIC.at >= first)
        .scalar_subquery()
    )
    moved = (
        select(WIC.id)
        .where(WIC.work_item_id == WI.id, WIC.field == ASSIGNEE, WIC.at >= first)
        .exists()
    )
    # The items in progress now (the (team, lower(status)) index), with their last status
    # change since the first instant (after it, the current status holds) and whether their
    # assignee changed since.
    busy = (
        select(
            WI.id,
            WI.key,
            WI.status,
            WI.created_at,
            WI.assignee_id,
            WI.assignee_name,
            last_status.label("last_at"),
            moved.label("moved"),
        )
        # For an early range, only the few items created by its end (through the (team,
        # created_at) index). For a recent one nearly all are: no bound there (the held
        # instants and `still` check it), or SQLite would read every item by creation.
        .where(
            WI.team_id == team_id,
            WI.deleted.is_(False),
            func.lower(WI.status).in_(in_progress_names),
            *(() if recent else (WI.created_at < last,)),
        )
        .cte("busy")
    )
    # Each status and assignee change from the first instant on, with the one before it
    # (`since`; NULL before the first instant): the whole team's through the (team, field,
    # at) index, which on PostgreSQL carries the columns read here, or, for an early range,
    # those of the items created by then. A change's `from` held in (since, at].
    whose = WIC.team_id == team_id if recent else WIC.work_item_id.in_(select(WI.id).where(kept))
    status = _changes(STATUS, whose, first, WIC.from_value)
    c, b = status.c, busy.c
    still = and_(b.last_at.is_(None), b.moved.is_(False), b.created_at < first)
    stretch = union_all(
        # The status each change ends held in (since, at] ...
        select(
            c.item_id, c.since.label("after"), c.at.label("until"), c.from_value.label("status")
        ).where(func.lower(c.from_value).in_(in_progress_names)),
        # ... and the current status after the last change (all along when none).
        select(b.id, b.last_at, literal(None, UTCDateTime()), b.status).where(~still),
    ).subquery("stretch")
    st, at = stretch.c, instant.c
    held = (
        select(at.k, at.t, st.item_id, st.status)
        .select_from(stretch)
        .join(
            instant,
            and_(
                or_(st.after.is_(None), at.t > st.after),
                or_(st.until.is_(None), at.t <= st.until),
            ),
        )
        .cte("held")
    )
    h = held.c
    # Each item held at some instant, read once by its key (on PostgreSQL as one array of
    # ids: a join or `IN` it may turn into a scan of every item of the team).
    held_ids = select(h.item_id).distinct()
    by_key = (
        WI.id == any_(func.array(held_ids.scalar_subquery()))
        if dialect == "postgresql"
        else WI.id.in_(held_ids)
    )
    item = (
        select(WI.id, WI.key, WI.created_at, WI.assignee_id, WI.assignee_name)
        .where(by_key, kept)
        .cte("item")
    )
    i = item.c
    then = _assignee_then(dialect, h, whose, first)
    joined = held.join(item, and_(i.id == h.item_id, i.created_at < h.t)).outerjoin(
        then.table, then.on
    )
    account = case((then.found, then.from_id), else_=i.assignee_id).label("account")
    person = case((then.found, then.from_value), else_=i.assignee_name).label("person")
    static_account = b.assignee_id.label("account")
    static_person = b.assignee_name.label("person")
    no_k = literal(None, Integer)
    counts = union_all(
        select(h.k, h.status, account, person, func.count().label("items"))
        .select_from(joined)
        .group_by(h.k, h.status, account, person),
        select(no_k, b.status, static_account, static_person, func.count())
        .where(still)
        .group_by(b.status, b.assignee_id, b.assignee_name),
    )
    listing = union_all(
        select(h.k, h.status, account, person, i.key, i.created_at).select_from(joined),
        select(no_k, b.status, static_account, static_person, b.key, b.created_at).where(still),
    )
    return counts, listing


@dataclass(frozen=True)
class _Then:
    """The assignee change that decides an item's assignee at a held instant: its `from`
    (none found: the current assignee)."""

    table: Any
    on: ColumnElement[bool]
    found: ColumnElement[bool]
    from_id: Any
    from_value: Any


def _assignee_then(dialect: str, h: Any, whose: ColumnElement[bool], first: datetime) -> _Then:
    """The item's first assignee change at or after the instant. On PostgreSQL, the changes
    since the first instant read in index order as stretches (since, at], joined on the item
    (a lookup per held item and instant costs a random read each there); on SQLite, whose
    pages are at hand, the id of the change from a correlated subquery, then its row."""
    if dialect == "postgresql":
        found = _changes(ASSIGNEE, whose, first, WIC.from_id, WIC.from_value)
        a = found.c
        holds = and_(a.item_id == h.item_id, or_(a.since.is_(None), h.t > a.since), h.t <= a.at)
        return _Then(found, holds, a.item_id.is_not(None), a.from_id, a.from_value)
    later = CHANGE.alias("later")
    next_id = (
        select(later.c.id)
        .where(later.c.work_item_id == h.item_id, later.c.field == ASSIGNEE, later.c.at >= h.t)
        .order_by(later.c.at, later.c.id)
        .limit(1)
        .scalar_subquery()
    )
    then = CHANGE.alias("then")
    return _Then(
        then, then.c.id == next_id, then.c.id.is_not(None), then.c.from_id, then.c.from_value
    )


def _changes(field: str, whose: ColumnElement[bool], first: datetime, *columns: Any) -> Any:
    """The `field` changes from `first` on, each with `since`: the time of the item's change
    before it (NULL before `first`), in Jira's order (time, then id)."""
    since = func.lag(WIC.at, type_=UTCDateTime()).over(
        partition_by=WIC.work_item_id, order_by=(WIC.at, WIC.id)
    )
    return (
        select(WIC.work_item_id.label("item_id"), WIC.at, *columns, since.label("since"))
        .where(whose, WIC.field == field, WIC.at >= first)
        .subquery(f"{field}_change")
    )


def _history_span(conn: Connection, team: TeamScope) -> tuple[datetime | None, datetime | None]:
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


def _reason(team: TeamScope, account: str | None, name: str | None) -> str | None:
    if not account and not name:
        return "unassigned"
    if team.members and name not in team.members and account not in team.members:
        return "non_member"
    return None


def _explained(team: TeamScope, row: Any, at: datetime) -> ExplainItem:
    reason = _reason(team, row.account, row.person)
    return ExplainItem(
        ref=row.key,
        counted=reason is None,
        value=1.0 if reason is None else None,
        reason=reason,
        times={"created": iso(row.created_at), "at": iso(at)},
        detail=f"{row.status}, {row.person or row.account or 'unassigned'}",
    )


def _mean(team: TeamScope, snap: _Snapshot) -> float | None:
    people = len(team.members) if team.members else len(snap.by_person)
    return rate(sum(snap.by_person.values()), people)


def _figure(
    team: TeamScope, week: Week, snapshots: dict[datetime, _Snapshot], daily: bool
) -> WeekFigure:
    """The week's figure at its end instant; `daily` adds the mean at each day's end (the
    digest asks it of the reported week alone)."""
    end = snapshots[week.end]
    mean = rounded(_mean(team, end))
    by_person = dict(sorted(end.by_person.items()))
    fields: dict[str, Any] = {
        "mean": mean,
        "by_person": by_person,
        "over_limit": [p for p, n in by_person.items() if n > team.wip_limit],
        "limit": team.wip_limit,
    }
    if daily:
        fields["daily"] = [rounded(_mean(team, snapshots[t])) for t in week.day_ends()]
    fields["n"] = sum(by_person.values())
    fields["excluded"] = dict(sorted(end.excluded.items()))
    return WeekFigure(headline=mean, fields=fields, items=end.items)


METRIC = Wip()
