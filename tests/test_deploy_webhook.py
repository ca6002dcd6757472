"""POST /webhooks/deploy over real HTTP: bearer token, validation with reasons, size cap,
idempotency by id, and the status rules of docs/deployments.md."""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlmodel import col, select

from chatbot.deploys.models import Deployment, DeploymentChange
from chatbot.web.deploy_webhook import authorized
from chatbot.web.routes import WebRequest
from tests.conftest import Bot
from tests.slack_driver import HttpResult

TOKEN = "deploy-token-1"
SHA = "9f1c" + "0" * 36


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"deploy_webhook_token": TOKEN}


def _event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": "d-118",
        "service": "payments-api",
        "environment": "production",
        "deployed_at": "2026-11-18T10:00:00Z",
        "status": "success",
        "changes": {
            "prs": [{"repo": "Acme/Payments", "number": 12}],
            "commits": [SHA],
            "issues": ["PAY-7"],
        },
        "rollback_of": None,
        "hotfix_of": "d-117",
    }
    event.update(overrides)
    return event


def _post(
    bot: Bot, body: bytes | dict[str, Any] | list[Any], token: str | None = TOKEN
) -> HttpResult:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return bot.slack.post(data, "application/json", headers=headers, path="/webhooks/deploy")


def _deployments(bot: Bot) -> list[Deployment]:
    with bot.services.db.session() as s:
        return list(s.exec(select(Deployment).order_by(col(Deployment.id))).all())


def _changes(bot: Bot) -> set[tuple[str, str]]:
    with bot.services.db.session() as s:
        return {(c.kind, c.value) for c in s.exec(select(DeploymentChange)).all()}


def test_a_deployment_is_stored_with_its_changes(bot: Bot) -> None:
    answer = _post(bot, _event())
    assert answer.status == 201, answer.body
    assert answer.json() == {
        "ok": True,
        "id": "d-118",
        "status": "success",
        "deployed_at": "2026-11-18T10:00:00+00:00",
        "changes_added": 3,
    }
    [row] = _deployments(bot)
    assert (row.source, row.external_id, row.service, row.environment) == (
        "webhook",
        "d-118",
        "payments-api",
        "production",
    )
    assert row.status == "success" and row.hotfix_of == "d-117" and row.rollback_of is None
    assert (
        row.deployed_at is not None and row.deployed_at.isoformat() == "2026-11-18T10:00:00+00:00"
    )
    assert _changes(bot) == {("pr", "acme/payments#12"), ("commit", SHA), ("issue", "PAY-7")}


def test_an_offset_is_converted_to_utc(bot: Bot) -> None:
    assert _post(bot, _event(deployed_at="2026-11-18T11:30:00+01:00")).status == 201
    [row] = _deployments(bot)
    assert (
        row.deployed_at is not None and row.deployed_at.isoformat() == "2026-11-18T10:30:00+00:00"
    )


@pytest.mark.parametrize("token", [None, "wrong", "deploy-token-", "deploy-token-12", ""])
def test_a_bad_or_missing_token_is_401_and_stores_nothing(bot: Bot, token: str | None) -> None:
    answer = _post(bot, _event(), token=token)
    assert answer.status == 401
    assert answer.json() == {"ok": False, "error": "bad or missing bearer token"}
    assert _deployments(bot) == []


def test_another_scheme_than_bearer_is_refused(bot: Bot) -> None:
    data = json.dumps(_event()).encode()
    answer = bot.slack.post(
        data,
        "application/json",
        headers={"Authorization": f"Basic {TOKEN}"},
        path="/webhooks/deploy",
    )
    assert answer.status == 401 and _deployments(bot) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not JSON"),
        (b"", "body is not JSON"),
        (json.dumps([_event()]).encode(), "body must be a JSON object"),
        ({k: v for k, v in _event().items() if k != "service"}, "service: Field required"),
        ({k: v for k, v in _event().items() if k != "id"}, "id: Field required"),
        (_event(id=118), "id: Input should be a valid string"),
        (_event(status=["success"]), "status: Input should be a valid string"),
        (_event(deployed_at="2026-11-18T10:00:00"), "deployed_at: needs a zone offset"),
        (_event(deployed_at="yesterday"), "deployed_at: Input should be a valid datetime"),
        (
            _event(changes={"prs": [{"repo": "acme/payments", "number": "12"}]}),
            "changes.prs.0.number: Input should be a valid integer",
        ),
        (_event(changes={"commits": "abc"}), "changes.commits: Input should be a valid array"),
        (_event(changes={"commits": ["9f1c"]}), "is not a full commit SHA"),
        (_event(changes={"issues": ["not a key"]}), "is not a Jira key"),
        (_event(status="exploded"), "status must be one of"),
        (_event(environment=""), "environment: String should have at least 1 character"),
    ],
)
def test_malformed_bodies_are_400_with_the_reason(
    bot: Bot, body: bytes | dict[str, Any], reason: str
) -> None:
    answer = _post(bot, body)
    assert answer.status == 400, answer.body
    assert reason in answer.json()["error"]
    assert _deployments(bot) == [] and _changes(bot) == set()


def _status_of_oversize_request(bot: Bot, length: int) -> int:
    """Send only the headers of a request declaring `length` bytes, as a client would before
    streaming a large body: the server must refuse it without waiting for the body."""
    host, port = bot.server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            (
                "POST /webhooks/deploy HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
            ).encode()
        )
        status_line = conn.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def test_a_body_over_one_megabyte_is_413(bot: Bot) -> None:
    assert _status_of_oversize_request(bot, 1_000_001) == 413
    assert _status_of_oversize_request(bot, 25_000_000) == 413
    assert _deployments(bot) == []
    # Up to the cap is accepted (unknown keys are ignored).
    body = json.dumps(_event(padding="")).encode()
    exact = json.dumps(_event(padding="x" * (1_000_000 - len(body)))).encode()
    assert len(exact) == 1_000_000
    assert _post(bot, exact).status == 201


def test_pending_then_success_then_inactive(bot: Bot) -> None:
    early = _event(status="pending", deployed_at="2026-11-18T09:00:00Z", changes={})
    assert _post(bot, early).status == 201
    [row] = _deployments(bot)
    assert row.status == "pending" and row.deployed_at is None
    assert _post(bot, _event(status="in_progress", changes={})).status == 200
    assert _post(bot, _event(deployed_at="2026-11-18T10:05:00Z")).status == 200
    late = _event(
        status="inactive",
        deployed_at="2026-11-19T10:00:00Z",
        changes={"issues": ["PAY-9"]},
        environment="staging",
    )
    assert _post(bot, late).status == 200
    assert _post(bot, _event(status="failure", deployed_at="2026-11-20T10:00:00Z")).status == 200
    [row] = _deployments(bot)
    assert row.status == "success" and row.environment == "production"
    assert (
        row.deployed_at is not None and row.deployed_at.isoformat() == "2026-11-18T10:05:00+00:00"
    )
    assert ("issue", "PAY-9") in _changes(bot)


def test_without_deployed_at_the_time_is_now(bot: Bot) -> None:
    body = _event()
    del body["deployed_at"]
    assert _post(bot, body).status == 201
    [row] = _deployments(bot)
    assert row.deployed_at == bot.services.clock.now()


def test_a_rollback_may_name_a_deployment_that_arrives_later(bot: Bot) -> None:
    assert _post(bot, _event(id="d-120", rollback_of="d-119", changes={})).status == 201
    assert _post(bot, _event(id="d-119", changes={})).status == 201
    rows = {r.external_id: r for r in _deployments(bot)}
    assert rows["d-120"].rollback_of == "d-119" and "d-119" in rows


def test_the_same_deployment_three_times_at_once_is_one_row(bot: Bot) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _i: _post(bot, _event()), range(3)))
    assert sorted(a.status for a in answers) == [200, 200, 201]
    assert len(_deployments(bot)) == 1
    assert len(_changes(bot)) == 3


def test_without_a_configured_token_everything_is_refused() -> None:
    for header in ("Bearer ", "Bearer x", "", "Bearer None"):
        request = WebRequest("POST", "/webhooks/deploy", {"authorization": header}, b"{}")
        assert not authorized(request, None) and not authorized(request, "")
    good = WebRequest("POST", "/webhooks/deploy", {"authorization": f"bearer  {TOKEN} "}, b"{}")
    assert authorized(good, TOKEN)


class TestWithoutAConfiguredToken:
    @pytest.fixture
    def bot_settings(self) -> dict[str, Any]:
        return {}

    def test_every_request_is_401_not_a_server_error(self, bot: Bot) -> None:
        for token in (None, "", "None", TOKEN):
            assert _post(bot, _event(), token=token).status == 401
        assert _deployments(bot) == []
