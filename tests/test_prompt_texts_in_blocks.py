"""Every word the Block Kit builders show comes from prompts/: rendered with prompts whose
texts are all replaced by a marker, the blocks carry no word of their own.

The data given to the builders has no words either (digits and ids only), so any word left
in a rendered text is a literal in the code. Intent status names are the one exception:
they are the domain's labels (chatbot.intent.models.STATUS_LABELS), shared with the pack.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chatbot.decisions.models import Decision, DecisionStatus
from chatbot.decisions.search import Hit
from chatbot.digest.catalogue import METRICS
from chatbot.intent.coach import CoachNote
from chatbot.intent.models import STATUS_LABELS, AcceptanceCheck, Intent, IntentStatus
from chatbot.intent.service import IntentFields, IntentView
from chatbot.prompts import Prompts
from chatbot.settings import DEFAULT_PROMPTS_DIR
from chatbot.slack.blocks import decision as decision_blocks
from chatbot.slack.blocks import home as home_blocks
from chatbot.slack.blocks import intent as intent_blocks
from chatbot.slack.blocks import jira as jira_blocks

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
WORD = re.compile(r"[A-Za-z]{2,}")
MARK = "§"
DATA_KEYS = {"field"}  # which intent field a question is about: a name, not a text
ALLOWED = {w for label in STATUS_LABELS.values() for w in WORD.findall(label)}


def _marked(node: Any) -> Any:
    """The same prompts with each text replaced by MARK plus its placeholders."""
    if isinstance(node, str):
        return MARK + "".join(PLACEHOLDER.findall(node))
    if isinstance(node, dict):
        return {k: v if k in DATA_KEYS else _marked(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_marked(v) for v in node]
    return node


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _write(fh: Any, table: dict[str, Any], path: str) -> None:
    plain = {k: v for k, v in table.items() if not isinstance(v, dict | list)}
    plain |= {k: v for k, v in table.items() if isinstance(v, list) and not _is_tables(v)}
    if path:
        fh.write(f"\n[{path}]\n")
    for key, value in plain.items():
        fh.write(f"{_toml(key)} = {_toml(value)}\n")
    for key, value in table.items():
        if isinstance(value, list) and _is_tables(value):
            for item in value:
                fh.write(f"\n[[{path + '.' if path else ''}{_toml(key)}]]\n")
                for k, v in item.items():
                    fh.write(f"{_toml(k)} = {_toml(v)}\n")
    for key, value in table.items():
        if isinstance(value, dict):
            _write(fh, value, f"{path}.{_toml(key)}" if path else _toml(key))


def _is_tables(value: list[Any]) -> bool:
    return bool(value) and all(isinstance(v, dict) for v in value)


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> Prompts:
    directory = tmp_path_factory.mktemp("marked_prompts")
    for path in Path(DEFAULT_PROMPTS_DIR).glob("*.toml"):
        data = _marked(tomllib.loads(path.read_text()))
        with (directory / path.name).open("w") as fh:
            _write(fh, data, "")
    return Prompts(directory)


def _texts(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found += _texts(value)
    elif isinstance(node, list):
        for value in node:
            found += _texts(value)
    return found


def _words(rendered: Any) -> set[str]:
    words: set[str] = set()
    for text in _texts(rendered):
        text = re.sub(r"<[@#!][^>]*>", "", text)  # mentions and channel links are data
        text = re.sub(r"https?://[^|>\s]*", "", text)  # so are link targets
        words |= set(WORD.findall(text)) - ALLOWED
    return words


def _view(status: IntentStatus, checks: int = 20, long: bool = False) -> IntentView:
    intent = Intent(
        id=7,
        title="1",
        outcome="2" * (4000 if long else 1),
        why="3",
        constraints=["4"],
        out_of_scope="",
        status=status,
        channel_id="C1",
        created_by="U1",
        created_at=NOW,
        updated_at=NOW,
        revision=2,
    )
    rows = [
        AcceptanceCheck(
            id=n,
            intent_id=7,
            position=n,
            text=str(n),
            verified_by="U2" if n % 2 else None,
            verified_at=NOW if n % 2 else None,
        )
        for n in range(1, checks + 1)
    ]
    return IntentView(intent, rows)


def _decision(**over: Any) -> Decision:
    values: dict[str, Any] = {
        "id": 3,
        "title": "1",
        "decision": "2" * 4000,
        "why": "3",
        "alternatives": "4",
        "consequences": "5",
        "author": "U1",
        "logged_by": "U2",
        "channel_id": "C1",
        "created_at": NOW,
        "updated_at": NOW,
        "permalink": "https://slack.example/p1",
        "supersedes_id": 1,
        "is_private": True,
        "status": DecisionStatus.PROPOSED,
    }
    return Decision(**(values | over))


def _hit(kind: str) -> Hit:
    # The hit's status is shown as stored (a lower-case status name), like its title.
    return Hit(kind, 1, "D-1", "1", "2", "U1", NOW, "C1", "https://slack.example/p", "1", [])


def _every_intent_block(p: Prompts) -> list[Any]:
    notes = [CoachNote("outcome", "vague", "1")] * 12
    draft, started = _view(IntentStatus.DRAFT), _view(IntentStatus.IN_PROGRESS, 40, long=True)
    fields = IntentFields(title="1", outcome="2" * 4000, checks=["3"])
    return [
        intent_blocks.intent_card(p, draft, notes),
        intent_blocks.intent_card(p, started, []),
        intent_blocks.intent_card(p, _view(IntentStatus.READY, 0), []),
        intent_blocks.card_fallback(p, draft),
        intent_blocks.intent_list(p, [draft, started]),
        intent_blocks.intent_list(p, []),
        intent_blocks.checks_page(p, started, 0),
        intent_blocks.checks_page(p, started, 1),
        intent_blocks.intent_form(p),
        intent_blocks.intent_form(p, fields, "C1", 7),
        home_blocks.home_view(p, [draft, started], []),
        home_blocks.home_view(p, [], []),
    ]


def _every_decision_block(p: Prompts) -> list[Any]:
    current, old = _decision(superseded_by_id=None), _decision(superseded_by_id=4)
    return [
        decision_blocks.decision_card(p, current),
        decision_blocks.decision_card(p, _decision(status=DecisionStatus.ACCEPTED)),
        decision_blocks.decision_card(p, old),
        decision_blocks.card_fallback(p, old),
        decision_blocks.decision_form(p),
        decision_blocks.decision_form(p, None, "C1", decision_id=3),
        decision_blocks.decision_form(p, None, supersedes=current, note="1"),
        decision_blocks.search_results(p, "1", [_hit("decision")], [_hit("intent")]),
        decision_blocks.intent_context(p, _view(IntentStatus.DONE, 20), [current] * 25, "1"),
        decision_blocks.intent_context(p, None, [], "1"),
        decision_blocks.home_section(p, [current, old]),
        decision_blocks.home_section(p, []),
    ]


def _every_jira_block(p: Prompts) -> list[Any]:
    return [
        jira_blocks.link_modal(p, 7, "I-7", "C1", None),
        jira_blocks.create_modal(p, 7, "I-7", "C1", "1.2", project="1", issue_type="2"),
        jira_blocks.choose_project(p, "1", 7),
        jira_blocks.done_question(p, "1", 7, all_verified=False),
    ]


def _every_digest_block(p: Prompts) -> list[Any]:
    """The digest's metric names and units are the catalogue's (chatbot.digest.catalogue)."""
    from chatbot.slack.blocks import checkin as checkin_blocks
    from chatbot.slack.blocks import digest as digest_blocks
    from chatbot.slack.blocks import team_setup as team_setup_blocks
    from tests import digest_samples

    worse = digest_samples.every_metric_worse() | {"team": "1", "time_zone": "UTC", "warnings": []}
    worse["metrics"]["wip"]["over_limit"] = ["U1"]
    empty = digest_samples.no_data() | {"team": "1", "time_zone": "UTC", "warnings": []}
    item = {"ref": "1", "title": "2", "url": "https://example.test/1", "counted": True}
    return [
        digest_blocks.digest_blocks(worse, p),
        digest_blocks.digest_blocks(empty, p),
        digest_blocks.digest_fallback(worse, p),
        digest_blocks.leader_dm_blocks(worse, p, "C1"),
        digest_blocks.explain_modal([item] * 40, p, "1", "2026-W47", "review_time", 2),
        digest_blocks.explain_modal([], p, "1", "2026-W47", "wip"),
        checkin_blocks.checkin_blocks("1", 1, "2026-W47", p, 0.4, None, note="1"),
        digest_blocks.home_digest_section(p, [("1", worse)]),
        team_setup_blocks.setup_modal(None, p, "C1"),
    ]


# What the digest shows besides its prompts: the catalogue's metric names (also lower-cased in
# the fallback summary), Slack's :warning: emoji and strftime's day and month.
DIGEST_WORDS = {
    w for m in METRICS for w in WORD.findall(m.label) + WORD.findall(m.label.lower())
} | {"warning", "UTC", "Sun", "Nov"}
BUILDERS = [
    (_every_intent_block, set()),
    (_every_decision_block, set()),
    (_every_jira_block, set()),
    (_every_digest_block, DIGEST_WORDS),
]


@pytest.mark.parametrize(("builders", "known"), BUILDERS, ids=lambda b: getattr(b, "__name__", ""))
def test_the_blocks_say_nothing_the_prompts_do_not(
    builders: Any, known: set[str], marked: Prompts
) -> None:
    rendered = builders(marked)
    assert MARK in str(rendered)
    words = _words([{"text": r} if isinstance(r, str) else r for r in rendered])
    assert words - known == set()


@pytest.mark.parametrize(("builders", "known"), BUILDERS, ids=lambda b: getattr(b, "__name__", ""))
def test_the_real_prompts_fill_every_block(builders: Any, known: set[str]) -> None:
    """Every key the builders name exists and fills in (a missing one raises here)."""
    rendered = builders(Prompts(DEFAULT_PROMPTS_DIR))
    assert "Verify" in str(rendered) or "Save" in str(rendered) or "Link" in str(rendered)
