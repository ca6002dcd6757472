"""The commits seen on pull requests' head branches, as two metrics read them: when the
first one was authored (where cycle time starts) and their messages (AI-assistance signals).
One statement reads both, each branch through the (repo, branch, sha) key and each commit
through (repo, sha), and a digest reads a branch once however many metrics ask."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select, true
from sqlalchemy.engine import Connection

from chatbot.db.types import UTCDateTime
from chatbot.github.models import BranchCommit, GitCommit
from chatbot.metrics.base import Reading
from chatbot.metrics.common import listed_values, one_of

BRANCH_COMMIT = BranchCommit.__table__  # type: ignore[attr-defined]
GIT_COMMIT = GitCommit.__table__  # type: ignore[attr-defined]
BC = BRANCH_COMMIT.c
GC = GIT_COMMIT.c
Branch = tuple[str, str]  # (repo, branch)


@dataclass(frozen=True)
class BranchCommits:
    """What is known of the commits seen on one branch."""

    first_authored: datetime | None  # the earliest author time; None: no commit known
    messages: tuple[str, ...]  # the messages received (None ones left out)


NONE = BranchCommits(None, ())


def branch_commits(
    conn: Connection, branches: Iterable[Branch], reading: Reading | None = None
) -> dict[Branch, BranchCommits]:
    """Each branch's commits (NONE when none was seen); branches already read in this
    digest are not read again."""
    wanted = {(repo, branch) for repo, branch in branches if branch}
    known: dict[Branch, BranchCommits] = (
        reading.remember("branch_commits", dict) if reading is not None else {}
    )
    missing = wanted - known.keys()
    if missing:
        for row in conn.execute(_query(conn.dialect.name, missing)):
            if (row.repo, row.branch) in missing:
                known[(row.repo, row.branch)] = BranchCommits(
                    _aware(row.first_authored), _messages(row.messages)
                )
        for branch in missing - known.keys():
            known[branch] = NONE
    return {branch: known[branch] for branch in wanted}


def _query(dialect: str, branches: set[Branch]) -> Any:
    """SELECT repo, branch, first_authored, messages per branch with a commit. On
    PostgreSQL a LATERAL lookup per branch (joined, it hashes both whole tables once it
    guesses enough rows); on SQLite the branches as one JSON list, grouped."""
    commits = and_(GC.repo == BC.repo, GC.sha == BC.sha)
    first = func.min(GC.authored_at, type_=UTCDateTime()).label("first_authored")
    ordered = sorted(branches)
    wanted = listed_values(dialect, repo=[r for r, _ in ordered], branch=[b for _, b in ordered])
    if wanted is None:
        messages = func.json_group_array(GC.message).filter(GC.message.is_not(None))
        return (
            select(BC.repo, BC.branch, first, messages.label("messages"))
            .select_from(BRANCH_COMMIT)
            .join(GIT_COMMIT, commits)
            .where(
                BC.repo.in_(sorted({repo for repo, _ in branches})),
                one_of(dialect, BC.branch, {branch for _, branch in branches}),
            )
            .group_by(BC.repo, BC.branch)
        )
    found = (
        select(
            first,
            func.array_agg(GC.message).filter(GC.message.is_not(None)).label("messages"),
        )
        .select_from(BRANCH_COMMIT)
        .join(GIT_COMMIT, commits)
        .where(BC.repo == wanted.c.repo, BC.branch == wanted.c.branch)
        .offset(0)
        .lateral("found")
    )
    return (
        select(wanted.c.repo, wanted.c.branch, found.c.first_authored, found.c.messages)
        .select_from(wanted.join(found, true()))
        .where(found.c.first_authored.is_not(None) | found.c.messages.is_not(None))
    )


def _messages(value: Any) -> tuple[str, ...]:
    """PostgreSQL's array (None when no message), SQLite's JSON array text."""
    if value is None:
        return ()
    listed = json.loads(value) if isinstance(value, str) else value
    return tuple(str(message) for message in listed)


def _aware(value: datetime | None) -> datetime | None:
    """An aggregate over a UTC column comes back typed; a plain value is naive UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
