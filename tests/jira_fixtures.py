"""Fixtures for the Jira tests: the fake Jira in both flavours and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.jira_api import CLOUD_EMAIL, CLOUD_TOKEN, DC_PAT, FakeJira, FakeJiraServer


@pytest.fixture(scope="session", name="jira_server")
def jira_server_fixture() -> Iterator[FakeJiraServer]:
    with FakeJiraServer() as server:
        yield server


@pytest.fixture(params=["cloud", "dc"], name="flavour")
def flavour_fixture(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(name="fake_jira")
def fake_jira_fixture(jira_server: FakeJiraServer, flavour: str) -> Iterator[FakeJira]:
    jira_server.fake.reset(flavour)
    yield jira_server.fake
    if jira_server.fake.gate is not None:
        jira_server.fake.gate.set()


def jira_settings(url: str, flavour: str, timeout: float = 2.0, **extra: Any) -> dict[str, Any]:
    creds: dict[str, Any] = (
        {"jira_email": CLOUD_EMAIL, "jira_api_token": CLOUD_TOKEN}
        if flavour == "cloud"
        else {"jira_pat": DC_PAT}
    )
    return {"jira_url": url, "jira_timeout_seconds": timeout, **creds, **extra}
