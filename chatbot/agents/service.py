"""What an agent token can read and write, as the token's person (README, "Connect your AI agent").

Every read goes through a `Viewer`: public items of the person's teams, private items only of
the channels Slack says they are in. Writes never call Slack: they store what happened and
return it, and the caller (the MCP endpoint's Slack side) posts the card or the thread message.
A write carries the client's `request_id`: the first call claims it, a retry gets the first
call's result back and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import Connection, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from chatbot.agents.access import Viewer
from chatbot.agents.models import AgentWrite
from chatbot.clock import Clock
from chatbot.db.engine import Database
from chatbot.decisions.models import Decision, DecisionJiraLink, DecisionSource, DecisionStatus
from chatbot.decisions.pack import Names, build_pack, team_scope
from chatbot.decisions.search import DecisionSearch, Hit, Visible
from chatbot.decisions.service import (
    DecisionDraft,
    DecisionService,
    Origin,
    decision_ref,
    parse_decision_ref,
    visible_to,
)
from chatbot.errors import UserError
from chatbot.intent.service import IntentService, IntentView, intent_ref
from chatbot.jira_keys import is_jira_key
from chatbot.teams.models import Team

PROGRESS_MAX = 3000
REQUEST_ID_MAX = 100
LIST_MAX = 50
_REQUEST_ID = re.compile(r"^[\w.:-]{1,100}$")
# Digest fields that name people: the channel's view leaves them out (leaders see them).
_NAMED_FIELDS = ("by_person", "over_limit")


class AgentError(UserError):
    """A tool call the agent can fix; its text is in prompts/agents.toml [errors]."""


class WriteKind(StrEnum):
    DECISION = "log_decision"
    PROGRESS = "post_progress"
    EVIDENCE = "propose_evidence"


@dataclass(frozen=True)
class IntentDetail:
    view: IntentView
    decisions: list[Decision]


@dataclass(frozen=True)
class ProposedDecision:
    decision: Decision
    team: Team
    agent: str


@dataclass(frozen=True)
class ThreadNote:
    """A message the caller posts in an intent's thread (progress, or evidence for a check)."""

    intent: IntentView
    channel_id: str
    thread_ts: str
    text: str
    agent: str
    check_id: int | None = None
    check_number: int | None = None


@dataclass(frozen=True)
class Claim:
    """A write's request_id: `replay` holds the first call's result when this is a retry."""

    row_id: int
    replay: dict[str, object] | None = None


@dataclass
class DecisionFilter:
    key: str | None = None
    tag: str | None = None
    since: date | None = None
    until: date | None = None
    limit: int = 20


class AgentService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.search = DecisionSearch(db)
        self.decision_service = DecisionService(db, clock)
        self.intents = IntentService(db, clock)

    # --- reading -----------------------------------------------------------------------------
    def visible(self, viewer: Viewer) -> Visible:
        return Visible(viewer.team_channels, viewer.private_channels)

    def find_context(self, viewer: Viewer, query: str, limit: int = 10) -> list[Hit]:
        """Intents then decisions, ranked like `/context`."""
        if len(query) > PROGRESS_MAX:
            raise AgentError("agents.errors.too_long", field="query", limit=f"{PROGRESS_MAX:,}")
        limit = max(1, min(limit, LIST_MAX))
        visible = self.visible(viewer)
        return self.search.intents(
            query, None, limit=min(limit, 5), visible=visible
        ) + self.search.decisions(query, None, limit=limit, visible=visible)

    def intent(self, viewer: Viewer, ref: str) -> IntentDetail:
        view = self.intents.find(ref) if len(ref) <= 80 else None
        if view is None:
            raise AgentError("agents.errors.unknown_intent", ref=ref[:80])
        if not viewer.sees(view.intent.channel_id, view.intent.channel_is_private):
            raise AgentError("agents.errors.no_access", ref=view.ref)
        linked = [col(Decision.intent_id) == view.intent.id]
        if view.intent.jira_key:
            keyed = select(DecisionJiraLink.decision_id).where(
                DecisionJiraLink.jira_key == view.intent.jira_key.upper()
            )
            linked.append(col(Decision.id).in_(keyed))
        query = (
            select(Decision)
            .where(or_(*linked), visible_to(None, viewer.private_channels))
            .order_by(col(Decision.created_at).desc(), col(Decision.id).desc())
            .limit(LIST_MAX)
        )
        with self.db.session() as s:
            found = list(s.exec(query).all())
        # Linked decisions in other teams' public channels stay out, like everything else.
        decisions = [d for d in found if viewer.sees(d.channel_id, d.is_private)]
        return IntentDetail(view, decisions)

    def pack(self, viewer: Viewer, team_name: str | None, key: str | None, names: Names) -> str:
        team = self.team_of(viewer, team_name)
        scope = team_scope(team, key=key)
        scope.private_channels = viewer.private_channels
        return build_pack(self.db, scope, names)

    def decisions(self, viewer: Viewer, wanted: DecisionFilter) -> list[Decision]:
        """Decisions by `D-12`, Jira key or tag, within dates, newest first."""
        conditions = [visible_to(None, viewer.private_channels)]
        public_mine = col(Decision.channel_id).in_(sorted(viewer.team_channels))
        conditions.append(or_(col(Decision.is_private).is_(True), public_mine))
        key = (wanted.key or "").strip()
        if key:
            decision_id = parse_decision_ref(key)
            if decision_id is not None:
                found = self.decision_service.get(decision_id)
                if found is None:
                    raise AgentError("agents.errors.unknown_decision", ref=key[:40])
                if not viewer.sees(found.channel_id, found.is_private):
                    raise AgentError("agents.errors.no_access", ref=decision_ref(found.id))
                return [found]
            if not is_jira_key(key.upper()):
                raise AgentError("agents.errors.bad_key", ref=key[:40])
            linked = select(DecisionJiraLink.decision_id).where(
                DecisionJiraLink.jira_key == key.upper()
            )
            conditions.append(col(Decision.id).in_(linked))
        if wanted.since is not None:
            conditions.append(col(Decision.created_at) >= _start_of(wanted.since))
        if wanted.until is not None:
            conditions.append(col(Decision.created_at) < _start_of(wanted.until + timedelta(1)))
        limit = max(1, min(wanted.limit, LIST_MAX))
        tag = (wanted.tag or "").strip().lstrip("#").lower()
        query = (
            select(Decision)
            .where(*conditions)
            .order_by(col(Decision.created_at).desc(), col(Decision.id).desc())
        )
        with self.db.session() as s:
            if not tag:
                return list(s.exec(query.limit(limit)).all())
            # Tags live in a JSON list; the keywords column narrows, the list decides.
            query = query.where(col(Decision.keywords).contains(tag))
            return [d for d in s.exec(query.limit(limit * 10)).all() if tag in d.tags][:limit]

    def digest(
        self,
        viewer: Viewer,
        team_name: str | None,
        compute: Callable[[Team], dict[str, object]],
    ) -> tuple[Team, dict[str, object]]:
        """The team's digest JSON: as its channel sees it, or with names for its leaders."""
        team = self.team_of(viewer, team_name)
        digest = compute(team)
        return team, digest if viewer.leads(team) else channel_view(digest)

    def team_of(self, viewer: Viewer, team_name: str | None) -> Team:
        team = viewer.team(team_name)
        if team is not None:
            return team
        if team_name:
            raise AgentError("agents.errors.not_your_team", team=team_name[:80])
        if not viewer.teams:
            raise AgentError("agents.errors.no_team")
        names = ", ".join(t.name for t in viewer.teams)
        raise AgentError("agents.errors.which_team", teams=names)

    # --- writing -----------------------------------------------------------------------------
    def claim(self, viewer: Viewer, request_id: str, kind: WriteKind) -> Claim:
        """Claim `request_id` for this write; a retry of a finished write gets its result."""
        if not _REQUEST_ID.match(request_id or ""):
            raise AgentError("agents.errors.bad_request_id", limit=REQUEST_ID_MAX)
        try:
            with self.db.session() as s:
                row = AgentWrite(
                    user_id=viewer.user_id,
                    request_id=request_id,
                    tool=str(kind),
                    result={},
                    created_at=self.clock.now(),
                )
                s.add(row)
                s.flush()
                return Claim(row.id or 0)
        except IntegrityError:
            with self.db.session() as s:
                first = s.exec(
                    select(AgentWrite).where(
                        AgentWrite.user_id == viewer.user_id,
                        AgentWrite.request_id == request_id,
                    )
                ).one()
            if first.tool != str(kind):
                raise AgentError(
                    "agents.errors.request_id_reused", request_id=request_id, tool=first.tool
                ) from None
            if not first.result:
                raise AgentError("agents.errors.still_running", request_id=request_id) from None
            return Claim(first.id or 0, dict(first.result))

    def finish(self, claim: Claim, result: dict[str, object]) -> None:
        with self.db.session() as s:
            row = s.get(AgentWrite, claim.row_id)
            if row is not None:
                row.result = result

    def release(self, claim: Claim) -> None:
        """The write failed before it took effect: a retry may try again."""
        with self.db.session() as s:
            row = s.get(AgentWrite, claim.row_id)
            if row is not None and not row.result:
                s.delete(row)

    def propose_decision(
        self,
        viewer: Viewer,
        agent: str,
        team_name: str | None,
        draft: DecisionDraft,
        team_channel_is_private: bool,
        also: Callable[[Connection, Decision], None] | None = None,
    ) -> ProposedDecision:
        """Store the decision as proposed; `also` runs in its transaction (the caller stores
        what proposing it owes, such as the card's post, with it or not at all)."""
        team = self.team_of(viewer, team_name)
        if draft.intent_id is not None:
            self.intent(viewer, intent_ref(draft.intent_id))
        draft.status = DecisionStatus.PROPOSED
        origin = Origin(
            team.channel_id, team_channel_is_private, DecisionSource.AGENT, via_agent=agent[:80]
        )
        recorded = self.decision_service.record(
            draft, viewer.user_id, viewer.user_id, origin, also=also
        )
        return ProposedDecision(recorded.decision, team, agent)

    def thread_note(
        self,
        viewer: Viewer,
        agent: str,
        ref: str,
        text: str,
        check_number: int | None = None,
    ) -> ThreadNote:
        clean = (text or "").strip()
        if not clean:
            raise AgentError("agents.errors.no_text")
        if len(clean) > PROGRESS_MAX:
            raise AgentError("agents.errors.too_long", field="text", limit=f"{PROGRESS_MAX:,}")
        view = self.intent(viewer, ref).view
        thread = view.intent.thread_ts or view.intent.card_ts
        if thread is None:
            raise AgentError("agents.errors.no_thread", ref=view.ref)
        check_id = None
        if check_number is not None:
            if not 1 <= check_number <= len(view.checks):
                raise AgentError(
                    "agents.errors.unknown_check",
                    ref=view.ref,
                    number=check_number,
                    count=len(view.checks),
                )
            check_id = view.checks[check_number - 1].id
        return ThreadNote(
            view, view.intent.channel_id, thread, clean, agent, check_id, check_number
        )


def channel_view(digest: dict[str, object]) -> dict[str, object]:
    """The digest as the team channel sees it: counts instead of people's names."""
    metrics = digest.get("metrics")
    if not isinstance(metrics, dict):
        return dict(digest)
    shown: dict[str, object] = {}
    for name, fields in metrics.items():
        if not isinstance(fields, dict):
            shown[name] = fields
            continue
        kept = {k: v for k, v in fields.items() if k not in _NAMED_FIELDS}
        if isinstance(fields.get("over_limit"), list):
            kept["over_limit_count"] = len(fields["over_limit"])
        shown[name] = kept
    return {**digest, "metrics": shown}


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
