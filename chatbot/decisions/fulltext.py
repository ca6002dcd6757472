"""Full-text index DDL for decisions and intents.

SQLite: FTS5 tables (holding their own copy of the text, so deletes go by rowid) kept in
step by triggers. PostgreSQL: generated tsvector columns with GIN indexes.

Registered with `chatbot.db.search_index`, so the initial migration creates (and drops) them.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from chatbot.db import search_index

#: table -> columns indexed, most important first (their order is the weight order).
INDEXED: dict[str, tuple[str, ...]] = {
    "decision": ("title", "keywords", "decision", "why", "alternatives", "consequences"),
    "intent": ("title", "outcome", "why", "constraints", "out_of_scope"),
}
#: SQLite bm25 weights per column, same order as INDEXED.
BM25_WEIGHTS: dict[str, tuple[float, ...]] = {
    "decision": (8.0, 6.0, 3.0, 2.0, 1.0, 1.0),
    "intent": (8.0, 3.0, 2.0, 1.0, 1.0),
}
#: PostgreSQL setweight class per column, same order as INDEXED.
PG_WEIGHTS: dict[str, tuple[str, ...]] = {
    "decision": ("A", "A", "B", "C", "D", "D"),
    "intent": ("A", "B", "C", "D", "D"),
}
PG_CONFIG = "english"


def fts_table(table: str) -> str:
    return f"{table}_fts"


def _sqlite_create(conn: Connection) -> None:
    for table, columns in INDEXED.items():
        fts = fts_table(table)
        cols = ", ".join(columns)
        new = ", ".join(f"coalesce(CAST(new.{c} AS TEXT), '')" for c in columns)
        statements = [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({cols}, "
            "tokenize='porter unicode61 remove_diacritics 2')",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = old.id; END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN "
            f"DELETE FROM {fts} WHERE rowid = old.id; "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
        ]
        for statement in statements:
            conn.execute(text(statement))


def _sqlite_drop(conn: Connection) -> None:
    for table in INDEXED:
        fts = fts_table(table)
        for suffix in ("ai", "ad", "au"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {fts}_{suffix}"))
        conn.execute(text(f"DROP TABLE IF EXISTS {fts}"))


def pg_vector_expression(table: str) -> str:
    parts = [
        f"setweight(to_tsvector('{PG_CONFIG}', coalesce({c}::text, '')), '{w}')"
        for c, w in zip(INDEXED[table], PG_WEIGHTS[table], strict=True)
    ]
    return " || ".join(parts)


def _pg_create(conn: Connection) -> None:
    for table in INDEXED:
        conn.execute(
            text(
                f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS search_vector tsvector "
                f"GENERATED ALWAYS AS ({pg_vector_expression(table)}) STORED"
            )
        )
        conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS ix_{table}_search ON {table} USING GIN (search_vector)"
            )
        )


def _pg_drop(conn: Connection) -> None:
    for table in INDEXED:
        conn.execute(text(f"DROP INDEX IF EXISTS ix_{table}_search"))
        conn.execute(text(f"ALTER TABLE IF EXISTS {table} DROP COLUMN IF EXISTS search_vector"))


def create(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        _sqlite_create(conn)
    elif conn.dialect.name == "postgresql":
        _pg_create(conn)


def drop(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        _sqlite_drop(conn)
    elif conn.dialect.name == "postgresql":
        _pg_drop(conn)


search_index.register(create, drop)
