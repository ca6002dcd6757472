"""Full-text index DDL per dialect (SQLite FTS5, PostgreSQL tsvector + GIN).

Domains that need full-text search register their DDL here so the migration stays in one place.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection

_creators: list[Callable[[Connection], None]] = []
_droppers: list[Callable[[Connection], None]] = []


def register(create: Callable[[Connection], None], drop: Callable[[Connection], None]) -> None:
    _creators.append(create)
    _droppers.append(drop)


def create(bind: Connection) -> None:
    for fn in _creators:
        fn(bind)


def drop(bind: Connection) -> None:
    for fn in reversed(_droppers):
        fn(bind)
