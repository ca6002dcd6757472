"""Action and callback ids: one StrEnum per domain, used by the blocks and by the listeners."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from chatbot.slack import ids
from chatbot.slack.payloads import where

SLACK = Path(ids.__file__).parent
ENUMS: list[type[StrEnum]] = [
    ids.IntentId,
    ids.HomeId,
    ids.DecisionId,
    ids.JiraId,
    ids.DigestId,
    ids.AgentId,
]
# Shown on screen but never answered: the "All checks" modal has no submit button.
# CHECKS is a block id; EXPLAIN is a prefix, answered by a pattern built from it;
# EXPLAIN_MODAL names a modal that has no submit button.
NO_LISTENER = {ids.IntentId.CHECKS, ids.DigestId.EXPLAIN, ids.DigestId.EXPLAIN_MODAL}
# Put on screen by Slack itself (the message shortcut is declared in manifest.yml).
NOT_IN_BLOCKS = {ids.DecisionId.SHORTCUT}
LISTENER = re.compile(
    r"@?app\.(?:action|view|view_submission|shortcut|message_shortcut)\((\w+)\.(\w+)\)"
)
LITERAL_LISTENER = re.compile(
    r"@app\.(?:action|view|view_submission|shortcut|message_shortcut)\(\""
)


def _sources(*packages: str) -> dict[Path, str]:
    return {p: p.read_text() for pkg in packages for p in sorted((SLACK / pkg).glob("*.py"))}


def _listened() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    agents = SLACK / "agent_listeners.py"  # the agents' buttons, forms and events
    for text in [*_sources("actions", "views", "shortcuts").values(), agents.read_text()]:
        found |= set(LISTENER.findall(text))
    return found


@pytest.mark.parametrize("member", [m for e in ENUMS for m in e], ids=str)
def test_every_id_is_built_by_a_block_and_answered_by_a_listener(member: StrEnum) -> None:
    enum, name = type(member).__name__, member.name
    if member not in NO_LISTENER:
        assert (enum, name) in _listened(), f"no listener for {enum}.{name}"
    if member not in NOT_IN_BLOCKS:
        blocks = "\n".join(_sources("blocks").values())
        assert f"{enum}.{name}" in blocks, f"no block builds {enum}.{name}"


def test_listeners_use_the_enums_not_string_literals() -> None:
    for path, text in _sources("actions", "views", "shortcuts").items():
        assert not LITERAL_LISTENER.search(text), f"{path.name} listens to a literal id"


def test_ids_are_unique_across_domains() -> None:
    values = [m.value for e in ENUMS for m in e]
    assert len(values) == len(set(values))


@pytest.mark.parametrize(
    ("payload", "user", "channel"),
    [
        ({"user_id": "U1", "channel_id": "C1", "command": "/intent"}, "U1", "C1"),
        ({"user": {"id": "U2"}, "channel": {"id": "C2"}, "actions": []}, "U2", "C2"),
        ({"user": {"id": "U3"}, "container": {"channel_id": "C3"}}, "U3", "C3"),
        ({"user": {"id": "U4"}, "view": {"id": "V1"}, "type": "view_submission"}, "U4", ""),
        ({"event": {"type": "message", "user": "U5", "channel": "C5"}}, "U5", "C5"),
        (
            {"event": {"type": "reaction_added", "user": "U6", "item": {"channel": "C6"}}},
            "U6",
            "C6",
        ),
        (
            {"event": {"type": "member_joined_channel", "user": "U7", "channel": {"id": "C7"}}},
            "U7",
            "C7",
        ),
        ({}, "", ""),
    ],
)
def test_where_reads_user_and_channel_from_any_payload(
    payload: dict[str, object], user: str, channel: str
) -> None:
    at = where(payload)  # type: ignore[arg-type]
    assert (at.user, at.channel) == (user, channel)
