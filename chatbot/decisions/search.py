"""Full-text search over decisions and intents, ranked by relevance then recency.

User text never reaches SQL or the FTS query parser as syntax: it is cut into word tokens,
which are then passed as bound parameters (PostgreSQL `plainto_tsquery`) or as quoted FTS5
strings (SQLite), so `"`, `*`, `NEAR`, `-`, `:` and quotes are just characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, bindparam, text
from sqlmodel import col, select

from chatbot.db.engine import Database
from chatbot.decisions.fulltext import BM25_WEIGHTS, PG_CONFIG, fts_table
from chatbot.decisions.models import Decision
from chatbot.decisions.service import decision_ref
from chatbot.intent.models import Intent

MAX_TERMS = 12
MAX_TERM_LENGTH = 40
FALLBACK_CANDIDATES = 2000
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Hit:
    kind: str  # "decision" or "intent"
    id: int
    ref: str
    title: str
    first_lines: str
    author: str
    created_at: datetime
    channel_id: str
    permalink: str | None
    status: str
    jira_keys: list[str]
    via_agent: str | None = None


@dataclass(frozen=True)
class Visible:
    """Whose items a reader sees when it is not one Slack channel (an agent token's person):
    public items of `public_channels` and private items of `private_channels`."""

    public_channels: frozenset[str]
    private_channels: frozenset[str] = frozenset()


def terms(query: str) -> list[str]:
    """The distinct words of `query` (lower case), at most 12, each at most 40 characters."""
    words = [w.lower()[:MAX_TERM_LENGTH] for w in _WORD.findall(query or "")]
    return list(dict.fromkeys(w for w in words if w.strip("_")))[:MAX_TERMS]


def first_lines(body: str, lines: int = 2, limit: int = 280) -> str:
    kept = [line.strip() for line in (body or "").splitlines() if line.strip()][:lines]
    joined = "\n".join(kept)
    return joined if len(joined) <= limit else joined[: limit - 1].rstrip() + "…"


class DecisionSearch:
    def __init__(self, db: Database) -> None:
        self.db = db

    def decisions(
        self,
        query: str,
        viewer_channel: str | None,
        limit: int = 10,
        visible: Visible | None = None,
    ) -> list[Hit]:
        """Decisions matching every word (or, when none does, any word), best and newest first.

        Private decisions appear only when `viewer_channel` is their own channel; with
        `visible`, exactly the channels it names are searched (same ranking).
        """
        words = terms(query)
        if not words:
            return []
        ids = self._ids("decision", words, viewer_channel, limit, every=True, visible=visible)
        if not ids and len(words) > 1:
            ids = self._ids("decision", words, viewer_channel, limit, every=False, visible=visible)
        if not ids:
            return []
        with self.db.session() as s:
            rows = {d.id: d for d in s.exec(select(Decision).where(col(Decision.id).in_(ids)))}
        return [_decision_hit(rows[i]) for i in ids if i in rows]

    def intents(
        self,
        query: str,
        viewer_channel: str | None,
        limit: int = 5,
        visible: Visible | None = None,
    ) -> list[Hit]:
        words = terms(query)
        if not words:
            return []
        ids = self._ids("intent", words, viewer_channel, limit, every=True, visible=visible)
        if not ids and len(words) > 1:
            ids = self._ids("intent", words, viewer_channel, limit, every=False, visible=visible)
        if not ids:
            return []
        with self.db.session() as s:
            rows = {i.id: i for i in s.exec(select(Intent).where(col(Intent.id).in_(ids)))}
        return [_intent_hit(rows[i]) for i in ids if i in rows]

    # --- per dialect --------------------------------------------------------------------------
    def _ids(
        self,
        table: str,
        words: list[str],
        viewer: str | None,
        limit: int,
        every: bool,
        visible: Visible | None = None,
    ) -> list[int]:
        private = "is_private" if table == "decision" else "channel_is_private"
        params: dict[str, object] = {"viewer": viewer or "", "limit": limit}
        expanding: list[str] = []
        if visible is not None:
            params["public"] = sorted(visible.public_channels)
            params["private"] = sorted(visible.private_channels)
            expanding = ["public", "private"]
            sqlite = self.db.dialect == "sqlite"
            is_private = f"t.{private} = 1" if sqlite else f"t.{private}"
            not_private = f"t.{private} = 0" if sqlite else f"NOT t.{private}"
            where_visible = (
                f"(({not_private} AND t.channel_id IN :public) "
                f"OR ({is_private} AND t.channel_id IN :private))"
            )
        elif self.db.dialect == "sqlite":
            where_visible = f"(t.{private} = 0 OR t.channel_id = :viewer)"
        else:
            where_visible = f"(NOT t.{private} OR t.channel_id = :viewer)"
        if self.db.dialect == "sqlite":
            joiner = " " if every else " OR "
            params["match"] = joiner.join(f'"{w}"' for w in words)  # words are \w+ only
            weights = ", ".join(str(w) for w in BM25_WEIGHTS[table])
            fts = fts_table(table)
            sql = (
                f"SELECT t.id FROM {fts} JOIN {table} t ON t.id = {fts}.rowid "
                f"WHERE {fts} MATCH :match AND {where_visible} "
                f"ORDER BY bm25({fts}, {weights}), t.created_at DESC, t.id DESC LIMIT :limit"
            )
        else:
            if every:
                params["q"] = " ".join(words)
                query = f"plainto_tsquery('{PG_CONFIG}', :q)"
            else:
                parts = []
                for n, word in enumerate(words):
                    params[f"w{n}"] = word
                    parts.append(f"plainto_tsquery('{PG_CONFIG}', :w{n})")
                query = " || ".join(parts)
            matches = (
                f"SELECT t.id, t.created_at, t.search_vector FROM {table} t, "
                f"(SELECT {query} AS query) AS q WHERE t.search_vector @@ q.query "
                f"AND {where_visible}"
            )
            if not every:
                # Any-word matches can be a large share of the table; rank the newest few
                # thousand of them so the fallback stays as fast as the every-word search.
                params["candidates"] = FALLBACK_CANDIDATES
                matches += " ORDER BY t.created_at DESC LIMIT :candidates"
            sql = (
                f"SELECT m.id FROM ({matches}) AS m, (SELECT {query} AS query) AS q "
                f"ORDER BY ts_rank(m.search_vector, q.query) DESC, m.created_at DESC, m.id DESC "
                f"LIMIT :limit"
            )
        # Typed, so an empty list is an empty set of strings on PostgreSQL too.
        typed = (bindparam(n, expanding=True, type_=String()) for n in expanding)
        statement = text(sql).bindparams(*typed)
        with self.db.engine.connect() as conn:
            return [row[0] for row in conn.execute(statement, params)]


def _decision_hit(d: Decision) -> Hit:
    return Hit(
        kind="decision",
        id=d.id or 0,
        ref=decision_ref(d.id),
        title=d.title,
        first_lines=first_lines(d.decision),
        author=d.author,
        created_at=d.created_at,
        channel_id=d.channel_id,
        permalink=d.permalink,
        status=d.status,
        jira_keys=list(d.jira_keys),
        via_agent=d.via_agent,
    )


def _intent_hit(i: Intent) -> Hit:
    return Hit(
        kind="intent",
        id=i.id or 0,
        ref=f"I-{i.id}",
        title=i.title,
        first_lines=first_lines(i.outcome),
        author=i.created_by,
        created_at=i.created_at,
        channel_id=i.channel_id,
        permalink=None,
        status=i.status,
        jira_keys=[i.jira_key] if i.jira_key else [],
    )
