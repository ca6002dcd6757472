"""Intent use cases: drafts, edits with revisions, lifecycle and verified checks.

Nothing here knows about Slack payloads or the Jira client.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Insert, Table, Update, bindparam, case, insert, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import configure_mappers
from sqlmodel import Session, SQLModel, col, select

from chatbot.clock import Clock
from chatbot.crashpoints import crash_point
from chatbot.db.dedupe import AlreadyDelivered, claim_delivery
from chatbot.db.engine import Database
from chatbot.errors import UserError
from chatbot.intent.models import AcceptanceCheck, Intent, IntentRevision, IntentStatus
from chatbot.jira_keys import is_jira_key
from chatbot.teams.service import team_of_channel

TITLE_MAX = 200
_M = TypeVar("_M", bound=SQLModel)
OPEN_STATUSES = (
    IntentStatus.DRAFT,
    IntentStatus.READY,
    IntentStatus.LINKED,
    IntentStatus.IN_PROGRESS,
    IntentStatus.VERIFIED,
)
STARTED_STATUSES = (IntentStatus.IN_PROGRESS, IntentStatus.VERIFIED, IntentStatus.DONE)
_REF = re.compile(r"^(?:I-|#)?(\d{1,9})$", re.IGNORECASE)


class IntentError(UserError):
    """A request the user can fix; its text (prompts/intent.toml [errors]) says how."""


@dataclass
class IntentFields:
    """The editable content of an intent, as typed by a person."""

    title: str = ""
    outcome: str = ""
    why: str = ""
    constraints: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    out_of_scope: str = ""

    @staticmethod
    def lines(text: str) -> list[str]:
        """One item per non-empty line, list markers stripped."""
        items = []
        for raw in (text or "").splitlines():
            item = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", raw).strip()
            if item:
                items.append(item)
        return items


@dataclass
class IntentView:
    intent: Intent
    checks: list[AcceptanceCheck]

    @property
    def ref(self) -> str:
        return intent_ref(self.intent.id)

    @property
    def verified_count(self) -> int:
        return sum(1 for c in self.checks if c.verified_at is not None)

    def visible_from(self, channel_id: str | None) -> bool:
        """A private channel's intent is shown only inside that channel."""
        return not self.intent.channel_is_private or channel_id == self.intent.channel_id

    def fields(self) -> IntentFields:
        i = self.intent
        return IntentFields(
            i.title,
            i.outcome,
            i.why,
            list(i.constraints),
            [c.text for c in self.checks],
            i.out_of_scope,
        )


def intent_ref(intent_id: int | None) -> str:
    return f"I-{intent_id}"


def parse_ref(ref: str) -> int | None:
    match = _REF.match(ref.strip())
    return int(match.group(1)) if match else None


class IntentService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # --- reading ---------------------------------------------------------------------
    def get(self, intent_id: int) -> IntentView | None:
        with self.db.session() as s:
            intent = s.get(Intent, intent_id)
            return _view(s, intent) if intent else None

    def find(self, ref: str) -> IntentView | None:
        """An intent by `I-12`, `12`, `#12` or its Jira key."""
        intent_id = parse_ref(ref)
        if intent_id is not None:
            return self.get(intent_id)
        if is_jira_key(ref.upper()):
            with self.db.session() as s:
                intent = s.exec(
                    select(Intent)
                    .where(Intent.jira_key == ref.strip().upper())
                    .order_by(col(Intent.id).desc())
                ).first()
                return _view(s, intent) if intent else None
        return None

    def list_open(self, channel_id: str, limit: int = 20) -> list[IntentView]:
        with self.db.session() as s:
            intents = s.exec(
                select(Intent)
                .where(Intent.channel_id == channel_id, col(Intent.status).in_(OPEN_STATUSES))
                .order_by(col(Intent.updated_at).desc())
                .limit(limit)
            ).all()
            return [_view(s, i) for i in intents]

    def open_for_user(self, user_id: str, limit: int = 10) -> list[IntentView]:
        with self.db.session() as s:
            intents = s.exec(
                select(Intent)
                .where(Intent.created_by == user_id, col(Intent.status).in_(OPEN_STATUSES))
                .order_by(col(Intent.updated_at).desc())
                .limit(limit)
            ).all()
            return [_view(s, i) for i in intents]

    # --- writing ----------------------------------------------------------------------
    def create(
        self,
        fields: IntentFields,
        channel_id: str,
        user_id: str,
        thread_ts: str | None = None,
        team_id: int | None = None,
        status: IntentStatus = IntentStatus.DRAFT,
        is_private: bool = False,
        team_from_channel: bool = False,
        delivery_key: str | None = None,
        also: Callable[[Connection, IntentView], None] | None = None,
    ) -> IntentView:
        """A new intent with its checks and first revision. With `team_from_channel` it
        belongs to the team of `channel_id` (looked up in the same transaction), not `team_id`.
        With `delivery_key` (a Slack event asked for it) the delivery is claimed in the same
        transaction, so a redelivery creates nothing and raises `AlreadyDelivered`, while a
        delivery whose process died before the intent was stored is done on Slack's retry.
        `also` runs in the same transaction with the new intent (what creating it owes is
        stored with it, or neither is)."""
        title = fields.title.strip()
        if not title:
            raise IntentError("intent.errors.no_title")
        if len(title) > TITLE_MAX:
            raise IntentError("intent.errors.title_too_long", limit=TITLE_MAX)
        now = self.clock.now()
        # This runs for every new intent (each `/intent <title>`), so it is written as plain
        # statements on one connection: a new intent has no checks to keep and no revisions
        # before it, and the ORM's unit of work cost more than the statements themselves. The
        # revision number goes in with the row (no UPDATE re-running the full-text trigger).
        values: dict[str, Any] = {
            "team_id": team_id,
            "title": title,
            "outcome": fields.outcome,
            "why": fields.why,
            "constraints": list(fields.constraints),
            "out_of_scope": fields.out_of_scope,
            "status": status,
            "jira_key": None,
            "channel_id": channel_id,
            "channel_is_private": is_private,
            "thread_ts": thread_ts,
            "card_ts": None,
            "created_by": user_id,
            "created_at": now,
            "updated_at": now,
            "started_at": None,
            "done_at": None,
            "revision": 1,
        }
        with self.db.transaction() as conn:
            if delivery_key is not None and not claim_delivery(conn, delivery_key, now):
                raise AlreadyDelivered(delivery_key)
            crash_point("intent.create.claimed")
            # Without checks the first revision is known before the intent's id; on
            # PostgreSQL it goes in with the intent (and its team), one statement for all.
            revision_with_intent = (
                team_from_channel and not fields.checks and conn.dialect.name == "postgresql"
            )
            if revision_with_intent:
                del values["team_id"]
                revision = _revision_values(_as_read(Intent, {"id": 0, **values}), user_id, now, [])
                params = {f"intent_{k}": v for k, v in values.items()}
                params |= {f"revision_{k}": v for k, v in revision.items() if k != "intent_id"}
                stored = conn.execute(_INSERT_WITH_REVISION, {**params, "team_channel": channel_id})
                intent_id, values["team_id"] = stored.one()
            elif team_from_channel:
                # The channel's team is looked up by the INSERT itself (one round trip less).
                del values["team_id"]
                stored = conn.execute(_INSERT_WITH_TEAM, {**values, "team_channel": channel_id})
                intent_id, values["team_id"] = stored.one()
            else:
                inserted = conn.execute(_insert_into(_table(Intent)), values)
                intent_id = inserted.inserted_primary_key[0]
            intent = _as_read(Intent, {"id": int(intent_id), **values})
            checks = []
            for position, text in enumerate(fields.checks):
                check = AcceptanceCheck(intent_id=intent.id, position=position, text=text)
                check.id = _insert(conn, AcceptanceCheck, check)
                checks.append(check)
            if not revision_with_intent:
                revision = _revision_values(intent, user_id, now, [c.text for c in checks])
                conn.execute(_insert_into(_table(IntentRevision)), revision)
            view = IntentView(intent=intent, checks=checks)
            if also is not None:
                also(conn, view)
        return view

    def edit(self, intent_id: int, user_id: str, **changes: Any) -> IntentView:
        """Apply field changes (title, outcome, why, constraints, checks, out_of_scope)."""
        with self.db.session() as s:
            return self.edit_in(s, intent_id, user_id, **changes)

    def edit_in(self, s: Session, intent_id: int, user_id: str, **changes: Any) -> IntentView:
        """`edit` inside the caller's transaction (the conversation applies answers this way)."""
        now = self.clock.now()
        intent = _locked(s, intent_id)
        changed = False
        for name in ("title", "outcome", "why", "out_of_scope"):
            value = changes.get(name)
            if value is not None and getattr(intent, name) != value:
                setattr(intent, name, value)
                changed = True
        constraints = changes.get("constraints")
        if constraints is not None and list(intent.constraints) != list(constraints):
            intent.constraints = list(constraints)
            changed = True
        if changes.get("checks") is not None:
            current = [c.text for c in _checks(s, intent.id)]
            if current != list(changes["checks"]):
                _replace_checks(s, intent, changes["checks"])
                changed = True
        if changed:
            intent.updated_at = now
            _record_revision(s, intent, user_id, now)
        s.flush()
        return _view(s, intent)

    def append_in(
        self, s: Session, intent_id: int, user_id: str, field_name: str, text: str
    ) -> IntentView:
        """Add to a field without replacing it (a second person answering the same question)."""
        current = _view(s, _locked(s, intent_id)).fields()
        if field_name in ("constraints", "checks"):
            merged: Any = getattr(current, field_name) + IntentFields.lines(text)
        else:
            old = getattr(current, field_name)
            merged = f"{old}\n\n{text}" if old else text
        return self.edit_in(s, intent_id, user_id, **{field_name: merged})

    def set_status(self, intent_id: int, status: IntentStatus, user_id: str) -> IntentView:
        with self.db.session() as s:
            return self.set_status_in(s, intent_id, status, user_id)

    def set_status_in(
        self, s: Session, intent_id: int, status: IntentStatus, user_id: str
    ) -> IntentView:
        now = self.clock.now()
        intent = _locked(s, intent_id)
        intent.status = status
        intent.updated_at = now
        if status in STARTED_STATUSES and intent.started_at is None:
            intent.started_at = now
        if status == IntentStatus.DONE and intent.done_at is None:
            intent.done_at = now
        s.flush()
        return _view(s, intent)

    def save(self, intent_id: int, user_id: str) -> IntentView:
        view = self.get(intent_id)
        if view is None:
            raise IntentError("intent.errors.gone")
        if not view.intent.outcome.strip():
            raise IntentError("intent.errors.save_needs_outcome")
        if not view.checks:
            raise IntentError("intent.errors.save_needs_checks")
        if view.intent.status in (IntentStatus.DRAFT, IntentStatus.CANCELLED):
            return self.set_status(intent_id, IntentStatus.READY, user_id)
        return view

    def link(self, intent_id: int, jira_key: str, user_id: str) -> IntentView:
        now = self.clock.now()
        with self.db.session() as s:
            intent = _locked(s, intent_id)
            intent.jira_key = jira_key.upper()
            if intent.status in (IntentStatus.DRAFT, IntentStatus.READY):
                intent.status = IntentStatus.LINKED
            intent.updated_at = now
            s.flush()
            return _view(s, intent)

    def set_card(
        self, intent_id: int, card_ts: str | None = None, thread_ts: str | None = None
    ) -> None:
        with self.db.session() as s:
            set_card_in(s, intent_id, card_ts=card_ts, thread_ts=thread_ts)

    def verify_check(self, check_id: int, user_id: str) -> IntentView:
        """Tick one check as verified (who, when); all verified moves a started intent on."""
        now = self.clock.now()
        with self.db.session() as s:
            check = s.exec(
                select(AcceptanceCheck).where(AcceptanceCheck.id == check_id).with_for_update()
            ).first()
            if check is None:
                raise IntentError("intent.errors.check_replaced")
            if check.verified_at is None:
                check.verified_by = user_id
                check.verified_at = now
            intent = _locked(s, check.intent_id)
            intent.updated_at = now
            s.flush()
            checks = _checks(s, intent.id)
            if intent.status == IntentStatus.IN_PROGRESS and all(c.verified_at for c in checks):
                intent.status = IntentStatus.VERIFIED
            return _view(s, intent)

    def revisions(self, intent_id: int) -> list[IntentRevision]:
        with self.db.session() as s:
            return list(
                s.exec(
                    select(IntentRevision)
                    .where(IntentRevision.intent_id == intent_id)
                    .order_by(col(IntentRevision.number))
                ).all()
            )

    def late_revisions_between(self, start: datetime, end: datetime) -> list[IntentRevision]:
        with self.db.session() as s:
            return list(
                s.exec(
                    select(IntentRevision).where(
                        IntentRevision.late == True,  # noqa: E712
                        IntentRevision.created_at >= start,
                        IntentRevision.created_at < end,
                    )
                ).all()
            )


def _locked(s: Session, intent_id: int | None) -> Intent:
    intent = s.exec(select(Intent).where(Intent.id == intent_id).with_for_update()).first()
    if intent is None:
        raise IntentError("intent.errors.gone")
    return intent


def _checks(s: Session, intent_id: int | None) -> list[AcceptanceCheck]:
    return list(
        s.exec(
            select(AcceptanceCheck)
            .where(AcceptanceCheck.intent_id == intent_id)
            .order_by(col(AcceptanceCheck.position))
        ).all()
    )


def _view(s: Session, intent: Intent) -> IntentView:
    return IntentView(intent=intent, checks=_checks(s, intent.id))


def _replace_checks(s: Session, intent: Intent, texts: list[str]) -> None:
    """Keep the verification of checks whose text did not change."""
    existing = {c.text: c for c in _checks(s, intent.id)}
    for position, text in enumerate(texts):
        old = existing.pop(text, None)
        if old is not None:
            old.position = position
        else:
            s.add(AcceptanceCheck(intent_id=intent.id or 0, position=position, text=text))
    for stale in existing.values():
        s.delete(stale)
    s.flush()


def set_card_in(
    s: Session | Connection,
    intent_id: int,
    card_ts: str | None = None,
    thread_ts: str | None = None,
) -> None:
    """Remember the card's message and the intent's thread (the first thread only), inside the
    caller's transaction, in one statement (no ORM round trip: it runs for every new intent).
    Objects of this intent already loaded in `s` do not see the change."""
    if card_ts or thread_ts:
        params = {"intent_id": intent_id, "new_card_ts": card_ts, "new_thread_ts": thread_ts}
        found = s.execute(_set_card(bool(card_ts), bool(thread_ts)), params)
        exists = found.rowcount > 0
    else:
        exists = s.execute(select(Intent.id).where(Intent.id == intent_id)).first() is not None
    if not exists:
        raise IntentError("intent.errors.gone")


@cache
def _set_card(card: bool, thread: bool) -> Update:
    """`set_card_in`'s UPDATE, built once per shape (see `_insert_into`)."""
    intents = _table(Intent)
    values: dict[str, Any] = {}
    if card:
        values["card_ts"] = bindparam("new_card_ts")
    if thread:
        current = intents.c.thread_ts
        no_thread = or_(current.is_(None), current == "")
        values["thread_ts"] = case((no_thread, bindparam("new_thread_ts")), else_=current)
    return update(intents).where(intents.c.id == bindparam("intent_id")).values(values)


def _as_read(model: type[_M], values: dict[str, Any]) -> _M:
    """A row just stored, for the caller to read: built from its values without validation
    or ORM state (building a table model the usual way cost more than storing it). Never
    added to a session nor written through: a change goes through the service by id."""
    configure_mappers()  # its columns are read through the mapper's attributes
    return model.model_construct(**values)


def _table(model: type[SQLModel]) -> Table:
    """The model's table, for statements on the hot path: the same statement on the ORM class
    goes through the ORM's statement machinery even on a plain connection."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def _insert(conn: Connection, model: type[SQLModel], row: SQLModel) -> int:
    """INSERTs `row` (every column but the generated id) and returns its new id."""
    table = _table(model)
    values = {c.name: getattr(row, c.name) for c in table.columns if c.name != "id"}
    return int(conn.execute(_insert_into(table), values).inserted_primary_key[0])


@cache
def _insert_into(table: Table) -> Insert:
    """One INSERT statement per table, built once: building, coercing and cache-keying it anew
    for every new intent cost more than running it."""
    return insert(table)


def _record_revision(s: Session, intent: Intent, user_id: str, now: datetime) -> None:
    _next_revision(intent)
    checks = [c.text for c in _checks(s, intent.id)]
    s.add(IntentRevision(**_revision_values(intent, user_id, now, checks)))


def _next_revision(intent: Intent) -> None:
    intent.revision = (intent.revision or 0) + 1


def _revision_values(
    intent: Intent, user_id: str, now: datetime, check_texts: list[str]
) -> dict[str, Any]:
    """The snapshot of `intent` as revision number `intent.revision`."""
    late = intent.started_at is not None or intent.status in STARTED_STATUSES
    snapshot = {
        "title": intent.title,
        "outcome": intent.outcome,
        "why": intent.why,
        "constraints": list(intent.constraints),
        "out_of_scope": intent.out_of_scope,
        "checks": check_texts,
        "status": str(intent.status),
    }
    return {
        "intent_id": intent.id or 0,
        "number": intent.revision,
        "author": user_id,
        "created_at": now,
        "late": late,
        "snapshot": snapshot,
    }


# A new intent in its channel's team: the team looked up inside the INSERT (built once).
_INSERT_WITH_TEAM = (
    insert(_table(Intent))
    .values(team_id=team_of_channel("team_channel"))
    .returning(_table(Intent).c.id, _table(Intent).c.team_id)
)


def _insert_with_revision() -> Insert:
    """PostgreSQL: `_INSERT_WITH_TEAM` and the intent's first revision in one statement (the
    INSERT in a WITH). Parameters are named `intent_<column>` and `revision_<column>`: named
    after a column, SQLAlchemy would add them to the VALUES of both INSERTs."""
    intents, revisions = _table(Intent), _table(IntentRevision)
    given = [c for c in intents.c if c.name not in ("id", "team_id")]
    new = (
        insert(intents)
        .values(
            {c.name: bindparam(f"intent_{c.name}", type_=c.type) for c in given}
            | {"team_id": team_of_channel("team_channel")}
        )
        .returning(intents.c.id, intents.c.team_id)
        .cte("new_intent")
    )
    columns = [c for c in revisions.c if c.name not in ("id", "intent_id")]
    values = [bindparam(f"revision_{c.name}", type_=c.type) for c in columns]
    return (
        insert(revisions)
        .add_cte(new)
        .from_select(["intent_id", *(c.name for c in columns)], sa_select(new.c.id, *values))
        .returning(revisions.c.intent_id, sa_select(new.c.team_id).scalar_subquery())
    )


_INSERT_WITH_REVISION = _insert_with_revision()
