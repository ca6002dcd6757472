"""The MCP tools and resources: arguments, descriptions for a model, and what each returns.

Each tool validates its arguments with a pydantic model (whose JSON schema is what
`tools/list` shows), acts as the token's person through `AgentService`, and answers JSON text.
A refusal the agent can act on (unknown id, no access, too long, which team) is a tool
result with `isError` and one sentence saying what to do, never a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection

from chatbot.agents.access import Viewer
from chatbot.agents.models import AgentToken
from chatbot.agents.service import (
    PROGRESS_MAX,
    AgentError,
    AgentService,
    DecisionFilter,
    ThreadNote,
    WriteKind,
)
from chatbot.decisions.models import Decision
from chatbot.decisions.pack import Names
from chatbot.decisions.search import Hit
from chatbot.decisions.service import TEXT_MAX, TITLE_MAX, DecisionDraft, decision_ref
from chatbot.errors import UserError
from chatbot.intent.service import parse_ref
from chatbot.prompts import Prompts
from chatbot.teams.models import Team

log = logging.getLogger(__name__)
PACK_URI = "throughline://pack/"
INTENT_URI = "throughline://intent/"

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
Json = dict[str, JsonValue]


class Posted(Protocol):
    """What became of a message posted for an agent (the chat adapter's answer)."""

    @property
    def ok(self) -> bool: ...

    @property
    def ts(self) -> str | None: ...

    @property
    def error(self) -> str | None: ...


class OwedPost(Protocol):
    """A post owed with a write: `store` runs in the write's transaction (so both are stored
    or neither), `send` once it has committed."""

    def store(self, conn: Connection, decision: Decision) -> None: ...

    def send(self) -> Posted: ...


class Poster(Protocol):
    """Posts what an agent wrote (the Slack side); answers what Slack said."""

    def proposal(self, agent: str, user_id: str) -> OwedPost: ...

    def note(self, note: ThreadNote, user_id: str) -> Posted: ...


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FindContextArgs(_Args):
    query: str = Field(
        min_length=1,
        max_length=PROGRESS_MAX,
        description="Words to search for, e.g. 'refund idempotency' or 'PAY-12'.",
    )
    limit: int = Field(default=10, ge=1, le=50, description="Most decisions to return.")


class GetIntentArgs(_Args):
    ref: str = Field(
        min_length=1, max_length=80, description="An intent id like 'I-12' or a Jira key."
    )


class ContextPackArgs(_Args):
    team: str | None = Field(
        default=None, max_length=80, description="Team name; needed if you are in several."
    )
    key: str | None = Field(
        default=None, max_length=80, description="Only this ticket or intent: 'PAY-12', 'I-3'."
    )


class DecisionsArgs(_Args):
    key: str | None = Field(
        default=None, max_length=40, description="A decision 'D-7' or a Jira key 'PAY-12'."
    )
    tag: str | None = Field(default=None, max_length=40, description="A tag, e.g. 'security'.")
    since: date | None = Field(default=None, description="First day, e.g. '2026-11-01'.")
    until: date | None = Field(default=None, description="Last day, inclusive.")
    limit: int = Field(default=20, ge=1, le=50)


class DigestArgs(_Args):
    team: str | None = Field(default=None, max_length=80, description="Team name.")
    week: str | None = Field(
        default=None, max_length=8, description="ISO week like '2026-W47'; default: last one."
    )


class _Write(_Args):
    request_id: str = Field(
        min_length=1,
        max_length=100,
        description="Your id for this write (a UUID); send the same one when you retry.",
    )


class LogDecisionArgs(_Write):
    decision: str = Field(
        min_length=1, max_length=TEXT_MAX, description="What was decided, one or two sentences."
    )
    why: str = Field(default="", max_length=TEXT_MAX, description="The reasons.")
    alternatives: str = Field(default="", max_length=TEXT_MAX)
    consequences: str = Field(default="", max_length=TEXT_MAX)
    title: str = Field(default="", max_length=TITLE_MAX, description="Short title (optional).")
    tags: list[str] = Field(default_factory=list, max_length=20)
    jira_keys: list[str] = Field(default_factory=list, max_length=20)
    intent: str | None = Field(default=None, max_length=20, description="Link to 'I-12'.")
    team: str | None = Field(default=None, max_length=80, description="Needed if in several.")


class PostProgressArgs(_Write):
    intent: str = Field(min_length=1, max_length=80, description="'I-12' or a Jira key.")
    text: str = Field(min_length=1, max_length=PROGRESS_MAX, description="What changed.")


class ProposeEvidenceArgs(_Write):
    intent: str = Field(min_length=1, max_length=80, description="'I-12' or a Jira key.")
    check: int = Field(ge=1, le=200, description="The check's number, 1 for the first.")
    evidence: str = Field(
        min_length=1,
        max_length=PROGRESS_MAX,
        description="What shows the check passes: test name and result, a link to CI.",
    )


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    args: type[_Args]
    read_only: bool = True


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "find_context",
        "Search the team's intents and decisions (full text, best match first). "
        "Use before changing code to learn what was decided and why. "
        'Example: {"query": "refund retries"}.',
        FindContextArgs,
    ),
    ToolSpec(
        "get_intent",
        "One intent: outcome, constraints, acceptance checks (numbered, with verified state), "
        'linked decisions and links. Example: {"ref": "I-12"} or {"ref": "PAY-12"}.',
        GetIntentArgs,
    ),
    ToolSpec(
        "context_pack",
        "The team's context pack as Markdown: intents, checks, decisions, open questions. "
        'Example: {} or {"team": "payments", "key": "PAY-12"}.',
        ContextPackArgs,
    ),
    ToolSpec(
        "decisions",
        "Decisions by id, Jira key, tag or dates, newest first. "
        'Example: {"key": "D-7"}, {"tag": "security", "since": "2026-11-01"}.',
        DecisionsArgs,
    ),
    ToolSpec(
        "digest",
        "The team's weekly delivery metrics as JSON (cycle time, review time, WIP, ...). "
        'Example: {"team": "payments", "week": "2026-W47"}.',
        DigestArgs,
    ),
    ToolSpec(
        "log_decision",
        "Propose a decision: stored as 'proposed' and posted in the team channel, where a "
        "person accepts it. When Slack is down it answers pending: stored, posted later; do "
        'not retry with a new request_id. Example: {"request_id": "6f1c…", "decision": '
        '"Use Postgres advisory locks for refunds", "why": "one refund per order", '
        '"intent": "I-12"}.',
        LogDecisionArgs,
        read_only=False,
    ),
    ToolSpec(
        "post_progress",
        "Post a short progress note in the intent's Slack thread. "
        'Example: {"request_id": "…", "intent": "I-12", '
        '"text": "API done, tests next"}.',
        PostProgressArgs,
        read_only=False,
    ),
    ToolSpec(
        "propose_evidence",
        "Post evidence that an acceptance check passes, with a Verify button for a person "
        '(you cannot verify). Example: {"request_id": "…", "intent": "I-12", '
        '"check": 2, "evidence": "test_refund_twice passes in CI run 812"}.',
        ProposeEvidenceArgs,
        read_only=False,
    ),
)
BY_NAME = {t.name: t for t in TOOLS}


@dataclass(frozen=True)
class ToolAnswer:
    text: str
    is_error: bool = False


class ToolError(Exception):
    """A refusal worded for the agent (already rendered)."""


class AgentTools:
    """Runs one tool or resource for one token's person; synchronous (database, Slack)."""

    def __init__(
        self,
        agents: AgentService,
        prompts: Prompts,
        names: Names,
        poster: Poster,
        compute_digest: Callable[[Team, str | None], dict[str, object]],
        channel_is_private: Callable[[str], bool],
    ) -> None:
        self.agents = agents
        self.prompts = prompts
        self.names = names
        self.poster = poster
        self.compute_digest = compute_digest
        self.channel_is_private = channel_is_private

    def call(self, viewer: Viewer, token: AgentToken, name: str, arguments: Json) -> ToolAnswer:
        spec = BY_NAME.get(name)
        if spec is None:
            return self._refused("agents.errors.unknown_tool", tool=name[:60])
        try:
            args = spec.args.model_validate(arguments or {})
        except ValidationError as exc:
            return self._refused("agents.errors.bad_arguments", tool=name, problem=_problem(exc))
        try:
            return ToolAnswer(self._run(viewer, token, spec, args))
        except UserError as exc:
            return ToolAnswer(exc.text(self.prompts), is_error=True)

    def _refused(self, key: str, **values: object) -> ToolAnswer:
        return ToolAnswer(self.prompts.text(key, **values), is_error=True)

    def _run(self, viewer: Viewer, token: AgentToken, spec: ToolSpec, args: _Args) -> str:
        agents = self.agents
        if isinstance(args, FindContextArgs):
            hits = agents.find_context(viewer, args.query, args.limit)
            return _dump({"results": [_hit(h) for h in hits]})
        if isinstance(args, GetIntentArgs):
            return _dump(self.intent_json(viewer, args.ref))
        if isinstance(args, ContextPackArgs):
            return agents.pack(viewer, args.team, args.key, self.names)
        if isinstance(args, DecisionsArgs):
            wanted = DecisionFilter(args.key, args.tag, args.since, args.until, args.limit)
            return _dump({"decisions": [_decision(d) for d in agents.decisions(viewer, wanted)]})
        if isinstance(args, DigestArgs):
            week = args.week

            def compute(team: Team) -> dict[str, object]:
                return self.compute_digest(team, week)

            team, digest = agents.digest(viewer, args.team, compute)
            return json.dumps(digest, default=str)
        if isinstance(args, LogDecisionArgs):
            return _dump(self._log_decision(viewer, token, args))
        if isinstance(args, PostProgressArgs | ProposeEvidenceArgs):
            return _dump(self._thread_note(viewer, token, args))
        raise AgentError("agents.errors.unknown_tool", tool=spec.name)

    # --- reads shared with resources ---------------------------------------------------------
    def intent_json(self, viewer: Viewer, ref: str) -> Json:
        detail = self.agents.intent(viewer, ref)
        i = detail.view.intent
        checks: list[JsonValue] = [
            {
                "number": n,
                "text": c.text,
                "verified": c.verified_at is not None,
                "verified_by": c.verified_by,
                "verified_at": c.verified_at.isoformat() if c.verified_at else None,
            }
            for n, c in enumerate(detail.view.checks, 1)
        ]
        links: list[JsonValue] = []
        if i.jira_key:
            links.append({"kind": "jira", "key": i.jira_key})
        if i.thread_ts or i.card_ts:
            links.append(
                {"kind": "slack_thread", "channel": i.channel_id, "ts": i.thread_ts or i.card_ts}
            )
        return {
            "ref": detail.view.ref,
            "title": i.title,
            "status": str(i.status),
            "outcome": i.outcome,
            "why": i.why,
            "constraints": list(i.constraints),
            "out_of_scope": i.out_of_scope,
            "checks": checks,
            "decisions": [_decision(d) for d in detail.decisions],
            "links": links,
        }

    def resource(self, viewer: Viewer, uri: str) -> str:
        if uri.startswith(PACK_URI):
            team = unquote(uri.removeprefix(PACK_URI)) or None
            return self.agents.pack(viewer, team, None, self.names)
        if uri.startswith(INTENT_URI):
            return _dump(self.intent_json(viewer, unquote(uri.removeprefix(INTENT_URI))))
        raise AgentError("agents.errors.unknown_resource", uri=uri[:120])

    # --- writes ------------------------------------------------------------------------------
    def _log_decision(self, viewer: Viewer, token: AgentToken, args: LogDecisionArgs) -> Json:
        claim = self.agents.claim(viewer, args.request_id, WriteKind.DECISION)
        if claim.replay is not None:
            return {**_json(claim.replay), "replayed": True}
        try:
            team = self.agents.team_of(viewer, args.team)
            draft = DecisionDraft(
                title=args.title,
                decision=args.decision,
                why=args.why,
                alternatives=args.alternatives,
                consequences=args.consequences,
                tags=list(args.tags),
                jira_keys=list(args.jira_keys),
                intent_id=parse_ref(args.intent) if args.intent else None,
            )
            if args.intent and draft.intent_id is None:
                raise AgentError("agents.errors.unknown_intent", ref=args.intent)
            card = self.poster.proposal(token.name, viewer.user_id)
            proposed = self.agents.propose_decision(
                viewer,
                token.name,
                team.name,
                draft,
                self.channel_is_private(team.channel_id),
                also=card.store,
            )
        except BaseException:
            self.agents.release(claim)
            raise
        # The card is stored with the decision: Slack down, it waits and is posted later.
        posted = card.send()
        result: Json = {
            "ref": decision_ref(proposed.decision.id),
            "status": str(proposed.decision.status),
            "team": proposed.team.name,
            "posted": posted.ok,
        }
        if not posted.ok and posted.error is None:
            result["pending"] = True
            result["note"] = self.prompts.text("agents.card_pending", ref=result["ref"])
        elif not posted.ok:
            result["note"] = self.prompts.text(
                "agents.errors.slack_failed", ref=result["ref"], error=posted.error or "?"
            )
        self.agents.finish(claim, dict(result))
        return {**result, "replayed": False}

    def _thread_note(
        self, viewer: Viewer, token: AgentToken, args: PostProgressArgs | ProposeEvidenceArgs
    ) -> Json:
        is_evidence = isinstance(args, ProposeEvidenceArgs)
        kind = WriteKind.EVIDENCE if is_evidence else WriteKind.PROGRESS
        claim = self.agents.claim(viewer, args.request_id, kind)
        if claim.replay is not None:
            return {**_json(claim.replay), "replayed": True}
        try:
            if isinstance(args, ProposeEvidenceArgs):
                note = self.agents.thread_note(
                    viewer, token.name, args.intent, args.evidence, args.check
                )
            else:
                note = self.agents.thread_note(viewer, token.name, args.intent, args.text)
            posted = self.poster.note(note, viewer.user_id)
            if not posted.ok and posted.error is not None:  # refused: a retry may try again
                raise ToolError(posted.error)
        except ToolError as exc:
            self.agents.release(claim)
            raise AgentError(
                "agents.errors.slack_failed", ref=args.intent[:40], error=str(exc)
            ) from None
        except BaseException:
            self.agents.release(claim)
            raise
        result: Json = {"intent": note.intent.ref, "posted": posted.ok, "ts": posted.ts}
        if not posted.ok:  # stored: it is posted in the thread once, when Slack is back
            result["pending"] = True
            result["note"] = self.prompts.text("agents.note_pending", ref=note.intent.ref)
        if note.check_number is not None:
            result["check"] = note.check_number
        self.agents.finish(claim, dict(result))
        return {**result, "replayed": False}


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "arguments"
    return f"{where}: {first.get('msg', 'invalid')}"[:200]


def _dump(value: Json) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json(stored: dict[str, object]) -> Json:
    # Stored results were JSON when written; a round trip keeps the type honest.
    loaded: Json = json.loads(json.dumps(stored, default=str))
    return loaded


def _hit(h: Hit) -> Json:
    return {
        "kind": h.kind,
        "ref": h.ref,
        "title": h.title,
        "first_lines": h.first_lines,
        "status": h.status,
        "author": h.author,
        "via_agent": h.via_agent,
        "created_at": h.created_at.isoformat(),
        "jira_keys": list(h.jira_keys),
        "permalink": h.permalink,
    }


def _decision(d: Decision) -> Json:
    return {
        "ref": decision_ref(d.id),
        "title": d.title,
        "decision": d.decision,
        "why": d.why,
        "alternatives": d.alternatives,
        "consequences": d.consequences,
        "status": str(d.status),
        "superseded_by": decision_ref(d.superseded_by_id) if d.superseded_by_id else None,
        "tags": list(d.tags),
        "jira_keys": list(d.jira_keys),
        "intent": f"I-{d.intent_id}" if d.intent_id else None,
        "author": d.author,
        "via_agent": d.via_agent,
        "created_at": d.created_at.isoformat(),
        "permalink": d.permalink,
    }
