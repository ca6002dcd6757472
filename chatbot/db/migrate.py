"""Alembic, driven from code: `chatbot db upgrade` and the implicit upgrade at start.

Alembic is imported only when there is something to migrate: a start against a database
already at the newest revision reads its version row and goes on (importing Alembic and
loading its scripts took about half a second of every process start).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from chatbot.db.engine import without_time_limits

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_PG_LOCK_ID = 7_341_122_001
_REVISION = re.compile(r"^revision\s*=\s*[\"']([^\"']+)[\"']", re.M)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(?:None|[\"']([^\"']+)[\"'])", re.M)


@lru_cache(maxsize=1)
def script_head() -> str | None:
    """The newest migration's revision id, read from the scripts' `revision` and
    `down_revision` lines without Alembic; None when that is not one plain chain's single
    head (a merge or a branch), which is left to Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            continue
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """Does the database carry the newest migration already? False when it cannot tell (no
    version table yet, no single head): then Alembic decides."""
    head = script_head()
    if head is None:
        return False
    with engine.connect() as connection:
        try:
            versions = connection.execute(text("SELECT version_num FROM alembic_version"))
            return versions.scalars().all() == [head]
        except DBAPIError as exc:
            if exc.connection_invalidated:  # the database is unreachable: say so once
                raise
            return False  # a new database: no version table yet


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to call from several processes at once."""
    if revision == "head" and at_head(engine):
        return
    from alembic import command

    with engine.connect() as connection, without_time_limits(connection):
        if connection.dialect.name == "postgresql":
            # Two web processes starting together must not both create the tables.
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_ID})
            connection.commit()
        # Alembic logs its context and each step at INFO; every command and every start
        # upgrades, so that would be chatter on each run. Warnings still show.
        alembic_log = logging.getLogger("alembic")
        level = alembic_log.level
        alembic_log.setLevel(max(level, logging.WARNING))
        try:
            config = alembic_config(engine)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
        finally:
            alembic_log.setLevel(level)
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_ID})
                connection.commit()


def known_revisions() -> list[str]:
    """Every migration's revision id, oldest first (for an error naming the valid ones)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]
