"""Sending signed GitHub deliveries to the running app, and reading what was stored."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlmodel
from sqlalchemy import func, select

from chatbot.db.engine import Database
from chatbot.teams.service import TeamService
from tests.conftest import Bot
from tests.fakes.github_api import FakeGitHub, FakeGitHubServer
from tests.fakes.github_events import encode, signed_headers

SECRET = "gh-webhook-secret"
REPO = "acme/payments"


@pytest.fixture(scope="module", name="github_server")
def github_server_fixture() -> Iterator[FakeGitHubServer]:
    """The local fake GitHub API, one per test module."""
    with FakeGitHubServer() as server:
        yield server


@pytest.fixture(name="github")
def github_fixture(github_server: FakeGitHubServer) -> Iterator[FakeGitHub]:
    """The fake GitHub's state, empty for each test; a test fails if the bot sent a query
    GitHub's schema refuses (a test that sends one on purpose reads and clears `violations`)."""
    github_server.fake.reset()
    yield github_server.fake
    violations = list(github_server.fake.violations)
    assert not violations, f"GitHub's schema refuses the bot's query: {violations[0]}"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


def deliver(
    bot: Bot,
    event: str,
    payload: Any = None,
    *,
    raw: bytes | None = None,
    delivery: str | None = None,
    secret: str | None = SECRET,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Answer:
    body = raw if raw is not None else encode(payload)
    sent = signed_headers(event, body, secret or "", delivery)
    if secret is None:
        sent.pop("X-Hub-Signature-256")
    sent.update(headers or {})
    request = urllib.request.Request(
        bot.server.url + "/webhooks/github", data=body, method="POST", headers=sent
    )
    request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return Answer(response.status, json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, json.loads(exc.read() or b"{}"))


def add_team(bot: Bot, repos: list[str] | None = None, name: str = "payments") -> None:
    TeamService(bot.services.db, bot.services.clock).add(
        name, "C0PAY", repos=repos if repos is not None else ["Acme/Payments"]
    )


def count(db: Database, model: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model.__table__)).scalar_one())


def rows(db: Database, model: Any, **where: Any) -> list[Any]:
    with db.session() as session:
        query = sqlmodel.select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list(session.exec(query).all())
