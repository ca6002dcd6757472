"""The guided conversation in a thread, as a state machine stored in the database.

An answer is matched to the question it replied to by time: a message written before the
current question was posted belongs to the previous one (two people answering at once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, update
from sqlmodel import Session, col, select

from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.intent.models import IntentConversation, IntentStatus
from chatbot.intent.service import IntentFields, IntentService, set_card_in
from chatbot.jira_keys import is_jira_key
from chatbot.prompts import Prompts

COMMANDS = {"back", "skip", "cancel"}


class Step(StrEnum):
    ASK = "ask"  # post the question for `step`
    LATE = "late"  # answer added to an earlier question; say so, ask nothing new
    FINISHED = "finished"
    CANCELLED = "cancelled"
    IGNORED = "ignored"  # duplicate, not a conversation, or already over
    INVALID = "invalid"  # answer not understood; re-ask with a hint


@dataclass
class Reply:
    kind: Step
    conversation_id: int | None = None
    intent_id: int | None = None
    step: int = 0
    question: str = ""
    notice: str = ""
    jira_request: str | None = None
    late_field: str | None = None


def _ts_key(ts: str | None) -> tuple[int, int]:
    """Slack timestamps compared exactly ("seconds.micros"); floats lose the last digits."""
    seconds, _, micros = (ts or "0").partition(".")
    try:
        return int(seconds), int(micros.ljust(6, "0")[:6] or 0)
    except ValueError:
        return 0, 0


# Built once: it runs for every new intent (see `intent.service._insert_into`).
_START = insert(IntentConversation.__table__)  # type: ignore[attr-defined]


def asked_time_kept(step: int) -> bool:
    """Whether the time the question for `step` was posted is stored (`asked`): not for the
    first question, whose answer is never late."""
    return step != 0


class ConversationService:
    def __init__(
        self, db: Database, clock: Clock, prompts: Prompts, intents: IntentService
    ) -> None:
        self.db = db
        self.clock = clock
        self.prompts = prompts
        self.intents = intents
        self.questions: list[dict[str, str]] = prompts.get("intent.questions")

    def question(self, step: int) -> str:
        return self.questions[step]["ask"]

    def start(self, intent_id: int, channel_id: str, thread_ts: str) -> Reply:
        """Opens the conversation in the intent's thread, which becomes the intent's thread
        (unless it has one), in one transaction."""
        with self.db.transaction() as conn:
            return self.start_in(conn, intent_id, channel_id, thread_ts)

    def start_in(self, conn: Connection, intent_id: int, channel_id: str, thread_ts: str) -> Reply:
        """`start` inside the caller's transaction (the one that records the thread's root
        message as posted)."""
        now = self.clock.now()
        # Plain statements on one connection: this runs for every new intent, and the ORM's
        # object and unit of work cost more than the two statements.
        set_card_in(conn, intent_id, thread_ts=thread_ts)
        inserted = conn.execute(
            _START,
            {
                "intent_id": intent_id,
                "channel_id": channel_id,
                "thread_ts": thread_ts,
                "step": 0,
                "asked_ts": None,
                "state": "active",
                "answered_ts": [],
                "created_at": now,
                "updated_at": now,
            },
        )
        conversation_id = int(inserted.inserted_primary_key[0])
        return Reply(Step.ASK, conversation_id, intent_id, 0, self.question(0))

    def asked(self, conversation_id: int, step: int, ts: str) -> None:
        """Record when the question for `step` was posted (the boundary for late answers).

        Nothing is stored for the first question: an answer to it is never late (there is no
        earlier question it could belong to), so its time would never be read.
        """
        if not asked_time_kept(step):
            return
        with self.db.transaction() as conn:
            self.asked_in(conn, conversation_id, step, ts)

    @staticmethod
    def asked_in(conn: Connection, conversation_id: int, step: int, ts: str) -> None:
        """`asked` inside the caller's transaction."""
        if not asked_time_kept(step):
            return
        # One conditional UPDATE: the step may have moved on since the question was posted.
        conn.execute(
            update(IntentConversation)
            .where(
                col(IntentConversation.id) == conversation_id,
                col(IntentConversation.step) == step,
            )
            .values(asked_ts=ts)
        )

    def find(self, channel_id: str, thread_ts: str) -> IntentConversation | None:
        with self.db.session() as s:
            return s.exec(
                select(IntentConversation).where(
                    IntentConversation.channel_id == channel_id,
                    IntentConversation.thread_ts == thread_ts,
                )
            ).first()

    def answer(
        self,
        channel_id: str,
        thread_ts: str,
        ts: str,
        user_id: str,
        text: str,
        also: Callable[[Connection, Reply], None] | None = None,
    ) -> Reply:
        """Apply one thread message; returns what the bot should say next.

        The conversation row stays locked until the answer is stored, so two answers that
        arrive together are applied one after the other and neither overwrites the other.
        `also` runs in the same transaction with the reply (what the answer owes is stored
        with the answer).
        """
        with self.db.session() as s:
            reply = self._answer_in(s, channel_id, thread_ts, ts, user_id, text)
            if also is not None and reply.kind != Step.IGNORED:
                s.flush()
                also(s.connection(), reply)
            return reply

    def _answer_in(
        self, s: Session, channel_id: str, thread_ts: str, ts: str, user_id: str, text: str
    ) -> Reply:
        word = text.strip().lower()
        conv = s.exec(
            select(IntentConversation)
            .where(
                IntentConversation.channel_id == channel_id,
                IntentConversation.thread_ts == thread_ts,
            )
            .with_for_update()
        ).first()
        if conv is None or conv.state != "active" or ts in conv.answered_ts:
            return Reply(Step.IGNORED)
        conv.answered_ts = [*conv.answered_ts, ts][-200:]
        conv.updated_at = self.clock.now()
        step = conv.step
        late = step > 0 and (conv.asked_ts is None or _ts_key(ts) < _ts_key(conv.asked_ts))

        def reply(kind: Step, at: int, question: str = "", **extra: Any) -> Reply:
            return Reply(kind, conv.id, conv.intent_id, at, question, **extra)

        if word == "cancel":
            conv.state = "cancelled"
            self.intents.set_status_in(s, conv.intent_id, IntentStatus.CANCELLED, user_id)
            return reply(Step.CANCELLED, step)
        if word == "back":
            conv.step = max(0, step - 1)
            conv.asked_ts = None
            notice = self.prompts.text("intent.back_at_start") if step == 0 else ""
            return reply(Step.ASK, conv.step, self.question(conv.step), notice=notice)
        if late and word == "skip":
            return Reply(Step.IGNORED)  # meant for a question someone already answered
        if late:
            previous = self.questions[step - 1]
            if previous["field"] != "jira":
                self.intents.append_in(s, conv.intent_id, user_id, previous["field"], text)
            notice = self.prompts.text("intent.late_answer", user=user_id, field=previous["label"])
            return reply(Step.LATE, step, late_field=previous["label"], notice=notice)
        field = self.questions[step]["field"]
        jira_request = None
        if field == "jira" and word not in {"skip", "new"} and not is_jira_key(text.upper()):
            return reply(
                Step.INVALID,
                step,
                self.question(step),
                notice=self.prompts.text("intent.jira_invalid"),
            )
        if word != "skip":
            if field == "jira":
                jira_request = "new" if word == "new" else text.strip().upper()
            elif field in ("constraints", "checks"):
                self.intents.edit_in(
                    s, conv.intent_id, user_id, **{field: IntentFields.lines(text)}
                )
            else:
                self.intents.edit_in(s, conv.intent_id, user_id, **{field: text.strip()})
        conv.step = step + 1
        conv.asked_ts = None
        if conv.step >= len(self.questions):
            conv.state = "finished"
            return reply(Step.FINISHED, conv.step, jira_request=jira_request)
        notice = self.prompts.text("intent.skipped") if word == "skip" else ""
        return reply(
            Step.ASK,
            conv.step,
            self.question(conv.step),
            notice=notice,
            jira_request=jira_request,
        )
