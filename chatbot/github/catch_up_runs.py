"""The record of the hourly GitHub catch-up's runs (`sync_run`), read by `chatbot team doctor`.

Apart from the job (`chatbot.github.jobs`) so that reading it loads neither the GitHub client
nor the clock.
"""

from __future__ import annotations

from chatbot.db.core_models import SyncRun
from chatbot.db.engine import Database

CATCH_UP_JOB = "github-catch-up"
CATCH_UP_EVERY_SECONDS = 3600


def last_catch_up(db: Database) -> SyncRun | None:
    with db.session() as session:
        return session.get(SyncRun, CATCH_UP_JOB)
