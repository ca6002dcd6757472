"""Who the bot is in Slack (its user id and bot id), known without asking Slack on a request.

Bolt's own single-workspace authorization calls auth.test on the first request, so a slow or
unreachable Slack held that request past Slack's 3 s (or failed it with a 500). Here the
answer comes from the settings (`SLACK_BOT_USER_ID`, `SLACK_BOT_ID`) or from the database,
where the last auth.test answer is kept; when neither has it, auth.test runs on a background
thread and no request waits for it. Until it is known, Bolt cannot drop the bot's own events
by itself; every listener already ignores messages that carry a `bot_id`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from chatbot.clock import Clock
from chatbot.db.core_models import SyncState
from chatbot.db.engine import Database
from chatbot.settings import Settings

log = logging.getLogger(__name__)
STATE_NAME = "slack:identity"
#: How often a process without the ids may ask Slack for them in the background.
ASK_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Ids:
    user_id: str | None = None
    bot_id: str | None = None
    team_id: str | None = None


class BotIdentity:
    def __init__(
        self, settings: Settings, db: Database, clock: Clock, client: WebClient | None
    ) -> None:
        token = settings.slack_bot_token
        self.token = token.get_secret_value() if token is not None else None
        self.db = db
        self.clock = clock
        self.client = client
        self._lock = threading.Lock()
        self._asked_at = -ASK_EVERY_SECONDS
        self._ids = Ids(settings.slack_bot_user_id, settings.slack_bot_id)
        if self._ids.user_id is None:
            self._ids = self._stored() or self._ids

    @property
    def ids(self) -> Ids:
        return self._ids

    def authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """Bolt's `authorize`: the bot token from the settings, the ids as known; no call."""
        ids = self._ids
        if ids.user_id is None:
            self._ask_in_background()
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or ids.team_id,
            bot_token=self.token,
            bot_id=ids.bot_id,
            bot_user_id=ids.user_id,
        )

    def refresh(self) -> Ids | None:
        """auth.test now, kept in memory and in the database (the clock's job, or a background
        thread); None when Slack did not answer."""
        if self.client is None:
            return None
        try:
            answer: Any = self.client.auth_test()
        except Exception as exc:  # Slack down: the ids stay as they were
            log.info("auth.test did not answer: %s", type(exc).__name__)
            return None
        ids = Ids(answer.get("user_id"), answer.get("bot_id"), answer.get("team_id"))
        self._ids = ids
        try:
            with self.db.session() as s:
                row = s.get(SyncState, STATE_NAME)
                if row is None:
                    row = SyncState(name=STATE_NAME, updated_at=self.clock.now())
                    s.add(row)
                row.cursor = {"user_id": ids.user_id, "bot_id": ids.bot_id, "team": ids.team_id}
                row.updated_at = self.clock.now()
        except SQLAlchemyError as exc:
            log.info("could not keep the bot's ids: %s", type(exc).__name__)
        return ids

    def _stored(self) -> Ids | None:
        try:
            with self.db.session() as s:
                row = s.get(SyncState, STATE_NAME)
        except SQLAlchemyError:
            return None
        if row is None or not row.cursor.get("user_id"):
            return None
        cursor = row.cursor
        return Ids(cursor.get("user_id"), cursor.get("bot_id"), cursor.get("team"))

    def _ask_in_background(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._asked_at < ASK_EVERY_SECONDS:
                return
            self._asked_at = now
        threading.Thread(target=self.refresh, name="slack-identity", daemon=True).start()
