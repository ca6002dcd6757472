"""manifest.yml names every command, shortcut and event the app listens to, and no other."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manifest() -> str:
    return (ROOT / "manifest.yml").read_text(encoding="utf-8")


def test_manifest_matches_the_listeners() -> None:
    manifest = _manifest()
    commands = set(re.findall(r"- command: (/\w+)", manifest))
    shortcuts = set(re.findall(r"callback_id: (\w+)", manifest))
    bot_events = set(re.findall(r"^      - ([a-z_.]+)$", manifest.split("bot_events:")[1], re.M))
    source = "\n".join(p.read_text() for p in (ROOT / "chatbot" / "slack").rglob("*.py"))
    registered_commands = set(re.findall(r'app\.command\("(/\w+)"\)', source))
    registered_events = set(re.findall(r'app\.event\("(\w+)"\)', source))
    assert commands == registered_commands
    assert shortcuts == {"log_decision"}
    # message events arrive as message.channels / .groups / .im / .mpim
    assert {e.split(".")[0] for e in bot_events} == registered_events


def test_manifest_has_the_scopes_the_calls_need() -> None:
    scopes = set(
        re.findall(
            r"^      - ([a-z_:.]+)$", _manifest().split("bot:")[1].split("settings:")[0], re.M
        )
    )
    needed = {
        "commands",
        "chat:write",
        "channels:history",
        "groups:history",
        "channels:read",
        "groups:read",
        "im:read",
        "mpim:read",
        "reactions:read",
        "files:write",
        "app_mentions:read",
        "users:read",
    }
    assert needed <= scopes
