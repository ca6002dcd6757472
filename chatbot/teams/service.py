"""Team settings: add, read and change them (CLI and /digest setup share this)."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.teams.models import Team

_LIST_FIELDS = {"orchestrators", "senior_engineers", "leaders", "admins", "repos", "services"}
_INT_FIELDS = {"wip_limit", "digest_weekday"}
_TEXT_FIELDS = {
    "channel_id",
    "jira_project",
    "jira_jql",
    "jira_issue_type",
    "tz",
    "digest_time",
    "baseline_week",
    "decision_reaction",
}
_ALIASES = {
    "channel": "channel_id",
    "repo": "repos",
    "service": "services",
    "orchestrator": "orchestrators",
    "leader": "leaders",
    "senior": "senior_engineers",
    "seniors": "senior_engineers",
    "reaction": "decision_reaction",
}


class TeamError(Exception):
    pass


def _validate(field: str, value: Any) -> Any:
    if field in _LIST_FIELDS:
        items = value if isinstance(value, list) else re.split(r"[,\s]+", str(value))
        return [i for i in (x.strip() for x in items) if i]
    if field in _INT_FIELDS:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise TeamError(f"{field} must be a whole number, got {value!r}") from None
        if field == "wip_limit" and not 1 <= number <= 50:
            raise TeamError("wip_limit must be between 1 and 50")
        if field == "digest_weekday" and not 0 <= number <= 6:
            raise TeamError("digest_weekday must be 0 (Monday) to 6 (Sunday)")
        return number
    text = None if value in (None, "") else str(value).strip()
    if field == "tz" and text:
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            raise TeamError(f"{text!r} is not a time zone; use a name like Europe/Berlin") from None
    if field == "digest_time" and text and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
        raise TeamError("digest_time must look like 09:00")
    if field == "baseline_week" and text and not re.fullmatch(r"\d{4}-W\d{2}", text):
        raise TeamError("baseline_week must look like 2026-W40")
    if field == "channel_id" and not (text and re.fullmatch(r"[CGD][A-Z0-9]+", text)):
        raise TeamError("channel must be a Slack channel id like C0123ABCD")
    return text


class TeamService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def add(self, name: str, channel_id: str, **fields: Any) -> Team:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}", name):
            raise TeamError("A team name uses letters, digits, - _ . (at most 80)")
        values = {k: _validate(k, v) for k, v in fields.items() if v is not None}
        team = Team(
            name=name,
            channel_id=_validate("channel_id", channel_id),
            created_at=self.clock.now(),
            **values,
        )
        try:
            with self.db.session() as s:
                s.add(team)
        except IntegrityError:
            raise TeamError(f"A team named {name!r} exists already; use `team set`.") from None
        return team

    def get(self, name: str) -> Team | None:
        with self.db.session() as s:
            return s.exec(select(Team).where(Team.name == name)).first()

    def by_channel(self, channel_id: str) -> Team | None:
        with self.db.session() as s:
            return s.exec(
                select(Team).where(Team.channel_id == channel_id).order_by(col(Team.id))
            ).first()

    def all(self) -> list[Team]:
        with self.db.session() as s:
            return list(s.exec(select(Team).order_by(col(Team.name))).all())

    def update(self, name: str, **changes: Any) -> Team:
        with self.db.session() as s:
            team = s.exec(select(Team).where(Team.name == name).with_for_update()).first()
            if team is None:
                raise TeamError(f"No team named {name!r}; see `chatbot team list`.")
            for key, value in changes.items():
                field = _ALIASES.get(key, key)
                if field not in _LIST_FIELDS | _INT_FIELDS | _TEXT_FIELDS:
                    raise TeamError(f"Unknown setting --{key.replace('_', '-')}")
                setattr(team, field, _validate(field, value))
            s.flush()
            return team
