"""The Friday check-in: a DM to each senior engineer asking what share of the week went to
orchestration and to interrupts; one answer per person and week, changeable until the
week's digest is posted, and one reminder when unanswered.

Every DM is claimed in `job_run` before it is sent (`checkin:{team}:{week}:{user}`,
`checkin-remind:…`), so several clocks never send it twice, and carries that key, so a DM
whose process died after sending it is found in the person's DMs instead of sent again
(`digest.once`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.digest.delivery import CheckInQuestion, DigestDelivery, SendMark
from chatbot.digest.once import SendStatus, send_once
from chatbot.digest.publish import STALE_AFTER, latest_posted
from chatbot.digest.schedule import CATCH_UP, latest_slot, slot_in_week
from chatbot.metrics.checkins import CheckIn
from chatbot.metrics.week import Week
from chatbot.prompts import Prompts
from chatbot.teams.models import Team

log = logging.getLogger(__name__)

SHARES = ("orchestration", "interrupts")
REMINDER_MORNING = time(9, 0)
REMINDER_SAME_DAY = timedelta(hours=2)
CHECKIN_MARK = "throughline_checkin"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class Answer:
    """saved · late (the digest is posted) · not_senior · no_team."""

    status: str
    checkin: CheckIn | None = None


class CheckInService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        prompts: Prompts,
        delivery: DigestDelivery | None,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.db = db
        self.clock = clock
        self.prompts = prompts
        self.delivery = delivery
        # A DM claimed this long ago and still not recorded was being sent by a process that
        # died; the next run looks for it in the person's DMs before sending it again.
        self.stale_after = stale_after

    # --- asking -------------------------------------------------------------------------------

    def run_due(self, team: Team, now: datetime) -> int:
        """Send the check-in when its slot is due, and the reminder when that is due."""
        tz = ZoneInfo(team.tz)
        asked_at = latest_slot(now, tz, team.checkin_weekday, team.checkin_time)
        week = Week.containing(asked_at, tz)
        sent = 0
        if now - asked_at <= CATCH_UP:
            sent += self.send(team, week.label)
        remind_at = reminder_time(team, asked_at)
        if remind_at <= now and now - remind_at <= CATCH_UP:
            sent += self.remind(team, week.label)
        return sent

    def send(self, team: Team, week: str) -> int:
        sent = 0
        for user in team.senior_engineers:
            if self._dm(f"checkin:{team.id}:{week}:{user}", team, week, user, reminder=False):
                sent += 1
        return sent

    def remind(self, team: Team, week: str) -> int:
        if self.digest_posted(team.id or 0, week):
            return 0
        answered = {c.user_id for c in self.answers(team.id or 0, week)}
        sent = 0
        for user in team.senior_engineers:
            if user in answered:
                continue
            if self._dm(f"checkin-remind:{team.id}:{week}:{user}", team, week, user, True):
                sent += 1
        return sent

    def _dm(self, key: str, team: Team, week: str, user: str, reminder: bool) -> bool:
        delivery = self.delivery
        if delivery is None:
            return False
        mark = SendMark(CHECKIN_MARK, key)

        def send() -> str:
            current = self.answer_of(team.id or 0, week, user)
            note = (
                self.prompts.text("digest.checkin.reminder", team=team.name, week=week)
                if reminder
                else None
            )
            question = CheckInQuestion(
                team.name,
                team.id or 0,
                week,
                current.orchestration_share if current else None,
                current.interrupt_share if current else None,
                note=note,
            )
            return delivery.checkin_dm(user, question, mark)

        def find(since: datetime) -> str | None:
            return delivery.find_sent(user, mark, since)

        stale_before = self.clock.now() - self.stale_after
        sent = send_once(self.db, self.clock, key, "checkin", send, find, stale_before)
        if sent.status == SendStatus.FAILED:
            log.warning("check-in DM for team %s failed: %s", team.name, sent.error)
        return sent.status == SendStatus.SENT

    # --- answers ------------------------------------------------------------------------------

    def answer(self, team: Team | None, week: str, user: str, share: str, value: float) -> Answer:
        """Save one share (0–1) of one person's week, unless the digest is already posted."""
        if team is None or team.id is None:
            return Answer("no_team")
        if team.senior_engineers and user not in team.senior_engineers:
            return Answer("not_senior")
        if share not in SHARES:
            raise ValueError(f"unknown share {share!r}")
        if self.digest_posted(team.id, week):
            return Answer("late", self.answer_of(team.id, week, user))
        field = "orchestration_share" if share == "orchestration" else "interrupt_share"
        value = min(1.0, max(0.0, value))
        for _ in range(2):  # a concurrent first answer wins the insert; then update it
            try:
                with self.db.session() as s:
                    row = s.exec(
                        select(CheckIn).where(
                            CheckIn.team_id == team.id,
                            CheckIn.week == week,
                            CheckIn.user_id == user,
                        )
                    ).first()
                    now = self.clock.now()
                    if row is None:
                        row = CheckIn(
                            team_id=team.id,
                            user_id=user,
                            week=week,
                            answered_at=now,
                            updated_at=now,
                        )
                        s.add(row)
                    setattr(row, field, value)
                    row.updated_at = now
                    s.flush()
                    s.refresh(row)
                    s.expunge(row)
                    return Answer("saved", row)
            except IntegrityError:
                continue
        raise RuntimeError("check-in answer could not be saved")

    def answer_of(self, team_id: int, week: str, user: str) -> CheckIn | None:
        with self.db.session() as s:
            return s.exec(
                select(CheckIn).where(
                    CheckIn.team_id == team_id, CheckIn.week == week, CheckIn.user_id == user
                )
            ).first()

    def answers(self, team_id: int, week: str) -> list[CheckIn]:
        with self.db.session() as s:
            return list(
                s.exec(
                    select(CheckIn).where(CheckIn.team_id == team_id, CheckIn.week == week)
                ).all()
            )

    def digest_posted(self, team_id: int, week: str) -> bool:
        return latest_posted(self.db, team_id, week) is not None

    def late_text(self, team: Team, week: str) -> str:
        return self.prompts.text(
            "digest.checkin.late", week=week, day=_WEEKDAYS[team.checkin_weekday % 7]
        )


def reminder_time(team: Team, asked_at: datetime) -> datetime:
    """The next business morning after the check-in, unless the digest is due by then; in
    that case two hours after the check-in."""
    tz = ZoneInfo(team.tz)
    local = asked_at.astimezone(tz)
    day = local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    morning = datetime.combine(day, REMINDER_MORNING, tzinfo=tz).astimezone(UTC)
    week = Week.containing(asked_at, tz)
    digest_at = slot_in_week(week.shift(1), team.digest_weekday, team.digest_time)
    if morning < digest_at:
        return morning
    return asked_at + REMINDER_SAME_DAY
