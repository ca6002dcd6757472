"""Names for the context pack come from Slack once per id, and never cost the pack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from chatbot.slack.names import FAILURE_TTL_SECONDS, NAME_TTL_SECONDS, SlackNames
from tests.fakes.slack_api import FakeSlack, FakeSlackServer


class _Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlackServer]:
    with FakeSlackServer() as running:
        yield running


@pytest.fixture
def fake(server: FakeSlackServer) -> FakeSlack:
    server.fake.reset()
    return server.fake


def _client(server: FakeSlackServer) -> WebClient:
    return WebClient(token="xoxb-names", base_url=server.api_url, retry_handlers=[])


def test_names_are_asked_once_and_cached(server: FakeSlackServer, fake: FakeSlack) -> None:
    fake.user_names["U1"] = "Ada Lovelace"
    fake.channel_names["C1"] = "payments"
    ticks = _Ticks()
    names = SlackNames(_client(server), monotonic=ticks)
    assert [names.user("U1"), names.user("U1"), names.channel("C1")] == [
        "Ada Lovelace",
        "Ada Lovelace",
        "payments",
    ]
    assert len(fake.of("users.info")) == 1 and len(fake.of("conversations.info")) == 1
    ticks.now += NAME_TTL_SECONDS + 1
    fake.user_names["U1"] = "Ada King"
    assert names.user("U1") == "Ada King" and len(fake.of("users.info")) == 2


def test_unknown_people_and_direct_messages_keep_their_id(
    server: FakeSlackServer, fake: FakeSlack
) -> None:
    fake.missing_users.add("U404")
    ticks = _Ticks()
    names = SlackNames(_client(server), monotonic=ticks)
    assert names.user("U404") == "U404" and names.channel("D123") == "D123"
    assert names.user("U404") == "U404" and len(fake.of("users.info")) == 1  # failure cached
    ticks.now += FAILURE_TTL_SECONDS + 1
    fake.missing_users.clear()
    assert names.user("U404") == "User U404"  # asked again a minute later


def test_slack_unreachable_or_absent_shows_ids() -> None:
    dead_url = "http://127.0.0.1:9/api/"  # nothing listens on the discard port
    dead = WebClient(token="xoxb-x", base_url=dead_url, timeout=1, retry_handlers=[])
    assert SlackNames(dead).user("U1") == "U1" and SlackNames(dead).channel("C1") == "C1"
    assert SlackNames(None).user("U1") == "U1"
