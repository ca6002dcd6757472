"""Posting a team's digest: exactly once per team and week, retried when Slack fails, and
reported to the team's orchestrators when it cannot be posted.

The week's slot is the `job_run` claim `digest:{team}:{week}`; whoever claims it (the clock,
`/digest post` or `chatbot digest --post`) posts, and nobody else does. A failed attempt is
marked `retry` with the time it may run again; the next attempt claims its own key
(`…:try2`, `…:try3`), so however many clocks see the failure, one of them retries it. The
digest is stored (`DigestPost`) before the first attempt and its message timestamp as soon
as Slack accepts it, so a retry posts the same content.

Exactly once across crashes: the stored digest is the intent to post, and the message carries
its id (`SendMark`, Slack's message metadata). An attempt left running by a process that died
is taken over after `stale_after`; before posting, the new attempt looks in the channel for a
message carrying that id and adopts it, so a process killed between Slack's acceptance and the
record does not make a second post. The attempt is finished only after the chart and the
leaders' DMs, each sent once the same way (`digest.once`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import col, select

from chatbot.clock import Clock
from chatbot.crashpoints import crash_point
from chatbot.db.claims import (
    claim_run,
    finish_run,
    first_claimed_at,
    holder_name,
    kept_alive,
    run_status,
)
from chatbot.db.core_models import RunStatus
from chatbot.db.engine import Database
from chatbot.db.outage import log_job_failure
from chatbot.digest.chart import render_chart
from chatbot.digest.delivery import DigestDelivery, SendFailed, SendMark
from chatbot.digest.models import DigestPost
from chatbot.digest.once import CLOCK_SKEW, SendStatus, Sent, send_once
from chatbot.digest.source import compute_digest, explain_items
from chatbot.metrics.week import Week, WeekError
from chatbot.prompts import Prompts
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService

log = logging.getLogger(__name__)

# Minutes to wait before each retry (Slack's Retry-After wins when it is longer).
BACKOFF_MINUTES = (1, 2, 5, 15, 30, 60, 120, 240)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
# An attempt still "running" after this long died with its process; the next one may start
# (the setting DIGEST_STALE_SECONDS).
STALE_AFTER = timedelta(minutes=10)
# Worth retrying: Slack is busy or down, or someone may still invite the bot.
RETRYABLE = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "http_5xx",
    "connection_error",
    "not_in_channel",
}

# The metadata event types of the messages the digest sends (`SendMark.kind`).
DIGEST_MARK = "throughline_digest"
DIGEST_DM_MARK = "throughline_digest_dm"
DIGEST_REPORT_MARK = "throughline_digest_report"

Compute = Callable[[Team, str | None], dict[str, Any]]
Explain = Callable[[Team, str, str], list[Any]]


class PostStatus(StrEnum):
    POSTED = "posted"
    ALREADY = "already"  # the slot is taken
    WAITING = "waiting"  # a retry is scheduled
    BUSY = "busy"  # another process is posting
    FAILED = "failed"  # reported to the orchestrators


@dataclass
class PostResult:
    status: PostStatus
    week: str
    post: DigestPost | None = None
    error: str | None = None
    since: datetime | None = None  # BUSY: when the attempt being made now started


def slot_key(team_id: int, week: str) -> str:
    return f"digest:{team_id}:{week}"


def _attempt_key(slot: str, attempt: int) -> str:
    return slot if attempt == 1 else f"{slot}:try{attempt}"


class DigestPublisher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        prompts: Prompts,
        delivery: DigestDelivery | None,
        compute: Compute | None = None,
        explain: Explain | None = None,
        chart: Callable[[dict[str, Any]], bytes] = render_chart,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.stale_after = stale_after
        self.db = db
        self.clock = clock
        self.prompts = prompts
        self.delivery = delivery
        self.compute: Compute = compute or self._engine
        self.explain: Explain = explain or self._explain
        self.chart = chart

    def _engine(self, team: Team, week: str | None) -> dict[str, Any]:
        return compute_digest(self.db, team, week, self.clock.now())

    def _explain(self, team: Team, week: str, metric: str) -> list[Any]:
        return explain_items(self.db, team, week, metric)

    # --- the week's slot -------------------------------------------------------------------

    def post_slot(
        self, team: Team, week: str, reason: str = "scheduled", user: str | None = None
    ) -> PostResult:
        """Post the week's digest unless its slot is taken; retry a failed attempt when due.
        A person posting by hand (`reason` manual) also retries a failed slot at once."""
        assert team.id is not None
        slot = slot_key(team.id, week)
        manual = reason != "scheduled"
        previous = None
        for attempt in range(1, MAX_ATTEMPTS + (20 if manual else 0) + 1):
            key = _attempt_key(slot, attempt)
            run = run_status(self.db, key)
            if run is None:
                if previous is not None and not manual and not self._retry_due(previous):
                    return PostResult(PostStatus.WAITING, week)
                holder = holder_name()
                if not claim_run(self.db, self.clock, key, "digest", holder):
                    taken = run_status(self.db, key)
                    since = first_claimed_at(taken) if taken else None
                    return PostResult(PostStatus.BUSY, week, since=since)
                # A live attempt renews its claim, so only a dead one goes stale.
                every = self.stale_after / 4
                with kept_alive(self.db, self.clock, key, holder, every):
                    return self._attempt(team, week, key, attempt, reason, user)
            if run.status == RunStatus.RETRY or (manual and run.status == RunStatus.FAILED):
                previous = run
                continue
            if (
                run.status == RunStatus.RUNNING
                and self.clock.now() - run.claimed_at > self.stale_after
            ):
                finish_run(
                    self.db, self.clock, key, RunStatus.RETRY, json.dumps({"error": "stale"})
                )
                previous = run_status(self.db, key)
                continue
            if run.status == RunStatus.RUNNING:
                return PostResult(PostStatus.BUSY, week, since=first_claimed_at(run))
            return PostResult(PostStatus.ALREADY, week, post=self.posted(team, week))
        return PostResult(PostStatus.FAILED, week, error="too many attempts")

    def post_again(self, team: Team, week: str, user: str | None) -> PostResult:
        """`/digest post again`: a fresh computation posted on purpose, outside the slot."""
        assert team.id is not None
        record = self._store(team, week, "again", user)
        return self._send(team, record, key=None, attempt=1)

    def _retry_due(self, run: Any) -> bool:
        try:
            not_before = datetime.fromisoformat(json.loads(run.detail or "{}")["not_before"])
        except (KeyError, ValueError, TypeError):
            return True
        return self.clock.now() >= not_before

    # --- one attempt ---------------------------------------------------------------------------

    def _attempt(
        self, team: Team, week: str, key: str, attempt: int, reason: str, user: str | None
    ) -> PostResult:
        started = self.clock.now()
        try:
            record = self._slot_record(team, week)
            # A record an earlier attempt stored may have been posted by it (the process died
            # after Slack accepted it): look in the channel before posting.
            look_first = record is not None
            if record is None:
                record = self._store(team, week, reason, user)
        except Exception as exc:  # the engine failed: nothing was posted, try again later
            log_job_failure(
                log, exc, "digest of team %s for %s could not be computed", team.name, week
            )
            self._failed(team, week, key, attempt, f"compute_failed: {type(exc).__name__}")
            return PostResult(PostStatus.FAILED, week, error=type(exc).__name__)
        return self._send(team, record, key, attempt, look_first, started)

    def _send(
        self,
        team: Team,
        record: DigestPost,
        key: str | None,
        attempt: int,
        look_first: bool = False,
        started: datetime | None = None,
    ) -> PostResult:
        retry_after: int | None = None
        error: str | None = None
        if record.message_ts is None:
            if self.delivery is None:
                error = "slack_not_configured"
            else:
                try:
                    ts = self._post_once(record, look_first)
                except SendFailed as exc:
                    error, retry_after = exc.error, exc.retry_after
                else:
                    record = self._mark_posted(record, ts)
                    crash_point("digest.after_record")
        if error is None:
            self._after_post(team, record, started or self.clock.now())
            if key:
                finish_run(self.db, self.clock, key, RunStatus.DONE, f"ts {record.message_ts}")
            return PostResult(PostStatus.POSTED, record.week, post=record)
        log.warning("digest of %s for %s not posted: %s", team.name, record.week, error)
        if key is None:
            return PostResult(PostStatus.FAILED, record.week, post=record, error=error)
        status = self._failed(team, record.week, key, attempt, error, retry_after)
        return PostResult(status, record.week, post=record, error=error)

    def _post_once(self, record: DigestPost, look_first: bool) -> str:
        """Post the stored digest, carrying its id; after an earlier attempt, first look for
        the message that attempt may have posted and adopt it instead."""
        assert self.delivery is not None
        mark = SendMark(DIGEST_MARK, f"digest-post:{record.id}")
        if look_first:
            since = record.posted_at - CLOCK_SKEW
            found = self.delivery.find_sent(record.channel_id, mark, since)
            if found is not None:
                log.info("digest %s was posted before a crash; recording it", record.id)
                return found
        crash_point("digest.before_send")
        ts = self.delivery.post(record.channel_id, record.message, mark)
        crash_point("digest.after_send")
        return ts

    def _failed(
        self,
        team: Team,
        week: str,
        key: str,
        attempt: int,
        error: str,
        retry_after: int | None = None,
    ) -> PostStatus:
        base = error.split(":")[0]
        if base in RETRYABLE and attempt < MAX_ATTEMPTS:
            wait = max(timedelta(minutes=BACKOFF_MINUTES[attempt - 1]), _seconds(retry_after))
            not_before = (self.clock.now() + wait).isoformat()
            detail = json.dumps({"error": error, "not_before": not_before})
            finish_run(self.db, self.clock, key, RunStatus.RETRY, detail)
            if base == "not_in_channel":
                self._report(team, week, "not_in_channel", error)
            return PostStatus.WAITING
        finish_run(self.db, self.clock, key, RunStatus.FAILED, json.dumps({"error": error}))
        if base == "channel_not_found":
            self._report(team, week, "channel_not_found", error)
        elif base in RETRYABLE:
            self._report(team, week, "gave_up", error, attempts=attempt)
        else:
            self._report(team, week, "failed", error)
        return PostStatus.FAILED

    # --- storage ---------------------------------------------------------------------------

    def _store(self, team: Team, week: str | None, reason: str, user: str | None) -> DigestPost:
        digest = self.compute(team, week)
        record = DigestPost(
            team_id=team.id or 0,
            week=str(digest.get("week") or week),
            reason=reason,
            posted_by=user,
            channel_id=team.channel_id,
            digest=digest,
            message=self.delivery.digest_message(digest) if self.delivery else {},
            posted_at=self.clock.now(),
        )
        with self.db.session() as s:
            s.add(record)
            s.flush()
            s.refresh(record)
            s.expunge(record)
        return record

    def _slot_record(self, team: Team, week: str) -> DigestPost | None:
        """The digest an earlier attempt of this slot stored: not yet accepted by Slack, or
        accepted by an attempt that died before finishing (then it is not posted again)."""
        with self.db.session() as s:
            return s.exec(
                select(DigestPost)
                .where(
                    DigestPost.team_id == team.id,
                    DigestPost.week == week,
                    col(DigestPost.reason).in_(("scheduled", "manual")),
                )
                .order_by(col(DigestPost.id))
            ).first()

    def _mark_posted(self, record: DigestPost, ts: str) -> DigestPost:
        with self.db.session() as s:
            row = s.get(DigestPost, record.id)
            assert row is not None
            row.message_ts = ts
            row.posted_at = self.clock.now()
            s.flush()
            s.refresh(row)
            s.expunge(row)
            return row

    def posted(self, team: Team, week: str) -> DigestPost | None:
        """The week's digest as Slack accepted it (the first one, when reposted)."""
        return latest_posted(self.db, team.id or 0, week)

    # --- after the post: chart in the thread, leaders DMs -------------------------------

    def _after_post(self, team: Team, record: DigestPost, started: datetime) -> None:
        """The chart in the thread, then each leader's DM, each once: claimed before it is
        sent; one claimed by an attempt that died (before `started`, when this attempt took
        the slot over) is looked for before it is sent again."""
        delivery = self.delivery
        if delivery is None or record.message_ts is None:
            return
        thread_ts = record.message_ts

        def upload() -> str:
            png = self.chart(record.digest)
            delivery.post_chart(record.channel_id, thread_ts, png, record.week, record.digest)
            return "chart"

        def chart_found(_since: datetime) -> str | None:
            return (
                "chart"
                if delivery.chart_posted(record.channel_id, thread_ts, record.week)
                else None
            )

        chart = send_once(
            self.db,
            self.clock,
            f"digest-chart:{record.id}",
            "digest-chart",
            upload,
            chart_found,
            started,
        )
        if chart.status == SendStatus.FAILED:
            log.warning("digest chart upload failed: %s", chart.error)
        for leader in team.leaders:
            sent = self._leader_dm(delivery, record, leader, started)
            if sent.status == SendStatus.FAILED:
                log.warning("digest DM to a leader of %s failed: %s", team.name, sent.error)

    def _leader_dm(
        self, delivery: DigestDelivery, record: DigestPost, leader: str, started: datetime
    ) -> Sent:
        key = f"digest-dm:{record.id}:{leader}"
        mark = SendMark(DIGEST_DM_MARK, key)

        def send() -> str:
            return delivery.leader_dm(leader, record.digest, record.channel_id, mark)

        def find(since: datetime) -> str | None:
            return delivery.find_sent(leader, mark, since)

        return send_once(self.db, self.clock, key, "digest-dm", send, find, started)

    def _report(self, team: Team, week: str, kind: str, error: str, attempts: int = 0) -> None:
        """Tell the orchestrators (or else the admins) once per week and kind of failure."""
        people = list(team.orchestrators) or list(team.admins)
        text = self.prompts.text(
            f"digest.posting.{kind}",
            week=week,
            team=team.name,
            channel=team.channel_id,
            error=error,
            attempts=attempts,
        )
        if self.delivery is None or not people:
            log.error(
                "digest of %s for %s not posted and nobody to tell: %s", team.name, week, error
            )
            return
        for person in people:
            sent = self._tell(
                self.delivery, f"digest-report:{team.id}:{week}:{kind}:{person}", person, text
            )
            if sent.status == SendStatus.FAILED:
                log.error("could not tell %s about a failed digest: %s", person, sent.error)

    def _tell(self, delivery: DigestDelivery, key: str, person: str, text: str) -> Sent:
        mark = SendMark(DIGEST_REPORT_MARK, key)

        def send() -> str:
            return delivery.tell(person, text, mark)

        def find(since: datetime) -> str | None:
            return delivery.find_sent(person, mark, since)

        stale_before = self.clock.now() - self.stale_after
        return send_once(self.db, self.clock, key, "digest-report", send, find, stale_before)


def latest_posted(db: Database, team_id: int, week: str | None = None) -> DigestPost | None:
    with db.session() as s:
        query = select(DigestPost).where(
            DigestPost.team_id == team_id, col(DigestPost.message_ts).is_not(None)
        )
        if week is not None:
            query = query.where(DigestPost.week == week).order_by(col(DigestPost.id))
        else:
            query = query.order_by(col(DigestPost.week).desc(), col(DigestPost.id).desc())
        return s.exec(query).first()


def _seconds(value: int | None) -> timedelta:
    return timedelta(seconds=value or 0)


class PostError(Exception):
    """`chatbot digest --post` cannot post; the message says what to do."""


def post_from_cli(
    publisher: DigestPublisher, team_name: str, week: str | None, again: bool = False
) -> PostResult:
    """`chatbot digest --post [--again]`: the same slot as the clock and `/digest post`."""
    team = TeamService(publisher.db, publisher.clock).get(team_name)
    if team is None:
        raise PostError(f"No team {team_name!r}; `chatbot team list` shows the teams")
    if publisher.delivery is None:
        raise PostError("SLACK_BOT_TOKEN is not set, so the digest cannot be posted")
    try:
        label = (
            Week.parse(week, team.tz).label
            if week
            else Week.last_complete(publisher.clock.now(), team.tz).label
        )
    except WeekError as exc:
        raise PostError(str(exc)) from None
    if again:
        return publisher.post_again(team, label, None)
    return publisher.post_slot(team, label, reason="manual")
