"""A reaction that logs a decision, kept until Slack lets the bot read the reacted message.

The reaction event carries no text: the message has to be read from Slack. So the listener
stores the reaction as an outbox row (kind `slack.reaction`) in the transaction that claims
the event's delivery, and the row is worked at once on the listener's thread. While Slack
cannot be read (down, slow, rate-limited) the row waits like any message owed to Slack and
the clock tries again (Retry-After honoured); a crash leaves the row for the clock, and
Slack's retry of the event is a duplicate by its claim. Rows of one channel are worked in
order (their lane), so the first reaction on a message logs it and a later one finds it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import Connection

from chatbot.crashpoints import crash_point
from chatbot.db.dedupe import claim_delivery
from chatbot.decisions.models import Decision, DecisionSource
from chatbot.decisions.service import TEXT_MAX, DecisionDraft, Origin, decision_ref
from chatbot.outbox import store
from chatbot.outbox.models import OutboxMessage
from chatbot.outbox.worker import GiveUp, Landed, Progress, RetryLater
from chatbot.slack.decision_flow import DecisionFlow
from chatbot.slack.owed import TRANSIENT, Message, Next, SlackOutbox, Unreachable, reached
from chatbot.slack.post import refusal_of
from chatbot.slack.text import escape

log = logging.getLogger(__name__)

REACTION_KIND = "slack.reaction"
#: Slack will not let the bot read there until someone changes something (an invitation).
CANNOT_READ = frozenset({"not_in_channel", "channel_not_found", "missing_scope"})
#: Every call fails alike until the token is fixed: wait, as for an outage.
TOKEN_TROUBLE = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


class ReactionFlow:
    def __init__(self, flow: DecisionFlow, outbox: SlackOutbox) -> None:
        self.flow = flow
        self.outbox = outbox
        self.db = flow.services.db
        self.clock = flow.services.clock
        seconds = flow.services.settings.slack_reaction_give_up_seconds
        self.give_up_after = timedelta(seconds=seconds)

    # --- the listener's half: keep it --------------------------------------------------------
    def keep(self, event_id: str | None, channel: str, ts: str, user: str, emoji: str) -> None:
        """Store the reaction with its delivery's claim (or not at all), then work it now."""
        now = self.clock.now()
        key = f"slack-reaction:{event_id}" if event_id else f"slack-reaction:{channel}:{ts}:{user}"
        payload = {
            "channel": channel,
            "ts": ts,
            "user": user,
            "emoji": emoji,
            "owed_at": now.isoformat(),
        }
        worker = self.outbox.worker
        with self.db.transaction() as conn:
            if event_id and not claim_delivery(conn, f"slack:{event_id}", now):
                log.info("reaction %s: delivered before, nothing to do", event_id)
                return
            enqueued = store.enqueue_in(
                conn,
                now,
                REACTION_KIND,
                key,
                payload,
                lane=f"reaction:{channel}",
                claim_for=worker.name if worker is not None else None,
            )
        crash_point("reaction.kept")
        self.outbox.send_claimed(enqueued)

    # --- the outbox's half: read the message, log it once ------------------------------------
    def handle(self, row: OutboxMessage, progress: Progress) -> Landed:
        p = row.payload
        channel, ts, user = str(p["channel"]), str(p["ts"]), str(p.get("user") or "")
        emoji = f":{escape(str(p.get('emoji') or 'memo'))}:"
        decisions = self.flow.decisions
        if decisions.by_card(channel, ts):
            return Landed({"skipped": "a decision card"})
        existing = decisions.by_source(channel, ts)
        if existing is not None:
            return self._already(existing, channel, user)
        client = self.outbox.client
        if client is None:
            raise GiveUp("no Slack token")
        try:
            message = reached(lambda: self.flow.read_message(client, channel, ts))
        except SlackApiError as exc:
            error, retry_after = refusal_of(exc)
            if error in TRANSIENT or error in TOKEN_TROUBLE:
                raise self._wait(row, error, retry_after, channel, user, emoji) from None
            if error in CANNOT_READ:
                return self._tell(user, "reaction_cannot_read", channel=channel, emoji=emoji)
            # A refusal that will not change: waiting would hold up the channel's reactions.
            log.info("reaction on %s/%s: Slack refused the read (%s)", channel, ts, error)
            return self._tell(
                user, "reaction_refused", channel=channel, emoji=emoji, error=escape(error)
            )
        except Unreachable as exc:
            raise self._wait(row, exc.reason, None, channel, user, emoji) from None
        if message is None or message.get("subtype") == "tombstone":
            return self._tell(user, "reaction_deleted", channel=channel, emoji=emoji)
        text = (message.get("text") or "").strip()
        if not text:
            return self._tell(user, "reaction_empty")
        origin = Origin(
            channel,
            self.flow.is_private(client, channel),
            DecisionSource.REACTION,
            permalink=self.flow.permalink(client, channel, ts),
            source_channel=channel,
            source_ts=ts,
        )
        author = None if message.get("bot_id") else message.get("user")
        crash_point("reaction.before_record")
        recorded = self.flow.record(
            client,
            DecisionDraft.from_text(text[:TEXT_MAX]),
            author or user,
            user,
            origin,
            text,
            thread_ts=message.get("thread_ts") or ts,
        )
        if recorded is None:  # refused as a decision; the person was told why
            return Landed({"refused": True})
        d, created = recorded
        if not created:  # logged meanwhile by a path outside this lane (the shortcut)
            return self._already(d, channel, user)
        log.info("reaction by %s logged %s", user, decision_ref(d.id))
        return Landed({"decision_id": d.id})

    def _wait(
        self,
        row: OutboxMessage,
        error: str,
        retry_after: float | None,
        channel: str,
        user: str,
        emoji: str,
    ) -> Exception:
        """Try again later, or, once the reaction has waited the whole window, stop and say so."""
        owed_at = _parse_time(row.payload.get("owed_at")) or row.created_at
        if self.clock.now() - owed_at < self.give_up_after:
            return RetryLater(error, retry_after)
        hours = f"{self.give_up_after.total_seconds() / 3600:g}"
        note = self._tell(user, "reaction_gave_up", channel=channel, emoji=emoji, hours=hours)
        return GiveUp(f"message unread after {hours} h: {error}", record=note.record)

    def _already(self, d: Decision, channel: str, user: str) -> Landed:
        if d.logged_by == user:  # this person's own (a repeat, or this row before a crash)
            return Landed({"decision_id": d.id})
        return self._tell(user, "reaction_already", channel=channel, ref=decision_ref(d.id))

    def _tell(self, user: str, name: str, **values: object) -> Landed:
        """Settle the row with a DM to the person who reacted, owed in the same transaction."""
        if not user:
            return Landed({"told": None})
        text = self.flow.msg(name, **values)

        def record(conn: Connection) -> Next:
            return [self.outbox.owe_in(conn, Message(user, text), claim=True).follow]

        return Landed({"told": name}, record=record)


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
