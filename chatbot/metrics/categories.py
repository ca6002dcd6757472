"""Status → category, as the metrics read it: Jira's status categories, then the team's
overrides (status name → new · indeterminate · done), matched case-insensitively."""

from __future__ import annotations

from sqlmodel import select

from chatbot.db.engine import Database
from chatbot.jira.models import JiraStatus
from chatbot.metrics.base import TeamScope

IN_PROGRESS = "indeterminate"
DONE = "done"
TO_DO = "new"


def status_categories(db: Database, team: TeamScope) -> dict[str, str]:
    """Lower-cased status name → category key, with the team's overrides applied."""
    with db.session() as s:
        found = {row.name.lower(): row.category for row in s.exec(select(JiraStatus)).all()}
    found.update({name.lower(): category for name, category in team.status_overrides.items()})
    return found


def statuses_in(categories: dict[str, str], category: str) -> list[str]:
    """The lower-cased status names of one category (for `lower(status) IN (...)` filters)."""
    return sorted(name for name, found in categories.items() if found == category)


def spelled_statuses(db: Database, team: TeamScope, category: str) -> list[str]:
    """The status names of one category as they may be written in the data: as Jira's
    catalogue and the team's overrides spell them, and lower-, title- and upper-cased (for
    index lookups by exact name)."""
    categories = status_categories(db, team)
    with db.session() as s:
        catalogue = [row.name for row in s.exec(select(JiraStatus)).all()]
    names = {
        n for n in [*catalogue, *team.status_overrides] if categories.get(n.lower()) == category
    }
    names |= {variant for n in list(names) for variant in (n.lower(), n.title(), n.upper())}
    return sorted(names)
