"""What every metric shares: the team's settings it reads, one week's figure, and the items
behind it (the `--explain` list and the digest's "Show the work" modal).

A metric is a module with a `METRIC` object satisfying `Metric`. It computes several weeks
in one call (the reported week, the previous ones of the trend, the baseline) so the engine
asks the database once per metric, not once per week; the SQL does the filtering and
grouping, and the statistics run in `chatbot.metrics.stats` over the values it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chatbot.db.engine import Database
from chatbot.metrics.week import Week
from chatbot.teams import defaults


@dataclass(frozen=True)
class TeamScope:
    """The team settings the metrics read, detached from the database row."""

    team_id: int
    name: str
    tz: ZoneInfo
    repos: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    production_envs: tuple[str, ...] = defaults.PRODUCTION_ENVS
    bots: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    wip_limit: int = defaults.WIP_LIMIT
    senior_engineers: tuple[str, ...] = ()
    escape_rule: dict[str, Any] = field(default_factory=lambda: dict(defaults.ESCAPE_RULE))
    status_overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, team: Any) -> TeamScope:
        """From a `chatbot.teams.models.Team` row."""
        return cls(
            team_id=team.id,
            name=team.name,
            tz=ZoneInfo(team.tz),
            repos=tuple(r.lower() for r in team.repos),
            services=tuple(team.services),
            production_envs=tuple(team.production_envs or defaults.PRODUCTION_ENVS),
            bots=tuple(b.lower() for b in team.bots),
            members=tuple(team.members),
            wip_limit=team.wip_limit,
            senior_engineers=tuple(team.senior_engineers),
            escape_rule=dict(team.escape_rule or defaults.ESCAPE_RULE),
            status_overrides=dict(team.status_overrides or {}),
        )

    def is_bot(self, login: str | None, user_type: str | None = None) -> bool:
        """Bots never count as authors or reviewers (docs/metrics.md)."""
        if user_type == "Bot":
            return True
        name = (login or "").lower()
        return name.endswith("[bot]") or name in self.bots


@dataclass
class ExplainItem:
    """One item a figure counted or left out, with its times (ISO 8601 UTC) and reason."""

    ref: str  # acme/payments#12 · PAY-7 · deployment d-118 · U123 (check-in)
    counted: bool
    value: float | None = None  # its contribution: hours, rounds, 1/0 for a rate
    reason: str | None = None  # why it was left out (the `excluded` key), or a fallback
    times: dict[str, str | None] = field(default_factory=dict)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "counted": self.counted,
            "value": self.value,
            "reason": self.reason,
            "times": self.times,
            "detail": self.detail,
        }


@dataclass
class WeekFigure:
    """One metric for one week: its headline value, its JSON fields (besides `previous`,
    `baseline` and `trend`, which the engine adds) and, when asked, its items."""

    headline: float | None
    fields: dict[str, Any]
    items: list[ExplainItem] = field(default_factory=list)


class Metric(Protocol):
    name: str  # the JSON key: cycle_time, review_time, ...
    headline: str  # the field that carries the headline value: median_hours, value, ...
    lower_is_better: bool

    def compute(
        self, db: Database, team: TeamScope, weeks: Sequence[Week], explain: bool = False
    ) -> dict[str, WeekFigure]:
        """One figure per week label; items filled only when `explain` is true."""
        ...
