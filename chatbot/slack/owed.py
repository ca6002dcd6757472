"""Every message the bot owes Slack after a person's action goes through the outbox.

A message is stored first (with the change that owes it when the caller has that change's
transaction), then sent at once on the calling thread. When Slack is slow the thread waits,
never the acknowledgement; when Slack is down or rate-limited the row stays in the outbox and
the clock sends it when Slack answers again, once, after the earlier messages of the same
conversation (its *lane*). What a send makes known (a message's ts) is stored with the row's
"sent" mark, and the messages that follow from it (the first question in a new thread) are
owed in that same transaction.

Steps and renderers are named, so a row stored by one process can be sent by another:
a step (`then`, `refused`) records what a send or a refusal means; a renderer makes a card's
text and blocks at send time, so a card sent late shows the intent as it is then.
"""

from __future__ import annotations

import logging
import socket
import threading
import urllib.error
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.webhook import WebhookClient
from sqlalchemy import Connection

from chatbot.clock import Clock
from chatbot.crashpoints import crash_point
from chatbot.db.engine import Database
from chatbot.outbox import store
from chatbot.outbox.models import OutboxMessage
from chatbot.outbox.worker import GiveUp, Landed, OutboxWorker, Progress, RetryLater
from chatbot.prompts import Prompts
from chatbot.settings import Settings
from chatbot.slack.blockkit import message_problems
from chatbot.slack.post import refusal_of
from chatbot.slack.text import escape, truncate

log = logging.getLogger(__name__)

OWED_KIND = "slack.message"
#: Slack's answers that mean "not now": the same message may be accepted later.
TRANSIENT = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "http_5xx",
        "team_added_to_org",
    }
)
#: A person's own channel or DM refused an ephemeral: say it in the DM instead.
NOT_THERE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "user_not_in_channel"})
#: What marks a message the bot posted for an outbox row, so a retry after an answer that
#: never came finds it instead of posting it twice.
METADATA_EVENT = "throughline_owed"
#: How many pages (of 200) of a conversation a look for an earlier post reads at most.
FIND_PAGES = 5
#: The Slack library logs every failed try as an error; the outbox says it once per retry.
QUIET = logging.getLogger("chatbot.slack.sender")
QUIET.setLevel(logging.CRITICAL)

#: The rows a step owed, to send next (`Enqueued.follow`: a claimed row, else its id).
Next = list[int | OutboxMessage]
#: A step: (its transaction, its arguments, the sent message's ts or Slack's error) -> Next.
StepFn = Callable[[Connection, dict[str, Any], str], Next]
Renderer = Callable[[dict[str, Any]], "tuple[str, list[dict[str, Any]] | None] | None"]


@dataclass(frozen=True)
class Step:
    """A named step with its arguments (stored in the row, so any process can run it)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    """One message the bot owes Slack.

    `channel` is a channel id, or a person's id for a DM. With `user` it is an ephemeral to
    that person, through `response_url` while that is fresh. `render` makes text and blocks
    at send time; `then` runs with the sent message's ts in the transaction that marks it
    sent; `refused` runs with Slack's error when Slack refuses it for good; `after` are owed
    once this one is sent. `tell` is the person to tell, once, when it is late.
    """

    channel: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    update_ts: str | None = None
    user: str | None = None
    response_url: str | None = None
    response_type: str = "ephemeral"
    replace_original: bool = False
    #: A reply to the request behind `response_url` (Bolt's `respond`), `user` or not.
    reply: bool = False
    render: Step | None = None
    then: Step | None = None
    refused: Step | None = None
    after: list[Message] = field(default_factory=list)
    tell: str | None = None
    about: str = ""
    key: str | None = None
    permalink: bool = False

    @property
    def private(self) -> bool:
        """Said to one person (an ephemeral, a reply), not posted for the channel."""
        return bool(self.user or self.reply) and not self.update_ts

    @property
    def lane(self) -> str:
        """Messages of one conversation keep their order: a thread's replies, what one
        person's actions post at a channel's top level, a card's updates, one person's
        ephemerals in a channel. Top-level posts caused by different people keep no order
        among themselves (their requests had none), so a busy channel is not sent one
        message at a time."""
        if self.update_ts:
            return f"update:{self.channel}:{self.update_ts}"
        if self.private:
            return f"ephemeral:{self.channel}:{self.user or '-'}"
        if self.thread_ts:
            return f"post:{self.channel}:{self.thread_ts}"
        return f"post:{self.channel}:-:{self.tell or '-'}"

    def payload(self, owed_at: datetime) -> dict[str, Any]:
        # By hand, not `dataclasses.asdict`: that deep-copies every field (most of the cost
        # of owing a message), and `_without_nul` copies the containers anyway.
        data = {name: getattr(self, name) for name in _MESSAGE_FIELDS}
        for name in ("render", "then", "refused"):
            step = data[name]
            if step is not None:
                data[name] = {"name": step.name, "args": step.args}
        data["after"] = [m.payload(owed_at) for m in self.after]
        data["owed_at"] = owed_at.isoformat()
        return _without_nul(data)

    @classmethod
    def of(cls, payload: dict[str, Any]) -> Message:
        data = {k: v for k, v in payload.items() if k in cls.__dataclass_fields__}
        for name in ("render", "then", "refused"):
            if data.get(name):
                data[name] = Step(**data[name])
        data["after"] = [cls.of(m) for m in data.get("after") or []]
        return cls(**data)


_MESSAGE_FIELDS = tuple(f.name for f in fields(Message))


@dataclass(frozen=True)
class Sent:
    """What became of a message owed and sent at once: `ok` it is in Slack (`ts`), `error`
    Slack refused it for good, neither: it waits in the outbox for Slack to answer."""

    row_id: int
    ok: bool = False
    ts: str | None = None
    error: str | None = None

    @property
    def waiting(self) -> bool:
        return not self.ok and self.error is None


class SlackOutbox:
    """Owes messages (stores them in the outbox) and sends them, through one WebClient."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        prompts: Prompts,
        settings: Settings,
        client: WebClient | None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.prompts = prompts
        self.client = client
        self.late_after = timedelta(seconds=settings.slack_late_notice_seconds)
        self.response_url_life = timedelta(seconds=settings.slack_response_url_seconds)
        self._watched = threading.local()
        self.steps: dict[str, StepFn] = {}
        self.renderers: dict[str, Renderer] = {}
        self.worker: OutboxWorker | None = None

    # --- wiring ------------------------------------------------------------------------------
    def handlers(self) -> dict[str, Callable[[OutboxMessage, Progress], Landed | None]]:
        return {OWED_KIND: self.handle}

    def use(self, worker: OutboxWorker) -> None:
        self.worker = worker

    def step(self, name: str, fn: StepFn) -> None:
        self.steps[name] = fn

    def renderer(self, name: str, fn: Renderer) -> None:
        self.renderers[name] = fn

    # --- owing -------------------------------------------------------------------------------
    def owe_in(
        self, conn: Connection, message: Message, claim: bool = False, new_thread: bool = False
    ) -> store.Enqueued:
        """Store `message` in the caller's transaction (claimed for this process with
        `claim`, to be sent by `send_claimed` right after the commit). `new_thread`: its
        thread has just begun, so nothing can be owed in it before this message."""
        new_key = message.key is None
        key = message.key or f"slack:{uuid.uuid4().hex}"
        message.key = key
        worker = self.worker.name if claim and self.worker is not None else None
        lease = self.worker.lease if self.worker is not None else store.LEASE
        return store.enqueue_in(
            conn,
            self.clock.now(),
            OWED_KIND,
            key,
            message.payload(self.clock.now()),
            # A message owed again under its key (a card's update) is a new send.
            reset_state=True,
            lane=message.lane,
            claim_for=worker,
            new_key=new_key,
            new_lane=new_thread,
            lease=lease,
        )

    def say(self, message: Message, conn: Connection | None = None) -> Sent:
        """Owe `message` and send it now (after `conn` commits, when given: the caller then
        calls `send_claimed`). Never raises for Slack's sake."""
        if not message.channel and not message.reply:
            log.info("nowhere to send a message (no channel); dropped")
            return Sent(0, error="channel_not_found")
        if conn is not None:
            return Sent(self.owe_in(conn, message, claim=True).row_id)
        with self.db.transaction() as own:
            enqueued = self.owe_in(own, message, claim=True)
        return self.send_claimed(enqueued)

    def send_claimed(self, enqueued: store.Enqueued) -> Sent:
        """Send a row owed with `claim` (or, when something earlier in its lane waits, let
        that go first); what became of it."""
        worker = self.worker
        if worker is None or enqueued.waits:
            # Waiting behind an earlier message of its lane: that one's settle sends it.
            return Sent(enqueued.row_id)
        self._watched.row_id, self._watched.sent = enqueued.row_id, None
        try:
            # One connection for the chain's claims and settles (see `Database.holding`).
            with self.db.holding():
                if enqueued.row is not None:
                    worker.run_claimed(enqueued.row)
                else:
                    worker.run_one(enqueued.row_id)
            return self._watched.sent or Sent(enqueued.row_id)
        finally:
            self._watched.row_id, self._watched.sent = None, None

    def _outcome(self, row: OutboxMessage, ts: str | None = None, error: str | None = None) -> None:
        """Remember what became of the row this thread is sending for `say`."""
        if getattr(self._watched, "row_id", None) == row.id:
            self._watched.sent = Sent(int(row.id or 0), ok=error is None, ts=ts, error=error)

    # --- the conveniences the flows use ------------------------------------------------------
    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        update_ts: str | None = None,
        **extra: Any,
    ) -> Sent:
        return self.say(
            Message(channel, text, blocks, thread_ts=thread_ts, update_ts=update_ts, **extra)
        )

    def ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        respond: Any = None,
        **extra: Any,
    ) -> Sent:
        """An ephemeral note; through the request's response_url when there is one (it works
        even where the bot was not invited)."""
        response_url = getattr(respond, "response_url", None)
        return self.say(
            Message(
                channel or user,
                text,
                blocks,
                thread_ts=thread_ts,
                user=user,
                response_url=response_url,
                tell=user,
                **extra,
            )
        )

    # --- sending (the outbox handler) --------------------------------------------------------
    def handle(self, row: OutboxMessage, progress: Progress) -> Landed | None:
        message = Message.of(row.payload)
        owed_at = _parse_time(row.payload.get("owed_at")) or row.created_at
        ts = progress.state.get("ts")
        permalink = progress.state.get("permalink")
        if ts is None:
            rendered = self._render(message)
            if rendered is None:
                return Landed({"skipped": True})
            try:
                crash_point("slack_outbox.before_send")
                ts = self._send(message, rendered, owed_at, progress, row)
                # Slack has it, the row does not say so yet: the next claim finds the row's
                # lease lapsed and looks for the message instead of posting it again.
                crash_point("slack_outbox.after_send")
            except SlackApiError as exc:
                error, retry_after = refusal_of(exc)
                if error in TRANSIENT:
                    self._late(row, message, owed_at)
                    raise RetryLater(error, retry_after) from None
                self._outcome(row, error=error)
                raise GiveUp(error, record=self._refused(row, message, error)) from None
            except Unreachable as exc:
                self._late(row, message, owed_at)
                raise RetryLater(exc.reason) from None
            if message.permalink and ts:
                permalink = self._permalink(message.channel, ts)
        self._outcome(row, ts=ts)
        return Landed(
            {"ts": ts},
            record=self._sent_record(message, ts or "", permalink),
            state={**(row.state or {}), "ts": ts} if ts else None,
        )

    def _render(self, message: Message) -> tuple[str, list[dict[str, Any]] | None] | None:
        if message.render is None:
            return message.text, message.blocks
        render = self.renderers.get(message.render.name)
        if render is None:
            raise RetryLater(f"no renderer {message.render.name} here")
        return render(message.render.args)

    def _send(
        self,
        message: Message,
        rendered: tuple[str, list[dict[str, Any]] | None],
        owed_at: datetime,
        progress: Progress,
        row: OutboxMessage,
    ) -> str:
        """Send one message; its ts ("" for an ephemeral). Raises SlackApiError or
        Unreachable."""
        text, blocks = rendered
        problems = message_problems(text, blocks)
        if problems:
            # A bug of ours, never the person's: log it and fall back to text so nothing is lost.
            log.error("blocks break Block Kit limits: %s", problems[:5])
            blocks = None
        client = self.client
        if client is None:
            raise GiveUp("no Slack token")
        fresh = self.clock.now() - owed_at < self.response_url_life
        if message.private:
            if message.response_url and fresh and self._respond(message, text, blocks):
                return ""
            if not message.user:
                raise GiveUp("the response_url expired and the reply names nobody to DM")
            return reached(lambda: self._ephemeral(client, message, text, blocks, fresh))
        kwargs: dict[str, Any] = {"channel": message.channel, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        if message.update_ts:
            resp = reached(lambda: client.chat_update(ts=message.update_ts, **kwargs))
            return str(resp.get("ts") or message.update_ts)
        if message.thread_ts:
            kwargs["thread_ts"] = message.thread_ts
        key = str(row.dedupe_key)
        if progress.state.get("maybe_posted") or row.claim_lapsed:
            # An earlier attempt may have posted it: an answer lost on the way back, or a
            # process that died (its claim lapsed) before recording what Slack answered.
            found = reached(lambda: self._find_posted(client, message, owed_at, key))
            if found:
                return found
        kwargs["metadata"] = {"event_type": METADATA_EVENT, "event_payload": {"key": key}}
        try:
            resp = reached(lambda: client.chat_postMessage(unfurl_links=False, **kwargs))
        except (Unreachable, SlackApiError) as exc:
            if _maybe_delivered(exc):
                # Slack may have posted it without our hearing back: look before posting again.
                progress.save(maybe_posted=True)
            raise
        return str(resp.get("ts") or "")

    def _respond(self, message: Message, text: str, blocks: list[dict[str, Any]] | None) -> bool:
        """Through the response_url; False when it has expired (then the Web API is used)."""
        assert message.response_url is not None
        try:
            answer = WebhookClient(message.response_url, timeout=10, logger=QUIET).send(
                text=text,
                blocks=blocks,
                response_type=message.response_type,
                replace_original=message.replace_original,
            )
        except (urllib.error.URLError, TimeoutError, ConnectionError, HTTPException) as exc:
            raise Unreachable(_reason(exc), sent=not _refused_connection(exc)) from None
        if answer.status_code == 200:
            return True
        if answer.status_code >= 500 or answer.status_code == 429:
            raise Unreachable(f"response_url answered {answer.status_code}")
        log.info("response_url answered %s; using the Web API", answer.status_code)
        return False

    def _ephemeral(
        self,
        client: WebClient,
        message: Message,
        text: str,
        blocks: list[dict[str, Any]] | None,
        fresh: bool,
    ) -> str:
        """chat.postEphemeral; a reply delayed past the response_url's life (or refused in the
        channel) goes to the person's DM instead, where it is still there when they look."""
        assert message.user is not None
        kwargs: dict[str, Any] = {"text": text}
        if blocks:
            kwargs["blocks"] = blocks
        if fresh and message.channel and message.channel != message.user:
            try:
                client.chat_postEphemeral(
                    channel=message.channel,
                    user=message.user,
                    **kwargs,
                    **({"thread_ts": message.thread_ts} if message.thread_ts else {}),
                )
                return ""
            except SlackApiError as exc:
                error, _ = refusal_of(exc)
                if error not in NOT_THERE:
                    raise
        resp = client.chat_postMessage(channel=message.user, unfurl_links=False, **kwargs)
        return str(resp.get("ts") or "")

    def _find_posted(
        self, client: WebClient, message: Message, owed_at: datetime, key: str
    ) -> str | None:
        """The message an earlier attempt posted without recording it, found by its metadata
        among what was posted since it was owed. A refusal to let the bot read the
        conversation (a missing scope, a channel it left) is logged and the message is posted:
        it may then show twice, never not at all. Slack busy or down raises, to look again
        later."""
        oldest = f"{(owed_at - timedelta(minutes=1)).timestamp():.6f}"
        try:
            channel = message.channel
            if channel.startswith(("U", "W")):
                # Posted to a person's id: it is in the bot's DM with them, read by its own id.
                opened = client.conversations_open(users=channel)
                channel = str((opened.get("channel") or {}).get("id") or channel)
            cursor: str | None = None
            for _ in range(FIND_PAGES):
                page: dict[str, Any] = {"cursor": cursor} if cursor else {}
                if message.thread_ts:
                    resp = client.conversations_replies(
                        channel=channel,
                        ts=message.thread_ts,
                        oldest=oldest,
                        include_all_metadata=True,
                        limit=200,
                        **page,
                    )
                else:
                    resp = client.conversations_history(
                        channel=channel, oldest=oldest, include_all_metadata=True, limit=200, **page
                    )
                for found in resp.get("messages") or []:
                    meta = found.get("metadata") or {}
                    if (meta.get("event_payload") or {}).get("key") == key:
                        return str(found.get("ts"))
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except SlackApiError as exc:
            error, _ = refusal_of(exc)
            if error in TRANSIENT:
                raise
            log.info("cannot look for an earlier post: %s", error)
        return None

    def _permalink(self, channel: str, ts: str) -> str | None:
        assert self.client is not None
        try:
            return self.client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
        except (SlackApiError, urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            log.info("no permalink for %s/%s: %s", channel, ts, type(exc).__name__)
            return None

    # --- what a send or a refusal records ----------------------------------------------------
    def _sent_record(self, message: Message, ts: str, permalink: str | None) -> store.Record | None:
        """What the send makes known, stored with the row's settle; None when nothing is (the
        settle is then one statement, `store.settle_sent`)."""
        if message.then is None and not message.after:
            return None

        def record(conn: Connection) -> list[int | OutboxMessage]:
            follow: list[int | OutboxMessage] = []
            if message.then is not None:
                args = {**message.then.args, "permalink": permalink}
                follow += self._run_step(conn, message.then.name, args, ts)
            for later in message.after:
                follow.append(self.owe_in(conn, later, claim=True).follow)
            return follow

        return record

    def _refused(self, row: OutboxMessage, message: Message, error: str) -> store.Record:
        def record(conn: Connection) -> list[int | OutboxMessage]:
            if message.refused is not None:
                return self._run_step(conn, message.refused.name, message.refused.args, error)
            if message.tell and not message.private:
                # Nobody said what a refusal means here: tell the person what Slack said.
                text = self.prompts.text("messages.slack_refused", error=escape(error))
                note = Message(message.channel, text, user=message.tell)
                return [self.owe_in(conn, note, claim=True).follow]
            return []

        return record

    def _run_step(
        self, conn: Connection, name: str, args: dict[str, Any], value: str
    ) -> list[int | OutboxMessage]:
        fn = self.steps.get(name)
        if fn is None:
            raise RuntimeError(f"no step {name} in this process")
        return fn(conn, args, value)

    # --- telling a person, once, that a reply is late -----------------------------------------
    def _late(self, row: OutboxMessage, message: Message, owed_at: datetime) -> None:
        if not message.tell or self.clock.now() - owed_at < self.late_after:
            return
        if not store.take_late_notice(self.db, row):
            return
        about = message.about or self.prompts.text("messages.slack_late_default")
        text = self.prompts.text("messages.slack_late", about=escape(truncate(about, 200)))
        if not self._tell_now(message, text, owed_at):
            store.untake_late_notice(self.db, int(row.id or 0))

    def _tell_now(self, message: Message, text: str, owed_at: datetime) -> bool:
        """Best effort, right now: through the response_url when it is fresh (Slack's hooks
        often answer while its Web API does not), else an ephemeral."""
        assert message.tell is not None
        try:
            fresh = self.clock.now() - owed_at < self.response_url_life
            if message.response_url and fresh:
                answer = WebhookClient(message.response_url, timeout=5, logger=QUIET).send(
                    text=text, response_type="ephemeral", replace_original=False
                )
                return answer.status_code == 200
            if self.client is None:
                return False
            self.client.chat_postEphemeral(channel=message.channel, user=message.tell, text=text)
            return True
        except Exception as exc:  # Slack is down: the message itself says it when it lands
            log.info("could not tell %s that a reply is late: %s", message.tell, type(exc).__name__)
            return False


class Unreachable(Exception):
    """Slack did not answer (refused, reset, timed out); `sent` when it may have got it."""

    def __init__(self, reason: str, sent: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


def _without_nul(value: Any) -> Any:
    """NUL characters dropped (PostgreSQL stores no NUL in text, and Slack shows none)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def usable_response_url(url: str | None) -> str | None:
    """A response_url worth trying: http(s) with a host (anything else reads as none)."""
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def reached(call: Callable[[], Any]) -> Any:
    """`call()`, with every way of not reaching Slack turned into Unreachable."""
    try:
        return call()
    except (urllib.error.URLError, TimeoutError, ConnectionError, HTTPException) as exc:
        raise Unreachable(_reason(exc), sent=not _refused_connection(exc)) from None
    except SlackRequestError as exc:
        raise Unreachable(f"Slack: {type(exc).__name__}") from None


def _maybe_delivered(exc: Exception) -> bool:
    if isinstance(exc, Unreachable):
        return exc.sent
    error, _ = refusal_of(exc) if isinstance(exc, SlackApiError) else ("", None)
    return error in {"http_5xx", "request_timeout", "internal_error", "fatal_error"}


def _refused_connection(exc: BaseException) -> bool:
    reason = getattr(exc, "reason", exc)
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"Slack unreachable: {type(reason).__name__}"


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
