"""Change failure rate: failed ÷ total over the team's production deployments in the week.

A deployment is the team's by service (or GitHub repo), production by the team's
environment names as set now, and counted once final (`success` or `failure`, by its
`deployed_at`). It failed when its status is `failure` or when any final deployment of the
same source names it in `rollback_of` / `hotfix_of`: the failure belongs to the week of the
deployment named, so a rollback arriving later restates that week. Rollbacks and hotfixes
are deployments like any other, failures only when named in turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentStatus
from chatbot.metrics.base import ExplainItem, Reading, TeamScope, WeekFigure
from chatbot.metrics.common import (
    FINAL_STATUSES,
    by_week,
    iso,
    merged_ranges,
    production,
    rounded,
    team_deployment_ids,
)
from chatbot.metrics.keys import MetricKey
from chatbot.metrics.stats import rate
from chatbot.metrics.week import Week

D = Deployment.__table__.c  # type: ignore[attr-defined]


class ChangeFailureRate:
    name = MetricKey.CHANGE_FAILURE_RATE
    headline = "value"
    lower_is_better = True

    def compute(
        self,
        db: Database,
        team: TeamScope,
        weeks: Sequence[Week],
        explain: bool = False,
        reading: Reading | None = None,
    ) -> dict[str, WeekFigure]:
        with db.engine.connect() as conn:
            rows = production_deployments(conn, team, weeks, explain, reading)
        deployed = by_week(rows, weeks, "deployed_at")
        return {w.label: _figure(deployed[w], explain) for w in weeks}


def production_deployments(
    conn: Connection,
    team: TeamScope,
    weeks: Sequence[Week],
    explain: bool = False,
    reading: Reading | None = None,
) -> list[Any]:
    """The team's final production deployments in the asked weeks: id, external_id, status,
    deployed_at and `named` (a rollback or hotfix names it); with `explain`, who named it.
    Read once per digest (the AI change failure splits the same deployments)."""
    if reading is not None:
        key = ("production_deployments", tuple(w.label for w in weeks), explain)
        return reading.remember(key, lambda: production_deployments(conn, team, weeks, explain))  # type: ignore[no-any-return]
    other = aliased(Deployment.__table__, name="naming")

    def naming(field: str) -> Any:
        return (
            select(other.c.external_id)
            .where(
                other.c.source == D.source,
                other.c[field] == D.external_id,
                other.c.status.in_(FINAL_STATUSES),
            )
            .order_by(other.c.deployed_at, other.c.external_id)
            .limit(1)
            .scalar_subquery()
        )

    named = exists().where(
        other.c.source == D.source,
        or_(other.c.rollback_of == D.external_id, other.c.hotfix_of == D.external_id),
        other.c.status.in_(FINAL_STATUSES),
    )
    columns = [D.id, D.external_id, D.status, D.deployed_at, named.label("named")]
    if explain:
        columns += [
            naming("rollback_of").label("rolled_back_by"),
            naming("hotfix_of").label("hotfixed_by"),
        ]
    query = select(*columns).where(
        D.id.in_(team_deployment_ids(team, merged_ranges(weeks))),
        production(team),
        D.status.in_(FINAL_STATUSES),
    )
    return list(conn.execute(query).all())


def _figure(rows: Sequence[Any], explain: bool) -> WeekFigure:
    """The figure of one week from its deployments."""
    mine = sorted(rows, key=lambda r: (r.deployed_at, r.external_id))
    failed_flags = [r.status == DeploymentStatus.FAILURE or bool(r.named) for r in mine]
    failed = sum(failed_flags)
    value = rounded(rate(failed, len(mine)))
    items = []
    if explain:
        for r, flag in zip(mine, failed_flags, strict=True):
            why = []
            if r.status == DeploymentStatus.FAILURE:
                why.append("status failure")
            if r.rolled_back_by:
                why.append(f"rolled back by {r.rolled_back_by}")
            if r.hotfixed_by:
                why.append(f"hotfixed by {r.hotfixed_by}")
            items.append(
                ExplainItem(
                    ref=f"deployment {r.external_id}",
                    counted=True,
                    value=1.0 if flag else 0.0,
                    times={"deployed": iso(r.deployed_at)},
                    detail=", ".join(why) if why else "succeeded",
                )
            )
    return WeekFigure(
        headline=value,
        fields={
            "value": value,
            "failed": failed,
            "total": len(mine),
            "n": len(mine),
            "excluded": {},
        },
        items=items,
    )


METRIC = ChangeFailureRate()
