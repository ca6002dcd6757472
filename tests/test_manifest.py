"""manifest.yml (HTTP) and manifest.socket.yml (Socket Mode) name every command, shortcut and
event the app listens to, and no other, and ask for the same scopes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ("manifest.yml", "manifest.socket.yml")


def _manifest(name: str = "manifest.yml") -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def _commands(manifest: str) -> set[str]:
    return set(re.findall(r"- command: (/\w+)", manifest))


def _shortcuts(manifest: str) -> set[str]:
    return set(re.findall(r"callback_id: (\w+)", manifest))


def _bot_events(manifest: str) -> set[str]:
    events = manifest.split("bot_events:")[1].split("interactivity:")[0]
    return set(re.findall(r"^      - ([a-z_.]+)$", events, re.M))


def _scopes(manifest: str) -> set[str]:
    return set(
        re.findall(r"^      - ([a-z_:.]+)$", manifest.split("bot:")[1].split("settings:")[0], re.M)
    )


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_matches_the_listeners(name: str) -> None:
    manifest = _manifest(name)
    source = "\n".join(p.read_text() for p in (ROOT / "chatbot" / "slack").rglob("*.py"))
    registered_commands = set(re.findall(r'app\.command\("(/\w+)"\)', source))
    registered_events = set(re.findall(r'app\.event\("(\w+)"\)', source))
    assert _commands(manifest) == registered_commands
    assert _shortcuts(manifest) == {"log_decision"}
    # message events arrive as message.channels / .groups / .im / .mpim
    assert {e.split(".")[0] for e in _bot_events(manifest)} == registered_events


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_has_the_scopes_the_calls_need(name: str) -> None:
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
    assert needed <= _scopes(_manifest(name))


def test_both_manifests_list_the_same_commands_shortcuts_events_and_scopes() -> None:
    http, socket = _manifest("manifest.yml"), _manifest("manifest.socket.yml")
    for listed in (_commands, _shortcuts, _bot_events, _scopes):
        assert listed(http) == listed(socket), listed.__name__
    # the same command texts too (description, usage hint), so both apps read alike
    assert re.findall(r"^      (?:description|usage_hint): .*$", http, re.M) == re.findall(
        r"^      (?:description|usage_hint): .*$", socket, re.M
    )


def test_the_socket_manifest_uses_socket_mode_and_no_request_url() -> None:
    socket = _manifest("manifest.socket.yml")
    assert re.search(r"^  socket_mode_enabled: true$", socket, re.M)
    assert not re.search(r"^\s*(request_)?url:", socket, re.M)


def test_the_http_manifest_sends_everything_to_one_request_url() -> None:
    http = _manifest("manifest.yml")
    assert re.search(r"^  socket_mode_enabled: false$", http, re.M)
    urls = re.findall(r"^\s*(?:request_)?url: (\S+)$", http, re.M)
    # four commands, event subscriptions and interactivity
    assert urls == ["https://throughline.example.com/slack/events"] * 6
