"""SQL pieces and small helpers the metric modules share: which deployments are the team's
production ones, which rows fall in the asked weeks, who is a human reviewer, and how hours
and instants are written out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    String,
    and_,
    any_,
    bindparam,
    cast,
    column,
    false,
    func,
    or_,
    select,
    union,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ColumnElement

from chatbot.deploys.models import Deployment, DeploymentStatus
from chatbot.metrics.base import TeamScope
from chatbot.metrics.week import Week

FINAL_STATUSES = (DeploymentStatus.SUCCESS, DeploymentStatus.FAILURE)
DECIMALS = 4

_D = Deployment.__table__.c  # type: ignore[attr-defined]


def merged_ranges(weeks: Iterable[Week], before: int = 0) -> list[tuple[datetime, datetime]]:
    """The asked weeks as few [start, end) UTC ranges (the 8 trend weeks are one range, the
    baseline another). `before` widens each week backwards by whole weeks (the defect
    escape window is the week and the one before)."""
    spans = sorted((w.shift(-before).start, w.end) for w in weeks)
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def in_ranges(column: Any, ranges: Sequence[tuple[datetime, datetime]]) -> ColumnElement[bool]:
    """`column` falls in one of the ranges (each an indexable `>= start AND < end`)."""
    if not ranges:
        return false()
    return or_(*(and_(column >= start, column < end) for start, end in ranges))


@lru_cache(maxsize=4096)
def bounds(week: Week) -> tuple[datetime, datetime]:
    """A week's [start, end) in UTC, computed once (the zone arithmetic is not free)."""
    return week.start, week.end


def week_of(instant: datetime | None, weeks: Sequence[Week]) -> Week | None:
    """The asked week an instant falls in, if any."""
    if instant is None:
        return None
    for week in weeks:
        start, end = bounds(week)
        if start <= instant < end:
            return week
    return None


def in_week(instant: datetime | None, week: Week) -> bool:
    if instant is None:
        return False
    start, end = bounds(week)
    return start <= instant < end


def by_week(rows: Iterable[Any], weeks: Sequence[Week], instant: str) -> dict[Week, list[Any]]:
    """The rows whose `instant` attribute falls in each asked week, in their order: one pass
    over the rows, however many weeks are asked."""
    found: dict[Week, list[Any]] = {week: [] for week in weeks}
    for row in rows:
        week = week_of(getattr(row, instant), weeks)
        if week is not None:
            found[week].append(row)
    return found


def merged_in(rows: Iterable[Any], weeks: Sequence[Week]) -> dict[Week, list[Any]]:
    """The PR rows merged in each asked week, in (repo, number) order: how review metrics
    list them. One pass over the rows, however many weeks are asked."""
    found: dict[Week, list[Any]] = {week: [] for week in weeks}
    for row in rows:
        week = week_of(row.merged_at, weeks)
        if week is not None:
            found[week].append(row)
    for listed in found.values():
        listed.sort(key=lambda r: (r.repo, r.number))
    return found


def bot_authored(team: TeamScope, row: Any) -> bool:
    """A PR by a bot (flagged at ingest, or in the team's `bots` setting) has no human review.
    A coding agent's PR is authored work (docs/metrics.md), though GitHub flags it a bot."""
    return team.bot_author(row.author_login, row.author_is_bot)


def team_deployment(team: TeamScope, table: Any = None) -> ColumnElement[bool]:
    """A deployment is the team's when it names a team service, or (GitHub) a team repo."""
    c = table.c if table is not None else _D
    return or_(
        c.service.in_(list(team.services)),
        c.repo.in_(list(team.repos)),
    )


def team_deployment_ids(team: TeamScope, ranges: Sequence[tuple[datetime, datetime]]) -> Any:
    """SELECT id of the team's deployments with `deployed_at` in the ranges: one simple
    branch per (service or repo, range), so each is a range scan of its own index (a planner
    facing `(service OR repo) AND (range OR range)` may read the whole table instead)."""
    branches = []
    for start, end in ranges:
        window = and_(_D.deployed_at >= start, _D.deployed_at < end)
        if team.services:
            branches.append(select(_D.id).where(_D.service.in_(list(team.services)), window))
        if team.repos:
            branches.append(select(_D.id).where(_D.repo.in_(list(team.repos)), window))
    if not branches:
        return select(_D.id).where(false())
    return union(*branches)


def listed_values(dialect: str, **columns: Sequence[Any]) -> Any:
    """The rows (columns[0][i], columns[1][i], ...) as a FROM item to join on, for a long
    list of wanted values on PostgreSQL: one index lookup per row, where `column IN
    (hundreds of values)` may turn into a parallel scan of the table once it is large. None
    on SQLite, whose `IN` lists are index lookups already."""
    if dialect != "postgresql":
        return None
    names = list(columns)
    # One JSON parameter however many rows: thousands of separate parameters cost more to
    # build and send than the lookups themselves, and a text array is quoted element by
    # element on the client.
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    listed = cast(bindparam("wanted", json.dumps(rows), type_=String(), unique=True), JSON)
    wanted = func.json_to_recordset(listed).table_valued(*(column(n, String()) for n in names))
    return wanted.render_derived(name="wanted", with_types=True)


# Up to this many values, SQLite gets a plain `IN (?, ?, ...)`.
_SHORT_LIST = 16


def one_of(dialect: str, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN (values)` with one parameter however many values (hundreds of separate
    parameters cost more to build, bind and send than the lookups themselves): on
    PostgreSQL `column = ANY(:array)`; on SQLite `column IN (SELECT value FROM
    json_each(:list))`, still one index lookup per value. Short lists stay plain `IN`."""
    listed = sorted(set(values))
    if dialect == "postgresql":
        return column == any_(
            bindparam("one_of", listed, type_=postgresql.ARRAY(column.type), unique=True)
        )
    if len(listed) <= _SHORT_LIST:
        return column.in_(listed)
    each = func.json_each(bindparam("one_of", json.dumps(listed), unique=True))
    return column.in_(select(each.table_valued("value").c.value))


def production(team: TeamScope, table: Any = None) -> ColumnElement[bool]:
    """In one of the team's production environments as they are set now (case-insensitive)."""
    c = table.c if table is not None else _D
    return func.lower(c.environment).in_([e.lower() for e in team.production_envs])


def human_reviewer(team: TeamScope, login: Any, is_bot: Any) -> ColumnElement[bool]:
    """Not a bot: not flagged by GitHub, no `[bot]` suffix, not in the team's bots; and not a
    coding agent (its own review is not a human one, docs/metrics.md)."""
    lowered = func.lower(login)
    return and_(
        is_bot.is_(False),
        ~lowered.like("%[bot]"),
        lowered.not_in([*team.bots, *team.agents]),
    )


def hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def rounded(value: float | None) -> float | None:
    """Hours, fractions and means as the JSON carries them."""
    return None if value is None else round(value, DECIMALS)


def iso(instant: datetime | None) -> str | None:
    """UTC, second precision, with a Z."""
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def count(excluded: dict[str, int], reason: str) -> None:
    excluded[reason] = excluded.get(reason, 0) + 1
