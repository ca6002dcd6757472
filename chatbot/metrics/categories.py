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
    return _categories(_catalogue(db), team)


def statuses_in(categories: dict[str, str], category: str) -> list[str]:
    """The lower-cased status names of one category (for `lower(status) IN (...)` filters)."""
    return sorted(name for name, found in categories.items() if found == category)


def spelled_statuses(db: Database, team: TeamScope, category: str) -> list[str]:
    """The status names of one category as they may be written in the data: as Jira's
    catalogue and the team's overrides spell them, and lower-, title- and upper-cased (for
    index lookups by exact name). Their lower-cased forms are `statuses_in` the category."""
    catalogue = _catalogue(db)
    categories = _categories(catalogue, team)
    names = {
        n
        for n in [*(name for name, _ in catalogue), *team.status_overrides]
        if categories.get(n.lower()) == category
    }
    names |= {variant for n in list(names) for variant in (n.lower(), n.title(), n.upper())}
    return sorted(names)


def _catalogue(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        return [(row.name, row.category) for row in s.exec(select(JiraStatus)).all()]


def _categories(catalogue: list[tuple[str, str]], team: TeamScope) -> dict[str, str]:
    found = {name.lower(): category for name, category in catalogue}
    found.update({name.lower(): category for name, category in team.status_overrides.items()})
    return found
