"""What the full-text indexes of decisions and intents hold, for the queries that use them.

SQLite: FTS5 tables (holding their own copy of the text, so deletes go by rowid) kept in
step by triggers. PostgreSQL: generated tsvector columns with GIN indexes. The DDL itself
lives in migration 0001 (frozen); a change here needs a new migration.
"""

from __future__ import annotations

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
PG_CONFIG = "english"


def fts_table(table: str) -> str:
    return f"{table}_fts"
