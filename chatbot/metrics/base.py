"""What every metric shares: the team's settings it reads, one week's figure, and the items
behind it (the `--explain` list and the digest's "Show the work" modal).

A metric is a module with a `METRIC` object satisfying `Metric`. It computes several weeks
in one call (the reported week, the previous ones of the trend, the baseline) so the engine
asks the database once per metric, not once per week; the SQL does the filtering and
grouping, and the statistics run in `chatbot.metrics.stats` over the values it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chatbot.db.engine import Database
from chatbot.github.ai_signals import DEFAULT_AI_LABELS, Rules
from chatbot.metrics.keys import MetricKey
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
    ai_agents: tuple[str, ...] = ()
    ai_markers: tuple[str, ...] = ()
    ai_labels: tuple[str, ...] = DEFAULT_AI_LABELS
    goals: dict[str, dict[str, float]] = field(default_factory=dict)

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
            ai_agents=tuple(a.lower() for a in getattr(team, "ai_agents", None) or ()),
            ai_markers=tuple(getattr(team, "ai_markers", None) or ()),
            ai_labels=tuple(getattr(team, "ai_labels", None) or ()),
            goals=dict(getattr(team, "goals", None) or {}),
        )

    @cached_property
    def ai_rules(self) -> Rules:
        """The team's AI-assistance rules (built-in lists plus its own), compiled once."""
        return Rules.for_team(self.ai_agents, self.ai_markers, self.ai_labels, self.bots)

    @property
    def agents(self) -> list[str]:
        """Every coding-agent login that is not one of the team's bots, sorted."""
        return sorted(self.ai_rules.agents - set(self.bots))

    def is_agent(self, login: str | None) -> bool:
        """A coding agent (docs/ai-signals.md): authored work, never a human reviewer."""
        return self.ai_rules.is_agent(login)

    @cached_property
    def _bot_authors(self) -> dict[tuple[str, bool], bool]:
        return {}

    def bot_author(self, login: str | None, flagged: bool) -> bool:
        """A PR by a bot (flagged at ingest, or in the team's `bots`) has no human review; a
        coding agent's PR is authored work (docs/metrics.md), though GitHub flags it a bot.
        Remembered per login: a digest asks it of every PR in several metrics."""
        key = (login or "", bool(flagged))
        known = self._bot_authors
        if key not in known:
            known[key] = not self.is_agent(login) and (bool(flagged) or self.is_bot(login))
        return known[key]

    def is_bot(self, login: str | None, user_type: str | None = None) -> bool:
        """Bots never count as authors or reviewers (docs/metrics.md); a coding agent is not a
        bot unless the team lists it in its `bots`."""
        name = (login or "").lower()
        if name in self.bots:
            return True
        if self.is_agent(name):
            return False
        return user_type == "Bot" or name.endswith("[bot]")


@dataclass
class ExplainItem:
    """One item a figure counted or left out, with its times (ISO 8601 UTC) and reason."""

    ref: str  # acme/payments#12 · PAY-7 · deployment d-118 · U123 (check-in)
    counted: bool
    value: float | None = None  # its contribution: hours, rounds, 1/0 for a rate
    reason: str | None = None  # why it was left out (the `excluded` key), or a fallback
    times: dict[str, str | None] = field(default_factory=dict)
    detail: str = ""
    # The value before rounding, for figures computed again from these items (a median of
    # rounded values can differ from the rounded median in the last digit).
    exact: float | None = field(default=None, compare=False, repr=False)

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
    # Each counted item's exact value by ref, in the items' order, whether or not the items
    # were asked: AI vs other splits these very samples by the PRs' AI assistance.
    samples: list[tuple[str, float]] = field(default_factory=list, compare=False, repr=False)


@dataclass
class Reading:
    """What one digest reads once and shares between its metrics: the figures computed so
    far (AI vs other splits review time's, rounds' and cycle time's samples instead of
    computing them again), anything else a metric remembers under a key (the weeks' merged
    PRs, their AI assistance), and which weeks the digest shows in full. Lives for one
    digest: the next one reads the database again."""

    # Labels of the weeks whose every field is shown (the reported week); the others are
    # trend or baseline entries, which need their headline and `n` only. None: all weeks.
    detailed: frozenset[str] | None = None
    _figures: dict[tuple[str, tuple[str, ...]], dict[str, WeekFigure]] = field(
        default_factory=dict, repr=False
    )
    _remembered: dict[Any, Any] = field(default_factory=dict, repr=False)

    def shows(self, week: Week) -> bool:
        """Whether the digest shows every field of `week` (else its headline and `n`)."""
        return self.detailed is None or week.label in self.detailed

    def figures(
        self, metric: Metric, db: Database, team: TeamScope, weeks: Sequence[Week]
    ) -> dict[str, WeekFigure]:
        """The metric's figures for these weeks, computed once per digest."""
        key = (metric.name, tuple(w.label for w in weeks))
        if key not in self._figures:
            self._figures[key] = metric.compute(db, team, weeks, reading=self)
        return self._figures[key]

    def remember(self, key: Any, make: Callable[[], Any]) -> Any:
        """`make()`, computed once per digest under `key`."""
        if key not in self._remembered:
            self._remembered[key] = make()
        return self._remembered[key]


class Metric(Protocol):
    name: MetricKey  # the JSON key: cycle_time, review_time, ...
    # The field that carries the headline value (median_hours, value, ...); None for a
    # comparison with no headline and so no previous, baseline or trend (AI vs other).
    headline: str | None
    lower_is_better: bool

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        """One figure per week label; items filled only when `explain` is true. `reading`
        shares what the digest's other metrics read already (None: read everything)."""
        ...
