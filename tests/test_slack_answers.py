"""What Slack gets back from Bolt over HTTP: Bolt's acknowledgements as Bolt writes them (an
empty 200 for a command, JSON for a view's errors), and for a signed request that no listener
handles the same short JSON refusal as every other endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Bot
from tests.slack_driver import TEAM


def test_a_command_is_acknowledged_with_an_empty_200(bot: Bot) -> None:
    ack = bot.slack.command("/decision", "help")
    assert (ack.status, ack.body, ack.content_type) == (200, b"", "text/plain;charset=utf-8")


def _block_action(action_id: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": "U1", "team_id": TEAM},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": "trig-1",
        "actions": [{"action_id": action_id, "block_id": "b1", "type": "button", "value": "1"}],
    }


@pytest.mark.parametrize("kind", ["event", "action"])
def test_a_signed_request_no_listener_handles_is_a_short_json_404(bot: Bot, kind: str) -> None:
    if kind == "event":
        answer = bot.slack.event({"type": "pin_added", "user": "U1", "channel_id": "C1"})
    else:
        answer = bot.slack.interactive(_block_action("nobody_listens_to_this"))
    assert (answer.status, answer.content_type) == (404, "application/json")
    assert answer.json() == {"ok": False, "error": "no listener for this request"}
