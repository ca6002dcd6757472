"""Decision use cases: record (once per Slack message), edit with history, supersede, read.

Nothing here knows about Slack payloads or the Jira client; callers say where a decision
came from and whether that place is private.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.decisions.models import (
    Decision,
    DecisionJiraLink,
    DecisionRevision,
    DecisionSource,
    DecisionStatus,
)
from chatbot.errors import UserError
from chatbot.intent.models import Intent
from chatbot.jira_keys import is_jira_key, jira_keys_in

TITLE_MAX = 200
TEXT_MAX = 10_000
TITLE_FROM_TEXT = 120
EDITABLE = ("title", "decision", "why", "alternatives", "consequences", "status")

_INTENT_REF = re.compile(r"(?<![\w-])I-([1-9][0-9]{0,8})\b")
_TAG = re.compile(r"(?<![\w<&/|#])#([A-Za-z][\w-]{0,39})")
_BECAUSE = re.compile(r"\bbecause\b", re.IGNORECASE)
_DECISION_REF = re.compile(r"^(?:D-|#)?(\d{1,9})$", re.IGNORECASE)


class DecisionError(UserError):
    """A request the user can fix; its text (prompts/decisions.toml [errors]) says how."""


def decision_ref(decision_id: int | None) -> str:
    return f"D-{decision_id}"


def parse_decision_ref(ref: str) -> int | None:
    match = _DECISION_REF.match(ref.strip())
    return int(match.group(1)) if match else None


def intent_ids_in(text: str) -> list[int]:
    return list(dict.fromkeys(int(m.group(1)) for m in _INTENT_REF.finditer(text or "")))


def tags_in(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1).lower() for m in _TAG.finditer(text or "")))


def split_list(text: str) -> list[str]:
    """Comma, space or newline separated items (tags, keys typed in a form)."""
    return [item for item in re.split(r"[,\s]+", text or "") if item]


def title_from(text: str) -> str:
    """A short title: the first line, cut at the first sentence end, at most 120 characters."""
    first = next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    if len(sentence) > TITLE_FROM_TEXT:
        sentence = sentence[: TITLE_FROM_TEXT - 1].rstrip() + "…"
    return sentence


@dataclass
class DecisionDraft:
    """The editable content of a decision, as typed by a person."""

    title: str = ""
    decision: str = ""
    why: str = ""
    alternatives: str = ""
    consequences: str = ""
    status: str = DecisionStatus.ACCEPTED
    tags: list[str] = field(default_factory=list)
    jira_keys: list[str] = field(default_factory=list)
    intent_id: int | None = None

    @classmethod
    def of(cls, d: Decision, with_content: bool = True) -> DecisionDraft:
        """The draft a decision was made from; without content for a superseding one."""
        links = {"tags": list(d.tags), "jira_keys": list(d.jira_keys), "intent_id": d.intent_id}
        if not with_content:
            return cls(**links)
        return cls(d.title, d.decision, d.why, d.alternatives, d.consequences, d.status, **links)

    @classmethod
    def from_text(cls, text: str) -> DecisionDraft:
        """`/decision <text>`: the words after "because" are the rationale; keys, intent ids
        (`I-12`) and #tags are picked out of the whole text."""
        text = (text or "").strip()
        match = _BECAUSE.search(text)
        decision, why = text, ""
        if match:
            before = text[: match.start()].strip(" \t\n,;:–—-")
            after = text[match.end() :].strip(" \t\n,;:–—-")
            if before:
                decision, why = before, after
        intents = intent_ids_in(text)
        return cls(
            title=title_from(decision),
            decision=decision,
            why=why,
            tags=tags_in(text),
            jira_keys=jira_keys_in(text),
            intent_id=intents[0] if intents else None,
        )


@dataclass
class Origin:
    """Where a decision was logged; `is_private` is true for private channels and DMs."""

    channel_id: str
    is_private: bool
    source: str = DecisionSource.COMMAND
    permalink: str | None = None
    source_channel: str | None = None
    source_ts: str | None = None
    via_agent: str | None = None


@dataclass
class Recorded:
    decision: Decision
    created: bool


def visible_to(
    viewer_channel: str | None, private_channels: frozenset[str] = frozenset()
) -> ColumnElement[bool]:
    """Public decisions, plus the private ones of the channel the viewer is in (and of
    `private_channels`, the private channels an agent token's person is a member of)."""
    public = col(Decision.is_private).is_(False)
    if private_channels:
        channels = sorted(private_channels | ({viewer_channel} if viewer_channel else set()))
        return or_(public, col(Decision.channel_id).in_(channels))
    if viewer_channel:
        return or_(public, col(Decision.channel_id) == viewer_channel)
    return public


class DecisionService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # --- writing ---------------------------------------------------------------------------
    def record(
        self,
        draft: DecisionDraft,
        author: str,
        logged_by: str,
        origin: Origin,
        also: Callable[[Connection, Decision], None] | None = None,
    ) -> Recorded:
        """Store a new decision; a second call for the same Slack message returns the first.
        `also` runs in the same transaction with the new decision (what logging it owes is
        stored with it, or neither is)."""
        if origin.source_channel and origin.source_ts:
            existing = self.by_source(origin.source_channel, origin.source_ts)
            if existing is not None:
                return Recorded(existing, created=False)
        draft = self._checked(draft)
        now = self.clock.now()
        try:
            with self.db.session() as s:
                decision = Decision(
                    title=draft.title,
                    decision=draft.decision,
                    why=draft.why,
                    alternatives=draft.alternatives,
                    consequences=draft.consequences,
                    status=draft.status,
                    tags=draft.tags,
                    jira_keys=draft.jira_keys,
                    keywords=_keywords(draft.tags, draft.jira_keys),
                    intent_id=self._known_intent(s, draft.intent_id),
                    author=author,
                    logged_by=logged_by,
                    channel_id=origin.channel_id,
                    is_private=origin.is_private,
                    permalink=origin.permalink,
                    source=origin.source,
                    source_channel=origin.source_channel,
                    source_ts=origin.source_ts,
                    via_agent=origin.via_agent,
                    created_at=now,
                    updated_at=now,
                )
                s.add(decision)
                s.flush()
                _replace_links(s, decision)
                _record_revision(s, decision, logged_by, now)
                s.flush()
                if also is not None:
                    also(s.connection(), decision)
                return Recorded(decision, created=True)
        except IntegrityError:
            if origin.source_channel and origin.source_ts:
                existing = self.by_source(origin.source_channel, origin.source_ts)
                if existing is not None:  # another delivery won the race
                    return Recorded(existing, created=False)
            raise

    def edit(self, decision_id: int, user_id: str, **changes: Any) -> Decision:
        """Apply changes (title, decision, why, alternatives, consequences, status, tags,
        jira_keys, intent_id); every real change adds a revision."""
        now = self.clock.now()
        with self.db.session() as s:
            decision = _locked(s, decision_id)
            changed = False
            for name in EDITABLE:
                value = changes.get(name)
                if value is not None and getattr(decision, name) != value:
                    if name == "status" and decision.status == DecisionStatus.SUPERSEDED:
                        continue  # only a newer decision un-supersedes (never by hand)
                    setattr(decision, name, value)
                    changed = True
            for name in ("tags", "jira_keys"):
                value = changes.get(name)
                if value is not None and list(getattr(decision, name)) != list(value):
                    setattr(decision, name, list(value))
                    changed = True
            if "intent_id" in changes:
                intent_id = self._known_intent(s, changes["intent_id"])
                if intent_id != decision.intent_id:
                    decision.intent_id = intent_id
                    changed = True
            if changed:
                clean = self._checked(DecisionDraft.of(decision))
                for name in ("title", "decision", "why", "alternatives", "consequences"):
                    setattr(decision, name, getattr(clean, name))
                decision.tags, decision.jira_keys = clean.tags, clean.jira_keys
                decision.keywords = _keywords(decision.tags, decision.jira_keys)
                decision.updated_at = now
                _replace_links(s, decision)
                _record_revision(s, decision, user_id, now)
            s.flush()
            return decision

    def supersede(
        self, old_id: int, draft: DecisionDraft, user_id: str, origin: Origin | None = None
    ) -> tuple[Decision, Decision]:
        """Record `draft` as the decision replacing `old_id` (same channel and privacy unless
        told otherwise) and mark the old one superseded; returns (new, old)."""
        old = self.get(old_id)
        if old is None:
            raise DecisionError("decisions.errors.gone", ref=decision_ref(old_id))
        if old.superseded_by_id is not None:
            raise DecisionError(
                "decisions.errors.already_superseded",
                ref=decision_ref(old_id),
                by=decision_ref(old.superseded_by_id),
            )
        origin = origin or Origin(old.channel_id, old.is_private, DecisionSource.FORM)
        new = self.record(draft, user_id, user_id, origin).decision
        now = self.clock.now()
        with self.db.session() as s:
            fresh = _locked(s, new.id)
            fresh.supersedes_id = old_id
            stale = _locked(s, old_id)
            stale.status = DecisionStatus.SUPERSEDED
            stale.superseded_by_id = new.id
            stale.updated_at = now
            _record_revision(s, stale, user_id, now)
            s.flush()
            return fresh, stale

    def set_card(
        self, decision_id: int, channel: str, ts: str, permalink: str | None = None
    ) -> None:
        with self.db.session() as s:
            decision = _locked(s, decision_id)
            decision.card_channel, decision.card_ts = channel, ts
            if permalink and not decision.permalink:
                decision.permalink = permalink

    # --- reading ---------------------------------------------------------------------------
    def get(self, decision_id: int | None) -> Decision | None:
        if decision_id is None:
            return None
        with self.db.session() as s:
            return s.get(Decision, decision_id)

    def find(self, ref: str, viewer_channel: str | None) -> Decision | None:
        """`D-12` as seen from `viewer_channel` (None when it is private to another channel)."""
        decision = self.get(parse_decision_ref(ref))
        if decision is None or (decision.is_private and decision.channel_id != viewer_channel):
            return None
        return decision

    def by_source(self, channel: str, ts: str) -> Decision | None:
        with self.db.session() as s:
            return s.exec(
                select(Decision).where(Decision.source_channel == channel, Decision.source_ts == ts)
            ).first()

    def by_card(self, channel: str, ts: str) -> Decision | None:
        with self.db.session() as s:
            return s.exec(
                select(Decision).where(Decision.card_channel == channel, Decision.card_ts == ts)
            ).first()

    def revisions(self, decision_id: int) -> list[DecisionRevision]:
        with self.db.session() as s:
            return list(
                s.exec(
                    select(DecisionRevision)
                    .where(DecisionRevision.decision_id == decision_id)
                    .order_by(col(DecisionRevision.number))
                ).all()
            )

    def linked(
        self,
        viewer_channel: str | None,
        intent_ids: list[int] | None = None,
        jira_keys: list[str] | None = None,
        limit: int = 500,
    ) -> list[Decision]:
        """Decisions linked to any of these intents or Jira keys, newest first."""
        conditions: list[ColumnElement[bool]] = []
        if intent_ids:
            conditions.append(col(Decision.intent_id).in_(intent_ids))
        if jira_keys:
            keyed = select(DecisionJiraLink.decision_id).where(
                col(DecisionJiraLink.jira_key).in_([k.upper() for k in jira_keys])
            )
            conditions.append(col(Decision.id).in_(keyed))
        if not conditions:
            return []
        with self.db.session() as s:
            return list(
                s.exec(
                    select(Decision)
                    .where(or_(*conditions), visible_to(viewer_channel))
                    .order_by(col(Decision.created_at).desc(), col(Decision.id).desc())
                    .limit(limit)
                ).all()
            )

    def recent_for_user(self, user_id: str, limit: int = 5) -> list[Decision]:
        """Recent public decisions plus the user's own (theirs to see even when private)."""
        with self.db.session() as s:
            return list(
                s.exec(
                    select(Decision)
                    .where(
                        or_(
                            col(Decision.is_private).is_(False),
                            col(Decision.author) == user_id,
                            col(Decision.logged_by) == user_id,
                        )
                    )
                    .order_by(col(Decision.created_at).desc(), col(Decision.id).desc())
                    .limit(limit)
                ).all()
            )

    # --- helpers ---------------------------------------------------------------------------
    def _checked(self, draft: DecisionDraft) -> DecisionDraft:
        decision = (draft.decision or "").strip()
        if not decision:
            raise DecisionError("decisions.errors.no_text")
        if len(decision) > TEXT_MAX:
            raise DecisionError(
                "decisions.errors.text_too_long", limit=f"{TEXT_MAX:,}", length=f"{len(decision):,}"
            )
        for name in ("why", "alternatives", "consequences"):
            if len(getattr(draft, name) or "") > TEXT_MAX:
                raise DecisionError(
                    "decisions.errors.field_too_long", field=name, limit=f"{TEXT_MAX:,}"
                )
        title = " ".join((draft.title or "").split()) or title_from(decision)
        if len(title) > TITLE_MAX:
            raise DecisionError("decisions.errors.title_too_long", limit=TITLE_MAX)
        status = draft.status if draft.status in set(DecisionStatus) else DecisionStatus.ACCEPTED
        return DecisionDraft(
            title=title,
            decision=decision,
            why=(draft.why or "").strip(),
            alternatives=(draft.alternatives or "").strip(),
            consequences=(draft.consequences or "").strip(),
            status=status,
            tags=[t.lstrip("#").lower()[:40] for t in draft.tags if t.lstrip("#")][:20],
            jira_keys=[k.upper() for k in draft.jira_keys if is_jira_key(k.upper())][:20],
            intent_id=draft.intent_id,
        )

    @staticmethod
    def _known_intent(s: Session, intent_id: int | None) -> int | None:
        if intent_id is None:
            return None
        return intent_id if s.get(Intent, intent_id) is not None else None


def _keywords(tags: list[str], keys: list[str]) -> str:
    return " ".join([*tags, *keys])


def _locked(s: Session, decision_id: int | None) -> Decision:
    decision = s.exec(select(Decision).where(Decision.id == decision_id).with_for_update()).first()
    if decision is None:
        raise DecisionError("decisions.errors.gone", ref=decision_ref(decision_id))
    return decision


def _replace_links(s: Session, decision: Decision) -> None:
    wanted = {k.upper() for k in decision.jira_keys}
    existing = s.exec(
        select(DecisionJiraLink).where(DecisionJiraLink.decision_id == decision.id)
    ).all()
    for link in existing:
        if link.jira_key in wanted:
            wanted.discard(link.jira_key)
        else:
            s.delete(link)
    for key in sorted(wanted):
        s.add(
            DecisionJiraLink(
                decision_id=decision.id or 0, jira_key=key, project=key.rsplit("-", 1)[0]
            )
        )
    s.flush()


def _record_revision(s: Session, decision: Decision, user_id: str, now: datetime) -> None:
    decision.revision = (decision.revision or 0) + 1
    s.add(
        DecisionRevision(
            decision_id=decision.id or 0,
            number=decision.revision,
            author=user_id,
            created_at=now,
            snapshot={
                "title": decision.title,
                "decision": decision.decision,
                "why": decision.why,
                "alternatives": decision.alternatives,
                "consequences": decision.consequences,
                "status": str(decision.status),
                "tags": list(decision.tags),
                "jira_keys": list(decision.jira_keys),
                "intent_id": decision.intent_id,
                "superseded_by_id": decision.superseded_by_id,
            },
        )
    )
