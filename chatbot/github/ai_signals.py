"""How a pull request is recognised as AI-assisted (docs/ai-signals.md): the built-in list of
coding-agent logins and of commit-message patterns, each with the public example it was
confirmed from, and the pure functions that apply them together with a team's own additions.

A PR is AI-assisted when any of these holds (the first that holds is its `signal`):
- `agent`: its author is a coding-agent account (built-in list + the team's `ai_agents`,
  minus the team's `bots`, which always win);
- `co_author`: one of its commits names an AI co-author in a `Co-authored-by:` trailer;
- `marker`: one of its commits, or its body, carries a known marker line (built-in + the
  team's `ai_markers`);
- `label`: it carries one of the team's AI labels (default `ai-assisted`, `ai-generated`).

Extending the lists: a team adds logins with `--ai-agent`, regular expressions with
`--ai-marker` (matched case-insensitively against each commit message and the PR body) and
labels with `--ai-label`; entries that hold for everyone belong in the tuples below, with
the public commit, PR or documentation they were seen in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

AGENT = "agent"
CO_AUTHOR = "co_author"
MARKER = "marker"
LABEL = "label"
SIGNAL_KINDS = (AGENT, CO_AUTHOR, MARKER, LABEL)


@dataclass(frozen=True)
class Entry:
    value: str
    source: str  # the public example the exact spelling was confirmed from


# Logins that open pull requests (or review them) on a coding agent's behalf. GitHub's REST
# API and webhooks spell an app account `name[bot]`; GraphQL gives the bare `name` with
# `__typename: Bot`. Both spellings are listed, compared lower-case.
AGENT_LOGINS: tuple[Entry, ...] = (
    Entry(
        "copilot-swe-agent",
        "GitHub Copilot coding agent: microsoft/vscode-pull-request-github#6794 and #6881 "
        "(PRs shown as authored by `copilot-swe-agent`)",
    ),
    Entry(
        "copilot-swe-agent[bot]",
        "the same account as REST spells it: atvirokodosprendimai/wgmesh#473",
    ),
    Entry(
        "copilot",
        "the display login GitHub gives Copilot-agent PRs: atvirokodosprendimai/wgmesh#473 "
        '("author is Copilot not copilot-swe-agent[bot]")',
    ),
    Entry(
        "devin-ai-integration[bot]",
        "Devin: aavetis/PRarena collect_data.py (`author:devin-ai-integration[bot]`)",
    ),
    Entry("devin-ai-integration", "the same account as GraphQL spells it"),
    Entry(
        "google-labs-jules[bot]",
        'Google Jules: aavetis/PRarena#56 ("Author tag is: google-labs-jules[bot]")',
    ),
    Entry("google-labs-jules", "the same account as GraphQL spells it"),
    Entry(
        "chatgpt-codex-connector[bot]",
        'OpenAI Codex\'s GitHub connector ("@chatgpt-codex-connector[bot] reviewed" in '
        "public PR review logs, id 199175422); Codex cloud opens PRs as the person "
        "who started the task (copilot-coding-agent/user-feedback#91), so those are found "
        "by their trailers and labels instead",
    ),
    Entry("chatgpt-codex-connector", "the same account as GraphQL spells it"),
    Entry(
        "cursor[bot]",
        "Cursor's background agents: `206951365+cursor[bot]@users.noreply.github.com` in "
        "public AI-attribution tables",
    ),
    Entry("cursor", "the same account as GraphQL spells it"),
    Entry(
        "codegen-sh[bot]",
        "Codegen: aavetis/PRarena collect_data.py (`author:codegen-sh[bot]`)",
    ),
)

# `Co-authored-by:` trailers naming an AI. Each pattern is matched against the trailer's
# value (`Name <email>`), case-insensitively.
CO_AUTHOR_PATTERNS: tuple[Entry, ...] = (
    Entry(
        r"<noreply@anthropic\.com>",
        "Claude Code: `Co-Authored-By: Claude <noreply@anthropic.com>` (its default commit "
        "trailer, e.g. inkan-tech/landing-page-mobile's PR template; newer versions name the "
        "model, `Claude Opus 4.5 <noreply@anthropic.com>`)",
    ),
    Entry(
        r"<cursoragent@cursor\.com>",
        "Cursor's agent: `Co-authored-by: Cursor Agent <cursoragent@cursor.com>` "
        "(real commit messages in public push payloads and PRs)",
    ),
    Entry(
        r"^aider \(.*\) <[^>]*@aider\.chat>",
        "Aider: `Co-authored-by: aider (anthropic/claude-sonnet-4-20250514) <aider@aider.chat>` "
        "(a real push payload; older versions use `noreply@aider.chat`)",
    ),
    Entry(
        r"\+copilot@users\.noreply\.github\.com>",
        "GitHub Copilot: `Co-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>` "
        "and `<198982749+Copilot@…>`, `<223556219+Copilot@…>` (Copilot CLI and agent commits)",
    ),
    Entry(
        r"\+devin-ai-integration\[bot\]@users\.noreply\.github\.com>",
        "Devin: `Co-Authored-By: Devin <158243242+devin-ai-integration[bot]@users.noreply."
        "github.com>`",
    ),
    Entry(
        r"\+google-labs-jules\[bot\]@users\.noreply\.github\.com>",
        "Google Jules: `161369871+google-labs-jules[bot]@users.noreply.github.com`",
    ),
)

# Marker lines in a commit message or a PR body, matched case-insensitively anywhere.
MARKER_PATTERNS: tuple[Entry, ...] = (
    Entry(
        r"generated with \[?claude code\]?",
        "Claude Code: `🤖 Generated with [Claude Code](https://claude.com/claude-code)` at "
        "the end of its commit messages and PR bodies",
    ),
    Entry(
        r"^made-with: cursor\s*$",
        'Cursor: the `Made-with: Cursor` trailer (`git commit --trailer "Made-with: Cursor"`; '
        "superdurable/dex#310)",
    ),
    Entry(
        r"^generated with \[devin\]",
        "Devin: `Generated with [Devin](https://devin.ai)` above its co-author trailer",
    ),
)

DEFAULT_AI_LABELS = ("ai-assisted", "ai-generated")
# Claude Code's contribution analytics label the merged PRs it attributes (Claude Code docs,
# "Analytics": merged pull requests with Claude Code-assisted lines are labelled so).
BUILT_IN_LABELS = ("claude-code-assisted",)

_TRAILER = re.compile(r"^co-authored-by:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
# GitHub's no-reply address: `12345+login@users.noreply.github.com` (or the older
# `login@users.noreply.github.com`) names the account that co-authored.
_NOREPLY = re.compile(r"<(?:\d+\+)?([a-z0-9][a-z0-9-]*(?:\[bot\])?)@users\.noreply\.github\.com>")


def built_in_agents() -> frozenset[str]:
    return frozenset(entry.value for entry in AGENT_LOGINS)


# What makes a pattern mean something else once it is one branch of a larger one: a
# backreference by number or name, or a conditional on a group.
_GROUP_REFERENCE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")


def _any_of(patterns: Iterable[str], flags: int) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
    """One pattern matching wherever any of `patterns` does (a digest searches thousands of
    commit messages: one search each instead of one per pattern), and the patterns it cannot
    hold: those referring to their own groups, or all of them when they do not compile
    together (a global flag such as `(?i)` must start the whole expression)."""
    joined = [p for p in patterns if not _GROUP_REFERENCE.search(p)]
    alone = tuple(p for p in patterns if _GROUP_REFERENCE.search(p))
    if not joined:
        return None, alone
    try:
        return re.compile("|".join(f"(?:{p})" for p in joined), flags), alone
    except re.error:
        return None, tuple(patterns)


@dataclass(frozen=True)
class Rules:
    """The patterns that decide AI assistance for one team, compiled once."""

    agents: frozenset[str]
    bots: frozenset[str]
    labels: frozenset[str]
    co_authors: tuple[re.Pattern[str], ...]
    # The markers (built in, then the team's) as one pattern where they can be (`_any_of`),
    # and the others on their own.
    any_marker: re.Pattern[str] | None
    lone_markers: tuple[re.Pattern[str], ...]

    @classmethod
    def for_team(
        cls,
        ai_agents: Iterable[str] = (),
        ai_markers: Iterable[str] = (),
        ai_labels: Iterable[str] = DEFAULT_AI_LABELS,
        bots: Iterable[str] = (),
    ) -> Rules:
        flags = re.IGNORECASE | re.MULTILINE
        patterns = [*(e.value for e in MARKER_PATTERNS), *ai_markers]
        any_marker, alone = _any_of(patterns, flags)
        return cls(
            agents=built_in_agents() | {a.lower() for a in ai_agents},
            bots=frozenset(b.lower() for b in bots),
            labels=frozenset(label.lower() for label in (*ai_labels, *BUILT_IN_LABELS)),
            co_authors=tuple(re.compile(e.value, flags) for e in CO_AUTHOR_PATTERNS),
            any_marker=any_marker,
            lone_markers=tuple(re.compile(pattern, flags) for pattern in alone),
        )

    def is_agent(self, login: str | None) -> bool:
        """A coding agent, unless the team lists the login as a bot (the team's word wins)."""
        name = (login or "").lower()
        return name in self.agents and name not in self.bots

    def signals(
        self,
        author: str | None,
        labels: Iterable[str],
        body: str,
        messages: Iterable[str],
    ) -> list[str]:
        """Every kind of evidence that the PR is AI-assisted, in `SIGNAL_KINDS` order."""
        found: list[str] = []
        if self.is_agent(author):
            found.append(AGENT)
        texts = [m for m in messages if m]
        if any(self._co_authored(m) for m in texts):
            found.append(CO_AUTHOR)
        if any(self._marked(t) for t in (*texts, body or "")):
            found.append(MARKER)
        if any(label.lower() in self.labels for label in labels):
            found.append(LABEL)
        return found

    def _marked(self, text: str) -> bool:
        """One of the markers is in `text`."""
        if self.any_marker is not None and self.any_marker.search(text):
            return True
        return any(p.search(text) for p in self.lone_markers)

    def _co_authored(self, message: str) -> bool:
        return any(p.search(value) for value in _TRAILER.findall(message) for p in self.co_authors)


def co_author_logins(message: str | None) -> list[str]:
    """The GitHub logins a commit message's `Co-authored-by:` trailers name through GitHub's
    no-reply addresses, lower-case (who co-wrote an agent's commits may not approve them)."""
    found: list[str] = []
    for value in _TRAILER.findall(message or ""):
        match = _NOREPLY.search(value.lower())
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def valid_pattern(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True
