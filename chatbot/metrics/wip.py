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

Every instant is computed the same way, whichever weeks are asked together: the database
returns the few items that may be in progress at one of the instants and their changes from
the first instant on, and `_states_at` reads each item's state at each instant from them.
So a week alone, the same week in a later trend and its `--explain` list agree by
construction. Which items may matter is found from whichever side of the history is
shorter: those changed since the first instant plus those in progress now (every other item
kept its current values all along), or all those created before the last instant (an early
baseline).
"""

from __future__ import annotations

import bisect
import json
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, union
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from chatbot.db.engine import Database
from chatbot.db.types import UTCDateTime
from chatbot.jira.models import WorkItem, WorkItemChange
from chatbot.metrics.base import ExplainItem, TeamScope, WeekFigure
from chatbot.metrics.categories import IN_PROGRESS, spelled_statuses
from chatbot.metrics.common import iso, merged_ranges, one_of, rounded
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


@dataclass
class _History:
    """One work item as the instants see it: when it was created, its current values, the
    stretches of time in which its status was in progress, and its assignee changes from
    the first asked instant on, oldest first, as (at, the assignee before the change)."""

    key: str
    created_at: datetime
    status: str | None
    assignee: Assignee
    in_progress: list[_Stretch] = field(default_factory=list)
    assignee_changes: list[tuple[datetime, Assignee]] = field(default_factory=list)


@dataclass(frozen=True)
class _Stretch:
    """The item's status was `status` at the instants t with `after` < t <= `until` (None:
    unbounded on that side)."""

    after: datetime | None
    until: datetime | None
    status: str

    def instants(self, instants: list[datetime], created_at: datetime) -> list[datetime]:
        """Which of `instants` (sorted) it covers, once the item exists."""
        after = created_at if self.after is None else max(self.after, created_at)
        high = len(instants) if self.until is None else bisect.bisect_right(instants, self.until)
        return instants[bisect.bisect_right(instants, after) : high]


def _value_at(changes: list[tuple[datetime, Any]], current: Any, instant: datetime) -> Any:
    """The `from` of the first change at or after `instant`, else the current value."""
    if not changes:
        return current
    index = bisect.bisect_left(changes, instant, key=lambda change: change[0])
    return changes[index][1] if index < len(changes) else current


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
        self, db: Database, team: TeamScope, weeks: Sequence[Week], explain: bool = False
    ) -> dict[str, WeekFigure]:
        spelled = spelled_statuses(db, team, IN_PROGRESS)
        names = _Names(folded=_folded(spelled), lowered={name.lower() for name in spelled})
        instants = sorted({t for w in weeks for t in w.day_ends()})
        explained = {w.end for w in weeks} if explain else set()
        snapshots = {t: _Snapshot() for t in instants}
        held: Counter[tuple[datetime, Assignee]] = Counter()  # items per instant and assignee
        with db.engine.connect() as conn:
            span = _history_span(conn, team)
            for start, end in merged_ranges(weeks):
                inside = [t for t in instants if start < t <= end]
                for history in _histories(conn, team, names, inside, span):
                    for stretch in history.in_progress:
                        for instant in stretch.instants(inside, history.created_at):
                            assignee = _value_at(
                                history.assignee_changes, history.assignee, instant
                            )
                            held[instant, assignee] += 1
                            if instant in explained:
                                snapshots[instant].items.append(
                                    _explained(team, history, stretch.status, assignee, instant)
                                )
        for (instant, assignee), count in held.items():
            _add(team, snapshots[instant], assignee, count)
        for snapshot in snapshots.values():
            snapshot.items.sort(key=lambda item: item.ref)
        return {w.label: _figure(team, w, snapshots) for w in weeks}


@dataclass(frozen=True)
class _Names:
    """The in-progress status names: `folded` for the database's `lower()`, `lowered` for
    Python's."""

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


def _histories(
    conn: Connection,
    team: TeamScope,
    names: _Names,
    instants: list[datetime],
    span: tuple[datetime | None, datetime | None],
) -> list[_History]:
    """The items that may be in progress at one of `instants` (sorted), with the stretches
    in which they were and, for those, their assignee changes from the first instant on."""
    first, last = instants[0], instants[-1]
    dialect = conn.dialect.name
    may_matter: list[ColumnElement[bool]] = [
        WI.team_id == team.team_id,
        WI.deleted.is_(False),
        WI.created_at < last,
    ]
    if _reads_recent_side(first, last, span):
        changed = union(
            *(
                select(WIC.work_item_id).where(
                    WIC.team_id == team.team_id, WIC.field == name, WIC.at >= first
                )
                for name in FIELDS
            )
        )
        changed_ids = [row[0] for row in conn.execute(changed)]
        may_matter.append(
            or_(func.lower(WI.status).in_(names.folded), _one_of_ids(dialect, WI.id, changed_ids))
        )
    rows = conn.execute(
        select(WI.id, WI.key, WI.created_at, WI.status, WI.assignee_id, WI.assignee_name).where(
            *may_matter
        )
    ).all()
    histories = {
        row.id: _History(
            key=row.key,
            created_at=row.created_at,
            status=row.status,
            assignee=(row.assignee_id, row.assignee_name),
        )
        for row in rows
    }
    if not histories:
        return []
    changed_status: set[int] = set()
    for change in conn.execute(_status_stretches(dialect, names, histories, first)):
        history = histories[change.work_item_id]
        if names.holds(change.from_value):
            history.in_progress.append(_Stretch(change.since, change.at, change.from_value))
        if change.last:  # the current status holds after it
            changed_status.add(change.work_item_id)
            if names.holds(history.status):
                history.in_progress.append(_Stretch(change.at, None, history.status or ""))
    for item_id, history in histories.items():
        if item_id not in changed_status and names.holds(history.status):
            history.in_progress.append(_Stretch(None, None, history.status or ""))
    busy = [item_id for item_id, history in histories.items() if history.in_progress]
    if busy:
        assignee_changes = conn.execute(
            select(WIC.work_item_id, WIC.at, WIC.from_id, WIC.from_value)
            .where(
                _one_of_ids(dialect, WIC.work_item_id, busy),
                WIC.field == ASSIGNEE,
                WIC.at >= first,
            )
            .order_by(WIC.work_item_id, WIC.at, WIC.id)
        )
        for change in assignee_changes:
            histories[change.work_item_id].assignee_changes.append(
                (change.at, (change.from_id, change.from_value))
            )
    return [histories[item_id] for item_id in busy]


def _one_of_ids(dialect: str, column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """`column` is one of thousands of ids, as one parameter: an array on PostgreSQL, a JSON
    list read by `json_each` on SQLite (expanding thousands of parameters costs more than
    the lookups)."""
    if dialect != "sqlite":
        return one_of(dialect, column, ids)
    listed = json.dumps(sorted(set(ids)))
    each = func.json_each(bindparam("id_list", listed, unique=True)).table_valued("value")
    return column.in_(select(each.c.value))


def _status_stretches(
    dialect: str, names: _Names, ids: Iterable[int], first: datetime
) -> Select[Any]:
    """Per item, its status changes from `first` on that end an in-progress stretch (their
    `from` is in progress), each with the change before it (`since`, where the stretch
    began; NULL before `first`), and its last change (`last`), after which the
    current status holds. The database orders and filters them: most changes are neither."""
    order = (WIC.at, WIC.id)
    changes = (
        select(
            WIC.work_item_id,
            WIC.at,
            WIC.from_value,
            func.lag(WIC.at, type_=UTCDateTime())
            .over(partition_by=WIC.work_item_id, order_by=order)
            .label("since"),
            func.lead(WIC.id).over(partition_by=WIC.work_item_id, order_by=order).label("next_id"),
        )
        .where(_one_of_ids(dialect, WIC.work_item_id, ids), WIC.field == STATUS, WIC.at >= first)
        .subquery("changes")
    )
    c = changes.c
    last = c.next_id.is_(None)
    return select(c.work_item_id, c.at, c.from_value, c.since, last.label("last")).where(
        or_(func.lower(c.from_value).in_(names.folded), last)
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


def _explained(
    team: TeamScope, history: _History, status: str | None, assignee: Assignee, at: datetime
) -> ExplainItem:
    reason = _reason(team, *assignee)
    account, name = assignee
    return ExplainItem(
        ref=history.key,
        counted=reason is None,
        value=1.0 if reason is None else None,
        reason=reason,
        times={"created": iso(history.created_at), "at": iso(at)},
        detail=f"{status}, {name or account or 'unassigned'}",
    )


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
