"""Where the digest's figures come from: the metrics engine, asked for one team and week."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chatbot.db.engine import Database
from chatbot.metrics.base import ExplainItem
from chatbot.metrics.engine import explain, weekly_digest_for
from chatbot.teams.models import Team


def compute_digest(db: Database, team: Team, week: str | None, now: datetime) -> dict[str, Any]:
    """The digest JSON (docs/metrics.md); `week` None is the last complete week."""
    return weekly_digest_for(db, team, week=week, now=now)


def explain_items(db: Database, team: Team, week: str, metric: str) -> list[ExplainItem]:
    """Every item a figure counted or left out (the "Show the work" list)."""
    return list(explain(db, team, week, metric))
