"""AI-assisted work (docs/ai-signals.md): AI share, AI vs other, unreviewed AI, AI change failure.

A PR's AI assistance is decided by `chatbot.github.ai_signals` from what is stored: its author,
its labels and body, and the messages of the commits seen on its head branch. The SQL reads
those for the asked weeks' PRs through the same indexes as the review metrics; the patterns
(regular expressions, some of them the team's) run in Python. Bot-authored PRs are never
AI-assisted and never counted: a coding agent is not a bot unless the team says so.

AI vs other splits the review time, review rounds and cycle time samples (the same samples
their own metrics count) by the AI assistance of each PR, plus the median size of the PRs
merged in the week on each side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from chatbot.db.engine import Database
from chatbot.deploys.shipping import shipped_prs_query
from chatbot.github.ai_signals import SIGNAL_KINDS
from chatbot.github.models import BranchCommit, GitCommit
from chatbot.metrics import change_failure, cycle_time, review_rounds, review_time
from chatbot.metrics.base import ExplainItem, TeamScope, WeekFigure
from chatbot.metrics.common import bot_authored, in_week, iso, merged_in, one_of, rounded
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.review_time import PR, RV, approval, merged_in_weeks
from chatbot.metrics.stats import mean, median, rate
from chatbot.metrics.week import Week

BC = BranchCommit.__table__.c  # type: ignore[attr-defined]
GC = GitCommit.__table__.c  # type: ignore[attr-defined]
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


def _messages(conn: Connection, rows: Sequence[Any]) -> dict[tuple[str, str], list[str]]:
    """The stored commit messages seen on each PR's head branch."""
    branches = {(r.repo, r.head_branch) for r in rows if r.head_branch}
    if not branches:
        return {}
    dialect = conn.dialect.name
    found: dict[tuple[str, str], list[str]] = {}
    query = (
        select(BC.repo, BC.branch, GC.message)
        .select_from(BranchCommit.__table__)  # type: ignore[attr-defined]
        .join(GitCommit.__table__, and_(GC.repo == BC.repo, GC.sha == BC.sha))  # type: ignore[attr-defined]
        .where(
            BC.repo.in_(sorted({repo for repo, _ in branches})),
            one_of(dialect, BC.branch, {branch for _, branch in branches}),
            GC.message.is_not(None),
        )
    )
    for repo, branch, message in conn.execute(query):
        if (repo, branch) in branches:
            found.setdefault((repo, branch), []).append(message)
    return found


def assess(conn: Connection, team: TeamScope, rows: Sequence[Any]) -> dict[Ref, Assisted]:
    """The AI assistance of each PR row (needs repo, number, author_login, author_is_bot,
    labels, body, head_branch). Bot-authored PRs get no signal."""
    messages = _messages(conn, rows)
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
            messages.get((row.repo, row.head_branch), []),
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


def _merged(conn: Connection, team: TeamScope, weeks: Sequence[Week]) -> list[Any]:
    return list(conn.execute(select(*_PR_COLUMNS).where(*merged_in_weeks(team, weeks))).all())


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
        self, db: Database, team: TeamScope, weeks: Sequence[Week], explain: bool = False
    ) -> dict[str, WeekFigure]:
        with db.engine.connect() as conn:
            rows = _merged(conn, team, weeks)
            assisted = assess(conn, team, rows)
        merged = merged_in(rows, weeks)
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
        self, db: Database, team: TeamScope, weeks: Sequence[Week], explain: bool = False
    ) -> dict[str, WeekFigure]:
        reviews = review_time.METRIC.compute(db, team, weeks, explain=True)
        rounds = review_rounds.METRIC.compute(db, team, weeks, explain=True)
        cycles = cycle_time.METRIC.compute(db, team, weeks, explain=True)
        refs: set[Ref] = set()
        for figures in (reviews, rounds, cycles):
            for figure in figures.values():
                refs |= {_ref(i.ref) for i in figure.items if "#" in i.ref}
        with db.engine.connect() as conn:
            rows = _merged(conn, team, weeks)
            known = {(r.repo, r.number) for r in rows}
            rows += _by_refs(conn, team, refs - known)
            assisted = assess(conn, team, rows)
        merged = merged_in(rows, weeks)
        result = {}
        for week in weeks:
            label = week.label
            sides = {
                side: _side(
                    [i for i in reviews[label].items if _on(assisted, i.ref, side)],
                    [i for i in rounds[label].items if _on(assisted, i.ref, side)],
                    [i for i in cycles[label].items if _on(assisted, i.ref, side)],
                    [
                        r
                        for r in merged[week]
                        if not bot_authored(team, r)
                        and assisted[(r.repo, r.number)].is_ai == (side == "ai")
                    ],
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


def _on(assisted: dict[Ref, Assisted], ref: str, side: str) -> bool:
    if "#" not in ref:
        return False  # a Jira work item (cycle time from Jira): no PR, no AI signal
    found = assisted.get(_ref(ref))
    is_ai = found is not None and found.is_ai
    return is_ai == (side == "ai")


def _exact(item: ExplainItem) -> float:
    return float(item.exact if item.exact is not None else item.value or 0.0)


def _side(
    reviews: list[ExplainItem],
    rounds: list[ExplainItem],
    cycles: list[ExplainItem],
    merged: list[Any],
) -> dict[str, Any]:
    review_values = [_exact(i) for i in reviews if i.counted and i.value is not None]
    round_values = [_exact(i) for i in rounds if i.counted and i.value is not None]
    cycle_values = [_exact(i) for i in cycles if i.counted and i.value is not None]
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
        self, db: Database, team: TeamScope, weeks: Sequence[Week], explain: bool = False
    ) -> dict[str, WeekFigure]:
        approved = select(RV.review_id).where(approval(team)).exists()
        with db.engine.connect() as conn:
            rows = list(
                conn.execute(
                    select(*_PR_COLUMNS, approved.label("approved")).where(
                        *merged_in_weeks(team, weeks)
                    )
                ).all()
            )
            assisted = assess(conn, team, rows)
        merged = merged_in(rows, weeks)
        result = {}
        for week in weeks:
            ai = [r for r in merged[week] if assisted[(r.repo, r.number)].is_ai]
            unreviewed = [r for r in ai if not r.approved]
            items = []
            if explain:
                items = [
                    ExplainItem(
                        ref=f"{r.repo}#{r.number}",
                        counted=True,
                        value=0.0 if r.approved else 1.0,
                        times={"merged": iso(r.merged_at)},
                        detail=(
                            ("approved" if r.approved else "no human approval before the merge")
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
        self, db: Database, team: TeamScope, weeks: Sequence[Week], explain: bool = False
    ) -> dict[str, WeekFigure]:
        with db.engine.connect() as conn:
            deployments = change_failure.production_deployments(conn, team, weeks)
            shipped: dict[int, set[Ref]] = {}
            if deployments:
                D = change_failure.D
                query = shipped_prs_query(
                    list(team.repos), one_of(conn.dialect.name, D.id, {d.id for d in deployments})
                )
                for dep, repo, number in conn.execute(query).all():
                    shipped.setdefault(dep, set()).add((repo, int(number)))
            refs = set().union(*shipped.values()) if shipped else set()
            assisted = assess(conn, team, _by_refs(conn, team, refs))
        return {w.label: _failures(w, deployments, shipped, assisted, explain) for w in weeks}


def _failures(
    week: Week,
    deployments: Sequence[Any],
    shipped: dict[int, set[Ref]],
    assisted: dict[Ref, Assisted],
    explain: bool,
) -> WeekFigure:
    """Failed ÷ total for the deployments that shipped an AI-assisted PR, and for the rest;
    failed as in the change failure rate (status failure, or named by a rollback/hotfix)."""
    tally = {"ai": [0, 0], "other": [0, 0]}
    items = []
    mine = sorted(
        (d for d in deployments if in_week(d.deployed_at, week)),
        key=lambda d: (d.deployed_at, d.external_id),
    )
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
