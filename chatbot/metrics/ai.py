"""AI-assisted work (docs/ai-signals.md): AI share, AI vs other, unreviewed AI, AI change failure.

A PR's AI assistance is decided by `chatbot.github.ai_signals` from what is stored: its author,
its labels and body, and the messages of the commits seen on its head branch. The SQL reads
those for the asked weeks' PRs through the same indexes as the review metrics; the patterns
(regular expressions, some of them the team's) run in Python. Bot-authored PRs are never
AI-assisted and never counted: a coding agent is not a bot unless the team says so.

AI vs other splits the review time, review rounds and cycle time samples (the same samples
their own metrics count) by the AI assistance of each PR, plus the median size of the PRs
merged in the week on each side.

Within one digest (`Reading`), the four metrics read the weeks' merged PRs once and decide
each PR's AI assistance once, and AI vs other takes the samples the review and cycle time
metrics already computed rather than computing them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from chatbot.db.engine import Database
from chatbot.deploys.models import DeploymentChange
from chatbot.deploys.shipping import shipped_prs_query
from chatbot.github.ai_signals import SIGNAL_KINDS
from chatbot.metrics import change_failure, cycle_time, review_rounds, review_time
from chatbot.metrics.base import ExplainItem, Reading, TeamScope, WeekFigure
from chatbot.metrics.commits import NONE as NO_COMMITS
from chatbot.metrics.commits import branch_commits
from chatbot.metrics.common import bot_authored, by_week, iso, one_of, rounded
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.review_time import PR, merged_by_week
from chatbot.metrics.stats import mean, median, rate
from chatbot.metrics.week import Week

DC = DeploymentChange.__table__.c  # type: ignore[attr-defined]
Ref = tuple[str, int]


@dataclass(frozen=True)
class Assisted:
    """One PR's AI assistance: the kinds of evidence found (empty: not AI-assisted)."""

    signals: tuple[str, ...]
    author: str

    @property
    def is_ai(self) -> bool:
        return bool(self.signals)

    def describe(self) -> str:
        if not self.signals:
            return "no AI signal"
        parts = [f"agent {self.author}" if s == "agent" else s for s in self.signals]
        return ", ".join(parts)


def assess(
    conn: Connection, team: TeamScope, rows: Sequence[Any], reading: Reading | None = None
) -> dict[Ref, Assisted]:
    """The AI assistance of each PR row (needs repo, number, author_login, author_is_bot,
    labels, body, head_branch). Bot-authored PRs get no signal. The commit messages come
    from `chatbot.metrics.commits`, shared with cycle time within a digest."""
    commits = branch_commits(conn, ((r.repo, r.head_branch) for r in rows), reading)
    rules = team.ai_rules
    found: dict[Ref, Assisted] = {}
    for row in rows:
        if bot_authored(team, row):
            found[(row.repo, row.number)] = Assisted((), row.author_login)
            continue
        signals = rules.signals(
            row.author_login,
            row.labels or [],
            row.body or "",
            commits.get((row.repo, row.head_branch), NO_COMMITS).messages,
        )
        found[(row.repo, row.number)] = Assisted(tuple(signals), row.author_login)
    return found


_PR_COLUMNS = (
    PR.repo,
    PR.number,
    PR.author_login,
    PR.author_is_bot,
    PR.labels,
    PR.body,
    PR.head_branch,
    PR.merged_at,
    PR.additions,
    PR.deletions,
)


def _merged(
    db: Database, team: TeamScope, weeks: Sequence[Week], reading: Reading
) -> tuple[dict[Week, list[Any]], list[Any]]:
    """The team's PRs merged in each week (the rows review time reads, with `approved_at`,
    labels, body and head branch), and all of them in one list."""
    merged = merged_by_week(db, team, weeks, reading)
    return merged, [row for rows in merged.values() for row in rows]


def _assessed(
    reading: Reading, conn: Connection, team: TeamScope, rows: Sequence[Any]
) -> dict[Ref, Assisted]:
    """`assess` for the rows not assessed yet in this digest; every PR assessed so far."""
    known: dict[Ref, Assisted] = reading.remember("ai_assisted", dict)
    fresh = [r for r in rows if (r.repo, r.number) not in known]
    known.update(assess(conn, team, fresh, reading))
    return known


def _by_refs(conn: Connection, team: TeamScope, refs: Iterable[Ref]) -> list[Any]:
    wanted = set(refs)
    if not wanted:
        return []
    query = select(*_PR_COLUMNS).where(
        PR.repo.in_(sorted({repo for repo, _ in wanted})),
        one_of(conn.dialect.name, PR.number, {number for _, number in wanted}),
    )
    return [row for row in conn.execute(query).all() if (row.repo, row.number) in wanted]


def _size(row: Any) -> int | None:
    if row.additions is None or row.deletions is None:
        return None
    return int(row.additions) + int(row.deletions)


def _ref(text: str) -> Ref:
    repo, _, number = text.rpartition("#")
    return repo, int(number)


# --- AI share ---------------------------------------------------------------------------------


class AiShare:
    name = MetricKey.AI_SHARE
    headline = "value"
    lower_is_better = False  # unused: the AI share is neutral, never "worse" (docs/metrics.md)
    neutral = True

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        reading = reading or Reading()
        merged, rows = _merged(db, team, weeks, reading)
        with db.engine.connect() as conn:
            assisted = _assessed(reading, conn, team, rows)
        return {w.label: _share(team, merged[w], assisted, explain) for w in weeks}


def _share(
    team: TeamScope, rows: Sequence[Any], assisted: dict[Ref, Assisted], explain: bool
) -> WeekFigure:
    counted = [r for r in rows if not bot_authored(team, r)]
    ai = [r for r in counted if assisted[(r.repo, r.number)].is_ai]
    signals = {kind: 0 for kind in SIGNAL_KINDS}
    for row in ai:
        for kind in assisted[(row.repo, row.number)].signals:
            signals[kind] += 1
    value = rounded(rate(len(ai), len(counted)))
    items = []
    if explain:
        for row in rows:
            found = assisted[(row.repo, row.number)]
            bot = bot_authored(team, row)
            items.append(
                ExplainItem(
                    ref=f"{row.repo}#{row.number}",
                    counted=not bot,
                    value=None if bot else float(found.is_ai),
                    reason="bot_author" if bot else None,
                    times={"merged": iso(row.merged_at)},
                    detail="" if bot else found.describe(),
                )
            )
    excluded = {"bot_author": len(rows) - len(counted)} if len(rows) > len(counted) else {}
    return WeekFigure(
        headline=value,
        fields={
            "value": value,
            "ai": len(ai),
            "total": len(counted),
            "n": len(counted),
            "signals": signals,
            "excluded": excluded,
        },
        items=items,
    )


# --- AI vs other ----------------------------------------------------------------------------------


class AiVsOther:
    """No headline and no trend (docs/ai-signals.md): the engine adds neither."""

    name = MetricKey.AI_VS_OTHER
    headline = None
    lower_is_better = True
    neutral = True

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        reading = reading or Reading()
        # The samples the digest's own review and cycle time figures counted (computed here
        # only when this metric is asked alone), for the weeks the digest shows in full: a
        # comparison has no trend, so the others need no figure.
        reviews = reading.figures(review_time.METRIC, db, team, weeks)
        rounds = reading.figures(review_rounds.METRIC, db, team, weeks)
        cycles = reading.figures(cycle_time.METRIC, db, team, weeks)
        shown = [w for w in weeks if reading.shows(w)]
        refs: set[Ref] = set()
        for figures in (reviews, rounds, cycles):
            for week in shown:
                refs |= {_ref(ref) for ref, _ in figures[week.label].samples if "#" in ref}
        merged, rows = _merged(db, team, weeks, reading)
        with db.engine.connect() as conn:
            assisted = _assessed(reading, conn, team, rows)
            assisted = _assessed(reading, conn, team, _by_refs(conn, team, refs - set(assisted)))
        result = {w.label: WeekFigure(headline=None, fields={}) for w in weeks}
        for week in shown:
            label = week.label
            review_sides = _split(reviews[label].samples, assisted)
            round_sides = _split(rounds[label].samples, assisted)
            cycle_sides = _split(cycles[label].samples, assisted)
            counted = [r for r in merged[week] if not bot_authored(team, r)]
            sides = {
                side: _side(
                    review_sides[side],
                    round_sides[side],
                    cycle_sides[side],
                    [r for r in counted if assisted[(r.repo, r.number)].is_ai == (side == "ai")],
                )
                for side in ("ai", "other")
            }
            items = []
            if explain:
                items = [
                    ExplainItem(
                        ref=f"{r.repo}#{r.number}",
                        counted=not bot_authored(team, r),
                        value=None,
                        reason="bot_author" if bot_authored(team, r) else None,
                        times={"merged": iso(r.merged_at)},
                        detail=(
                            "AI-assisted: " + assisted[(r.repo, r.number)].describe()
                            if assisted[(r.repo, r.number)].is_ai
                            else "other"
                        ),
                    )
                    for r in merged[week]
                ]
            result[label] = WeekFigure(headline=None, fields=sides, items=items)
        return result


def _split(
    samples: Sequence[tuple[str, float]], assisted: dict[Ref, Assisted]
) -> dict[str, list[float]]:
    """The samples of AI-assisted PRs and of the others, in order; a Jira work item's (cycle
    time from Jira) is on neither side: no PR, no AI signal."""
    sides: dict[str, list[float]] = {"ai": [], "other": []}
    for ref, value in samples:
        if "#" not in ref:
            continue
        found = assisted.get(_ref(ref))
        sides["ai" if found is not None and found.is_ai else "other"].append(value)
    return sides


def _side(
    review_values: list[float],
    round_values: list[float],
    cycle_values: list[float],
    merged: list[Any],
) -> dict[str, Any]:
    sizes = [s for s in (_size(r) for r in merged) if s is not None]
    size = median([float(s) for s in sizes])
    return {
        "review_time_median_hours": rounded(median(review_values)),
        "review_n": len(review_values),
        "review_rounds_mean": rounded(mean(round_values)),
        "rounds_n": len(round_values),
        "cycle_time_median_hours": rounded(median(cycle_values)),
        "cycle_n": len(cycle_values),
        "pr_size_median_lines": rounded(size),
        "pr_size_n": len(sizes),
    }


# --- unreviewed AI ---------------------------------------------------------------------------


class UnreviewedAi:
    name = MetricKey.UNREVIEWED_AI
    headline = "count"
    lower_is_better = True

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        reading = reading or Reading()
        merged, rows = _merged(db, team, weeks, reading)
        with db.engine.connect() as conn:
            assisted = _assessed(reading, conn, team, rows)
        result = {}
        for week in weeks:
            ai = [r for r in merged[week] if assisted[(r.repo, r.number)].is_ai]
            unreviewed = [r for r in ai if r.approved_at is None]
            items = []
            if explain:
                items = [
                    ExplainItem(
                        ref=f"{r.repo}#{r.number}",
                        counted=True,
                        value=1.0 if r.approved_at is None else 0.0,
                        times={"merged": iso(r.merged_at)},
                        detail=(
                            (
                                "no human approval before the merge"
                                if r.approved_at is None
                                else "approved"
                            )
                            + "; "
                            + assisted[(r.repo, r.number)].describe()
                        ),
                    )
                    for r in ai
                ]
            result[week.label] = WeekFigure(
                headline=len(unreviewed),
                fields={
                    "count": len(unreviewed),
                    "n": len(ai),
                    "prs": [f"{r.repo}#{r.number}" for r in unreviewed],
                    "excluded": {},
                },
                items=items,
            )
        return result


# --- AI change failure ----------------------------------------------------------------------


class AiChangeFailure:
    name = MetricKey.AI_CHANGE_FAILURE
    headline = "ai.value"  # a path: the `value` of the `ai` side
    lower_is_better = True

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        reading = reading or Reading()
        with db.engine.connect() as conn:
            deployments = change_failure.production_deployments(conn, team, weeks, False, reading)
            shipped: dict[int, set[Ref]] = {}
            if deployments:
                ids = {d.id for d in deployments}
                # The deployments' listings through the (deployment_id, kind, value) key:
                # a filter on the deployment alone leaves PostgreSQL scanning every listing.
                listed = and_(
                    one_of(conn.dialect.name, change_failure.D.id, ids),
                    one_of(conn.dialect.name, DC.deployment_id, ids),
                )
                for dep, repo, number in conn.execute(shipped_prs_query(list(team.repos), listed)):
                    shipped.setdefault(dep, set()).add((repo, int(number)))
            refs = set().union(*shipped.values()) if shipped else set()
            known: dict[Ref, Assisted] = reading.remember("ai_assisted", dict)
            assisted = _assessed(reading, conn, team, _by_refs(conn, team, refs - set(known)))
        deployed = by_week(deployments, weeks, "deployed_at")
        return {w.label: _failures(deployed[w], shipped, assisted, explain) for w in weeks}


def _failures(
    deployments: Sequence[Any],
    shipped: dict[int, set[Ref]],
    assisted: dict[Ref, Assisted],
    explain: bool,
) -> WeekFigure:
    """Failed ÷ total for the deployments that shipped an AI-assisted PR, and for the rest;
    failed as in the change failure rate (status failure, or named by a rollback/hotfix)."""
    tally = {"ai": [0, 0], "other": [0, 0]}
    items = []
    mine = sorted(deployments, key=lambda d: (d.deployed_at, d.external_id))
    for d in mine:
        failed = d.status == "failure" or bool(d.named)
        ai_prs = [p for p in sorted(shipped.get(d.id, ())) if p in assisted and assisted[p].is_ai]
        side = "ai" if ai_prs else "other"
        tally[side][0] += int(failed)
        tally[side][1] += 1
        if explain:
            shown = ", ".join(f"{repo}#{number}" for repo, number in ai_prs) or "none"
            items.append(
                ExplainItem(
                    ref=f"deployment {d.external_id}",
                    counted=True,
                    value=1.0 if failed else 0.0,
                    times={"deployed": iso(d.deployed_at)},
                    detail=f"{'failed' if failed else 'succeeded'}; AI-assisted PRs: {shown}",
                )
            )
    sides = {
        side: {"value": rounded(rate(failed, total)), "failed": failed, "total": total}
        for side, (failed, total) in tally.items()
    }
    return WeekFigure(
        headline=sides["ai"]["value"],
        fields={**sides, "n": sides["ai"]["total"], "excluded": {}},
        items=items,
    )


SHARE = AiShare()
VS_OTHER = AiVsOther()
UNREVIEWED = UnreviewedAi()
CHANGE_FAILURE = AiChangeFailure()
METRICS = (SHARE, VS_OTHER, UNREVIEWED, CHANGE_FAILURE)
