"""Alembic, driven from code: `chatbot db upgrade` and the implicit upgrade at start."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

from chatbot.db.engine import without_time_limits

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_PG_LOCK_ID = 7_341_122_001


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to call from several processes at once."""
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
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]
