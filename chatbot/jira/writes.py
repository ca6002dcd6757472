"""Jira writes other domains ask for; each goes through the outbox, never straight to Jira."""

from __future__ import annotations

import re

from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.outbox import store

COMMENT_KIND = "jira.comment"
INTENT_KIND = "jira.intent"
_SAFE = re.compile(r"[^A-Za-z0-9._:-]")


def comment_row_key(dedupe_key: str) -> str:
    return "jira-comment:" + _SAFE.sub("_", dedupe_key)[:200]


def intent_row_key(intent_id: int) -> str:
    return f"jira-intent:{intent_id}"


def enqueue_comment(db: Database, clock: Clock, issue_key: str, dedupe_key: str, text: str) -> int:
    """Upsert ONE Jira comment identified by `dedupe_key`: created the first time, edited after.

    Returns the outbox row id once the write is stored; the outbox sends it (kicked at once
    by the caller, else by the clock, or when Jira is back) and never makes a second
    comment for the same key.
    """
    return store.enqueue(
        db,
        clock,
        COMMENT_KIND,
        comment_row_key(dedupe_key),
        {"issue_key": issue_key.strip().upper(), "text": text},
    )
