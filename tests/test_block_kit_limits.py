"""Block Kit limits: the fake Slack refuses what Slack refuses, and the bot's checker agrees.

Each case builds a payload with a length or count `n`: at Slack's limit it must be accepted, one
over it refused. The fake Slack judges with its own table (tests/fakes/block_kit.py); the bot's
checker (chatbot/slack/blockkit.py) must reach the same verdict, so neither can quietly start
accepting everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatbot.slack import blockkit
from chatbot.slack.post import post
from tests.fakes.slack_api import FakeSlack, FakeSlackServer


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text), **extra}


def _button(text: str = "Go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": _plain(text), "action_id": "go", **extra}


def _actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def _option(i: int, text: str | None = None, value: str | None = None) -> dict[str, Any]:
    return {"text": _plain(text or f"o{i}"), "value": value or str(i)}


def _select(options: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "options": options}


def _input(label: str = "Title", **element: Any) -> dict[str, Any]:
    field = {"type": "plain_text_input", "action_id": "v", **element}
    return {"type": "input", "block_id": "b", "label": _plain(label), "element": field}


def _modal(blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    view = {"type": "modal", "title": _plain("Log"), "submit": _plain("Save")}
    return {**view, "blocks": blocks if blocks is not None else [_section()], **extra}


@dataclass(frozen=True)
class Case:
    limit: int
    surface: str  # "message" or "view"
    build: Callable[[int], Any]  # n -> blocks (message) or view (view)


CASES: dict[str, Case] = {
    "blocks per message": Case(50, "message", lambda n: [_section() for _ in range(n)]),
    "blocks per modal": Case(100, "view", lambda n: _modal([_section() for _ in range(n)])),
    "blocks in App Home": Case(
        100, "view", lambda n: {"type": "home", "blocks": [_section() for _ in range(n)]}
    ),
    "section text": Case(3000, "message", lambda n: [_section("x" * n)]),
    "section fields": Case(
        10, "message", lambda n: [{"type": "section", "fields": [_mrkdwn("f")] * n}]
    ),
    "section field text": Case(
        2000, "message", lambda n: [{"type": "section", "fields": [_mrkdwn("f" * n)]}]
    ),
    "header text": Case(150, "message", lambda n: [{"type": "header", "text": _plain("h" * n)}]),
    "context elements": Case(
        10, "message", lambda n: [{"type": "context", "elements": [_mrkdwn("c")] * n}]
    ),
    "actions elements": Case(25, "message", lambda n: [_actions(*[_button()] * n)]),
    "button text": Case(75, "message", lambda n: [_actions(_button("b" * n))]),
    "button value": Case(2000, "message", lambda n: [_actions(_button(value="v" * n))]),
    "button url": Case(3000, "message", lambda n: [_actions(_button(url="u" * n))]),
    "action_id": Case(255, "message", lambda n: [_actions({**_button(), "action_id": "a" * n})]),
    "block_id": Case(255, "message", lambda n: [_section(block_id="b" * n)]),
    "select options": Case(
        100, "message", lambda n: [_actions(_select([_option(i) for i in range(n)]))]
    ),
    "option text": Case(75, "message", lambda n: [_actions(_select([_option(1, text="t" * n)]))]),
    "option value": Case(
        150, "message", lambda n: [_actions(_select([_option(1, value="v" * n)]))]
    ),
    "overflow options": Case(
        5,
        "message",
        lambda n: [
            _section(
                accessory={
                    "type": "overflow",
                    "action_id": "more",
                    "options": [_option(i) for i in range(n)],
                }
            )
        ],
    ),
    "modal title": Case(24, "view", lambda n: _modal(title=_plain("t" * n))),
    "modal submit": Case(24, "view", lambda n: _modal(submit=_plain("s" * n))),
    "modal close": Case(24, "view", lambda n: _modal(close=_plain("c" * n))),
    "private_metadata": Case(3000, "view", lambda n: _modal(private_metadata="m" * n)),
    "callback_id": Case(255, "view", lambda n: _modal(callback_id="c" * n)),
    "input label": Case(2000, "view", lambda n: _modal([_input("l" * n)])),
    "input placeholder": Case(150, "view", lambda n: _modal([_input(placeholder=_plain("p" * n))])),
    "text input initial value": Case(
        3000, "view", lambda n: _modal([_input(initial_value="i" * n)])
    ),
    "text input max_length": Case(3000, "view", lambda n: _modal([_input(max_length=n)])),
}

# Payloads Slack refuses whatever their size.
MALFORMED: dict[str, tuple[str, Any]] = {
    "header in mrkdwn": ("message", [{"type": "header", "text": _mrkdwn("*h*")}]),
    "empty section text": ("message", [_section("")]),
    "section without text or fields": ("message", [{"type": "section"}]),
    "empty actions": ("message", [{"type": "actions", "elements": []}]),
    "empty context": ("message", [{"type": "context", "elements": []}]),
    "unknown block type": ("message", [{"type": "carousel"}]),
    "duplicate block_id": ("message", [_section(block_id="x"), _section(block_id="x")]),
    "button style": ("message", [_actions(_button(style="loud"))]),
    "input without submit": ("view", {"type": "modal", "title": _plain("T"), "blocks": [_input()]}),
    "message with neither text nor blocks": ("message", None),
}


@pytest.fixture(scope="module")
def slack() -> Iterator[tuple[FakeSlack, WebClient]]:
    with FakeSlackServer() as server:
        yield server.fake, WebClient(token="xoxb-limits", base_url=server.api_url)


def _fake_error(client: WebClient, surface: str, payload: Any) -> str | None:
    """The error the fake Slack answers for this payload (None when it accepts it)."""
    try:
        if surface == "view":
            client.views_open(trigger_id="t1", view=payload)
        elif payload is None:
            client.chat_postMessage(channel="C1", text="")
        else:
            client.chat_postMessage(channel="C1", text="fallback", blocks=payload)
    except SlackApiError as exc:
        return str(exc.response["error"])
    return None


def _checker_problems(surface: str, payload: Any) -> list[str]:
    if surface == "view":
        return blockkit.view_problems(payload)
    return blockkit.message_problems(None if payload is None else "fallback", payload)


REFUSAL = {"message": "invalid_blocks", "view": "invalid_arguments"}


@pytest.mark.parametrize("name", CASES)
def test_the_fake_accepts_the_limit_and_refuses_one_more(
    slack: tuple[FakeSlack, WebClient], name: str
) -> None:
    case = CASES[name]
    _fake, client = slack
    assert _fake_error(client, case.surface, case.build(case.limit)) is None
    assert _fake_error(client, case.surface, case.build(case.limit + 1)) == REFUSAL[case.surface]


@pytest.mark.parametrize("name", CASES)
def test_the_bots_checker_agrees_with_slack(name: str) -> None:
    case = CASES[name]
    assert _checker_problems(case.surface, case.build(case.limit)) == []
    assert _checker_problems(case.surface, case.build(case.limit + 1)) != []


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_payloads_are_refused_by_both(
    slack: tuple[FakeSlack, WebClient], name: str
) -> None:
    surface, payload = MALFORMED[name]
    _fake, client = slack
    expected = "no_text" if payload is None else REFUSAL[surface]
    assert _fake_error(client, surface, payload) in {expected, REFUSAL[surface]}
    assert _checker_problems(surface, payload) != []


def test_post_falls_back_to_text_when_blocks_break_a_limit(
    slack: tuple[FakeSlack, WebClient],
) -> None:
    """The checker is the bot's safety net: over-limit blocks become a plain message, not a loss."""
    fake, client = slack
    fake.reset()
    too_many = [_section(f"line {i}") for i in range(51)]
    posted = post(client, "C1", "The whole text", too_many)
    assert posted.ok and posted.ts
    [sent] = fake.of("chat.postMessage")
    assert sent.ok and "blocks" not in sent.params and sent.params["text"] == "The whole text"
