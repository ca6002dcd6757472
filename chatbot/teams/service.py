"""Team settings: add, read and change them (the CLI and /digest setup share this).

Values are checked by `chatbot.teams.settings` (one rule per setting); list settings given
again replace the list, and `status-category` adds to or removes from the overrides.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ScalarSelect, Table, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.teams.models import Team
from chatbot.teams.settings import TeamError, check, check_team_name

T = TypeVar("T")

__all__ = ["TeamError", "TeamService", "check_setting"]


def check_setting(key: str, value: Any) -> Any:
    """The checked value of one setting (by column or command-line key), or `TeamError`
    with the reason; for forms that report every bad field at once."""
    return check(key, value)[1]


def _merged_overrides(current: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    """Apply override changes; names match case-insensitively, `None` removes one."""
    merged = dict(current)
    for name, category in changes.items():
        for existing in [n for n in merged if n.casefold() == name.casefold()]:
            del merged[existing]
        if category is not None:
            merged[name] = category
    return merged


def _merged_goals(
    current: dict[str, dict[str, float]], changes: dict[str, dict[str, float] | None]
) -> dict[str, dict[str, float]]:
    """Set or (None) remove one goal per metric, leaving the others."""
    merged = dict(current)
    for metric, goal in changes.items():
        merged.pop(metric, None)
        if goal is not None:
            merged[metric] = goal
    return merged


class TeamService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def add(self, name: str, channel_id: str, /, **fields: Any) -> Team:
        """Add a team; `fields` are settings by column or command-line key (`repos` or
        `repo`, `digest_weekday` or `digest-day`); None means the default."""
        values: dict[str, Any] = {}
        for key, value in fields.items():
            # Not given (None, "" or an empty list) means the default.
            if value is None or value == "" or (isinstance(value, (list, tuple)) and not value):
                continue
            field, checked = check(key, value)
            if field == "status_overrides":
                checked = _merged_overrides({}, checked)
            if field == "goals":
                checked = _merged_goals({}, checked)
            values[field] = checked
        values.pop("name", None)
        _, channel = check("channel", channel_id)
        team = Team(
            name=check_team_name(name),
            **{**values, "channel_id": channel},
            created_at=self.clock.now(),
        )
        try:
            with self.db.session() as s:
                s.add(team)
        except IntegrityError:
            raise TeamError("teams.errors.team_exists", name=name) from None
        return team

    def get(self, name: str) -> Team | None:
        with self.db.session() as s:
            return s.exec(select(Team).where(Team.name == name)).first()

    def by_channel(self, channel_id: str) -> Team | None:
        with self.db.session() as s:
            return _channel_team(s, channel_id)

    def all(self) -> list[Team]:
        with self.db.session() as s:
            return list(s.exec(select(Team).order_by(col(Team.name))).all())

    def update(self, team_name: str, /, **changes: Any) -> Team:
        """Change settings of the team named `team_name`; every value is checked before any
        is written, so a refused change leaves the team as it was. `name=` renames it."""
        checked = [check(key, value) for key, value in changes.items()]
        try:
            with self.db.session() as s:
                team = s.exec(select(Team).where(Team.name == team_name).with_for_update()).first()
                if team is None:
                    raise TeamError("teams.errors.no_team", name=team_name)
                for field, value in checked:
                    if field == "status_overrides":
                        value = _merged_overrides(dict(team.status_overrides or {}), value)
                    if field == "goals":
                        value = _merged_goals(dict(team.goals or {}), value)
                    setattr(team, field, value)
                s.add(team)
                s.flush()
                return team
        except IntegrityError:
            raise TeamError("teams.errors.rename_taken", name=dict(checked).get("name")) from None


def team_of_channel(param: str) -> ScalarSelect[Any]:
    """The id of the team of the channel bound as `param`, as a subquery: a new intent's
    INSERT looks its team up in the same statement. The same order as `_first_of_channel`."""
    return (
        sa_select(_TEAMS.c.id)
        .where(_TEAMS.c.channel_id == bindparam(param))
        .order_by(_TEAMS.c.id)
        .limit(1)
        .scalar_subquery()
    )


_TEAMS: Table = Team.__table__  # type: ignore[attr-defined]


def _channel_team(s: Session, channel_id: str) -> Team | None:
    return s.exec(_first_of_channel(select(Team), channel_id)).first()


def _first_of_channel(query: SelectOfScalar[T], channel_id: str) -> SelectOfScalar[T]:
    # Two teams may name the same channel; the first one created owns what is posted there.
    return query.where(Team.channel_id == channel_id).order_by(col(Team.id)).limit(1)
