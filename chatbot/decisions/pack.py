"""The context pack: one Markdown document with the intents (outcome, constraints, checks),
the decisions newest first (why, alternatives), the superseded ones folded, and the open
questions of a team, a channel or one ticket.

The layout is fixed and depends only on the stored data (no generation time), so the diff
between two packs shows exactly what changed.

People and channels are shown by name through a `Names` given by the caller (the Slack layer,
the CLI and the HTTP endpoint pass one backed by Slack's users.info / conversations.info);
this module never talks to Slack itself. Without one, ids are shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from chatbot.db.engine import Database
from chatbot.decisions.models import Decision, DecisionJiraLink, DecisionStatus
from chatbot.decisions.service import decision_ref, visible_to
from chatbot.intent.models import STATUS_LABELS, AcceptanceCheck, Intent, IntentStatus
from chatbot.intent.service import parse_ref
from chatbot.jira_keys import is_jira_key
from chatbot.teams.models import Team

MAX_DECISIONS = 2000
MAX_INTENTS = 200
_SLACK_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|([^>]*))?>")
_SLACK_USER = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_SLACK_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_SLACK_SPECIAL = re.compile(r"<!(\w+)(?:\|[^>]*)?>")


class Names(Protocol):
    """Display names for Slack ids; must answer the id itself when it knows no better."""

    def user(self, user_id: str) -> str: ...

    def channel(self, channel_id: str) -> str: ...


class IdNames:
    """Shows ids as they are (no Slack at hand)."""

    def user(self, user_id: str) -> str:
        return user_id

    def channel(self, channel_id: str) -> str:
        return channel_id


@dataclass
class PackScope:
    """What a pack covers: channels and Jira projects (a team), optionally one key or intent.

    `viewer_channel` is where the pack is shown: private decisions of that channel are
    included, every other private decision is left out (None: public only).
    """

    title: str
    channels: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    key: str | None = None
    viewer_channel: str | None = None
    # An agent token's pack: the private channels its person is a member of (section 8).
    private_channels: frozenset[str] = frozenset()


@dataclass
class PackContent:
    scope: PackScope
    intents: list[Intent]
    checks: dict[int, list[AcceptanceCheck]]
    decisions: list[Decision]


def load_pack(db: Database, scope: PackScope) -> PackContent:
    with db.session() as s:
        intents = _intents(s, scope)
        intent_ids = [i.id for i in intents if i.id is not None]
        decisions = _decisions(s, scope, intents)
        checks: dict[int, list[AcceptanceCheck]] = {i: [] for i in intent_ids}
        if intent_ids:
            for check in s.exec(
                select(AcceptanceCheck)
                .where(col(AcceptanceCheck.intent_id).in_(intent_ids))
                .order_by(col(AcceptanceCheck.intent_id), col(AcceptanceCheck.position))
            ):
                checks[check.intent_id].append(check)
    return PackContent(scope, intents, checks, decisions)


def build_pack(db: Database, scope: PackScope, names: Names | None = None) -> str:
    return render_pack(load_pack(db, scope), names)


def _intent_visible(
    viewer: str | None, private_channels: frozenset[str] = frozenset()
) -> ColumnElement[bool]:
    public = col(Intent.channel_is_private).is_(False)
    channels = sorted(private_channels | ({viewer} if viewer else set()))
    return or_(public, col(Intent.channel_id).in_(channels)) if channels else public


def _intents(s: Session, scope: PackScope) -> list[Intent]:
    query = select(Intent).where(
        col(Intent.status) != IntentStatus.CANCELLED,
        _intent_visible(scope.viewer_channel, scope.private_channels),
    )
    if scope.key:
        intent_id = parse_ref(scope.key)
        if intent_id is not None:
            query = query.where(Intent.id == intent_id)
        elif is_jira_key(scope.key):
            query = query.where(Intent.jira_key == scope.key.upper())
        else:
            return []
    else:
        where: list[ColumnElement[bool]] = []
        if scope.channels:
            where.append(col(Intent.channel_id).in_(scope.channels))
        for project in scope.projects:
            where.append(col(Intent.jira_key).like(f"{project.upper()}-%"))
        if not where:
            return []
        query = query.where(or_(*where))
    return list(s.exec(query.order_by(col(Intent.id)).limit(MAX_INTENTS)).all())


def _decisions(s: Session, scope: PackScope, intents: list[Intent]) -> list[Decision]:
    where: list[ColumnElement[bool]] = []
    intent_ids = [i.id for i in intents]
    if intent_ids:
        where.append(col(Decision.intent_id).in_(intent_ids))
    keys = [i.jira_key for i in intents if i.jira_key]
    if scope.key and is_jira_key(scope.key):
        keys.append(scope.key.upper())
    if keys:
        by_key = select(DecisionJiraLink.decision_id).where(
            col(DecisionJiraLink.jira_key).in_(keys)
        )
        where.append(col(Decision.id).in_(by_key))
    if not scope.key:
        if scope.channels:
            where.append(col(Decision.channel_id).in_(scope.channels))
        if scope.projects:
            by_project = select(DecisionJiraLink.decision_id).where(
                col(DecisionJiraLink.project).in_([p.upper() for p in scope.projects])
            )
            where.append(col(Decision.id).in_(by_project))
    if not where:
        return []
    return list(
        s.exec(
            select(Decision)
            .where(or_(*where), visible_to(scope.viewer_channel, scope.private_channels))
            .order_by(col(Decision.created_at).desc(), col(Decision.id).desc())
            .limit(MAX_DECISIONS)
        ).all()
    )


# --- rendering ---------------------------------------------------------------------------------
def slack_to_markdown(text: str, names: Names | None = None) -> str:
    """Slack's `<url|label>`, `<@U1>`, `<#C1|name>` as Markdown; other angle brackets escaped
    so user text cannot open HTML (or close the `<details>` a superseded decision sits in)."""
    names = names or IdNames()
    text = _SLACK_LINK.sub(
        lambda m: f"[{m.group(2)}]({m.group(1)})" if m.group(2) else m.group(1), text
    )
    text = _SLACK_USER.sub(lambda m: f"@{_one_line(names.user(m.group(1)))}", text)
    text = _SLACK_CHANNEL.sub(
        lambda m: f"#{m.group(2) or _one_line(names.channel(m.group(1)))}", text
    )
    text = _SLACK_SPECIAL.sub(lambda m: f"@{m.group(1)}", text)
    text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _one_line(name: str) -> str:
    return " ".join(str(name).replace("<", "").replace(">", "").split())


def inline(text: str, names: Names | None = None) -> str:
    """One line of user text (titles, list items)."""
    return " ".join(slack_to_markdown(text or "", names).split()) or "—"


def block(text: str, names: Names | None = None) -> str:
    """A paragraph of user text: kept line by line, never a heading or a fence of ours."""
    lines = []
    for line in slack_to_markdown((text or "").strip(), names).splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("#", "```", "~~~")):
            line = "\\" + stripped
        lines.append(line.rstrip())
    return "\n".join(lines)


def _day(at: datetime) -> str:
    return f"{at:%Y-%m-%d}"


@dataclass
class _Render:
    """Turns stored rows into pack lines, naming people and channels through `names`."""

    names: Names

    def user(self, user_id: str | None) -> str:
        return f"@{_one_line(self.names.user(user_id))}" if user_id else "—"

    def channel(self, channel_id: str | None) -> str:
        return f"#{_one_line(self.names.channel(channel_id))}" if channel_id else "—"

    def inline(self, text: str) -> str:
        return inline(text, self.names)

    def field(self, out: list[str], label: str, text: str) -> None:
        if (text or "").strip():
            out += [f"**{label}**", "", block(text, self.names), ""]

    def intent(self, intent: Intent, checks: list[AcceptanceCheck]) -> list[str]:
        status = STATUS_LABELS.get(IntentStatus(intent.status), str(intent.status))
        out = [f"### I-{intent.id} · {self.inline(intent.title)}", ""]
        out.append(f"- Status: {status}")
        out.append(f"- Jira: {intent.jira_key or '—'}")
        out.append(f"- Channel: {self.channel(intent.channel_id)}")
        out.append("")
        self.field(out, "Outcome", intent.outcome)
        self.field(out, "Why now", intent.why)
        if intent.constraints:
            out += ["**Constraints**", ""] + [f"- {self.inline(c)}" for c in intent.constraints]
            out.append("")
        out += ["**Acceptance checks**", ""]
        if not checks:
            out.append("- _none yet_")
        for check in checks:
            if check.verified_at:
                by = self.user(check.verified_by)
                done = f" (verified by {by} on {_day(check.verified_at)})"
                out.append(f"- [x] {self.inline(check.text)}{done}")
            else:
                out.append(f"- [ ] {self.inline(check.text)}")
        out.append("")
        self.field(out, "Out of scope", intent.out_of_scope)
        return out

    def decision_meta(self, d: Decision) -> list[str]:
        status = str(d.status)
        if d.superseded_by_id:
            status = f"superseded by {decision_ref(d.superseded_by_id)}"
        out = [
            f"- Status: {status}",
            f"- Date: {_day(d.created_at)}",
            f"- By: {self.user(d.author)}"
            + (f" via {_one_line(d.via_agent)}" if d.via_agent else ""),
            f"- Channel: {self.channel(d.channel_id)}",
        ]
        if d.jira_keys:
            out.append(f"- Jira: {', '.join(d.jira_keys)}")
        if d.intent_id:
            out.append(f"- Intent: I-{d.intent_id}")
        if d.tags:
            out.append(f"- Tags: {', '.join(d.tags)}")
        if d.supersedes_id:
            out.append(f"- Supersedes: {decision_ref(d.supersedes_id)}")
        if d.permalink:
            out.append(f"- Link: {d.permalink}")
        return out

    def decision_body(self, d: Decision) -> list[str]:
        out: list[str] = []
        # The heading already shows the title; repeat the text only when it says more.
        if self.inline(d.decision) != self.inline(d.title):
            self.field(out, "Decision", d.decision)
        self.field(out, "Why", d.why)
        self.field(out, "Alternatives considered", d.alternatives)
        self.field(out, "Consequences", d.consequences)
        return out


def render_pack(content: PackContent, names: Names | None = None) -> str:
    r = _Render(names or IdNames())
    scope = content.scope
    current = [d for d in content.decisions if d.status != DecisionStatus.SUPERSEDED]
    superseded = [d for d in content.decisions if d.status == DecisionStatus.SUPERSEDED]
    questions = _open_questions(content, r)
    changes = [i.updated_at for i in content.intents] + [d.updated_at for d in content.decisions]
    out = [f"# Context pack: {r.inline(scope.title)}", ""]
    if scope.channels:
        out.append(f"- Channels: {', '.join(r.channel(c) for c in scope.channels)}")
    if scope.projects:
        out.append(f"- Jira projects: {', '.join(scope.projects)}")
    if scope.key:
        out.append(f"- Key: {r.inline(scope.key)}")
    out.append(
        f"- Last change: {max(changes):%Y-%m-%d %H:%M} UTC" if changes else "- Last change: —"
    )
    out.append(
        f"- Contents: {len(content.intents)} intents · {len(current)} decisions · "
        f"{len(superseded)} superseded · {len(questions)} open questions"
    )
    out += ["", "## Intents", ""]
    if not content.intents:
        out += ["_None._", ""]
    for intent in content.intents:
        out += r.intent(intent, content.checks.get(intent.id or 0, []))
    out += ["## Decisions", ""]
    if not current:
        out += ["_None._", ""]
    for d in current:
        out += [f"### {decision_ref(d.id)} · {r.inline(d.title)}", ""]
        out += r.decision_meta(d) + [""] + r.decision_body(d)
    out += ["## Superseded decisions", ""]
    if not superseded:
        out += ["_None._", ""]
    for d in superseded:
        summary = f"{decision_ref(d.id)} · {r.inline(d.title)}"
        if d.superseded_by_id:
            summary += f" (superseded by {decision_ref(d.superseded_by_id)})"
        out += ["<details>", f"<summary>{summary}</summary>", ""]
        out += r.decision_meta(d) + [""] + r.decision_body(d) + ["</details>", ""]
    out += ["## Open questions", ""]
    out += questions or ["_None._"]
    return "\n".join(out).rstrip() + "\n"


def _open_questions(content: PackContent, r: _Render) -> list[str]:
    """Decisions still only proposed, and intents that cannot be verified yet."""
    out = []
    for d in sorted(content.decisions, key=lambda d: d.id or 0):
        if d.status == DecisionStatus.PROPOSED:
            out.append(f"- {decision_ref(d.id)} · {r.inline(d.title)}: proposed, not accepted yet")
    for intent in content.intents:
        missing = []
        if not intent.outcome.strip():
            missing.append("no outcome")
        if not content.checks.get(intent.id or 0):
            missing.append("no acceptance checks")
        if missing:
            out.append(f"- I-{intent.id} · {r.inline(intent.title)}: {' and '.join(missing)} yet")
    return out


def team_scope(team: Team, key: str | None = None, viewer_channel: str | None = None) -> PackScope:
    """A team's pack: its channel plus everything linked to its Jira project."""
    return PackScope(
        title=f"team {team.name}",
        channels=[team.channel_id],
        projects=[team.jira_project.upper()] if team.jira_project else [],
        key=key.strip().upper() if key else None,
        viewer_channel=viewer_channel,
    )
