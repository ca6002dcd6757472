"""POST /webhooks/github refuses what it cannot trust or read, and stores nothing then."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import pytest

from chatbot.db.core_models import ProcessedEvent
from chatbot.github.models import GitCommit, PullRequest, PullRequestReview
from chatbot.web.github_webhook import GITHUB_MAX_BODY, register_routes
from chatbot.web.routes import Router
from tests.conftest import Bot
from tests.fakes.github_events import (
    PullRequestState,
    deployment_status_event,
    encode,
    pull_request_event,
    push_event,
    review_event,
    sha,
    signed_headers,
)
from tests.github_helpers import REPO, SECRET, add_team, count, deliver


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"github_webhook_secret": SECRET}


def opened() -> dict[str, Any]:
    return pull_request_event("opened", PullRequestState(REPO, 7))


def nothing_stored(bot: Bot) -> bool:
    db = bot.services.db
    return all(count(db, m) == 0 for m in (PullRequest, ProcessedEvent, GitCommit))


def test_missing_or_wrong_signature_is_refused(bot: Bot) -> None:
    add_team(bot)
    assert deliver(bot, "pull_request", opened(), secret=None).status == 401
    assert deliver(bot, "pull_request", opened(), secret="not-the-secret").status == 401
    body = encode(opened())
    legacy = {"X-Hub-Signature-256": "sha1=" + sha(body)}  # only sha256 is accepted
    assert deliver(bot, "pull_request", raw=body, headers=legacy).status == 401
    # A signature over other bytes than the ones sent.
    tampered = signed_headers("pull_request", body, SECRET)["X-Hub-Signature-256"]
    changed = body.replace(b"Add retries", b"Add Retries")
    answer = deliver(bot, "pull_request", raw=changed, headers={"X-Hub-Signature-256": tampered})
    assert answer.status == 401
    assert nothing_stored(bot)


def test_signature_is_checked_before_the_body_is_read(bot: Bot) -> None:
    answer = deliver(bot, "pull_request", raw=b"{not json", secret="wrong")
    assert answer.status == 401
    assert answer.body == {"ok": False, "error": "bad or missing signature"}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
    ],
)
def test_unreadable_bodies_are_400(bot: Bot, raw: bytes, reason: str) -> None:
    add_team(bot)
    answer = deliver(bot, "pull_request", raw=raw)
    assert answer.status == 400 and reason in answer.body["error"]
    assert answer.body["ok"] is False and set(answer.body) == {"ok", "error"}
    assert nothing_stored(bot)


def test_a_body_that_is_not_json_is_told_so_exactly(bot: Bot) -> None:
    add_team(bot)
    answer = deliver(bot, "pull_request", raw=b"{not json")
    assert (answer.status, answer.body) == (400, {"ok": False, "error": "body is not JSON"})


def _without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    node = payload
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return payload


def _set(payload: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    node = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return payload


@pytest.mark.parametrize(
    ("event", "payload", "reason"),
    [
        ("pull_request", _without(opened(), "pull_request"), "missing field pull_request"),
        ("pull_request", _without(opened(), "repository"), "missing field repository"),
        (
            "pull_request",
            _without(opened(), "pull_request", "head"),
            "missing field pull_request.head",
        ),
        ("pull_request", _set(opened(), "7", "pull_request", "number"), "pull_request.number"),
        ("pull_request", _set(opened(), 12, "pull_request", "title"), "pull_request.title"),
        ("pull_request", _set(opened(), "yes", "pull_request", "draft"), "pull_request.draft"),
        (
            "pull_request",
            _set(opened(), "2026-11-16T09:00:00", "pull_request", "created_at"),
            "no zone offset",
        ),
        (
            "pull_request",
            _set(opened(), "last tuesday", "pull_request", "updated_at"),
            "not an ISO 8601 time",
        ),
        ("pull_request", _set(opened(), [], "repository"), "repository must be an object"),
        (
            "pull_request_review",
            _without(review_event("submitted", PullRequestState(REPO, 7), 1), "review", "id"),
            "missing field review.id",
        ),
        (
            "push",
            _set(push_event(REPO, "main", []), "abc", "commits"),
            "commits must be a list",
        ),
        (
            "push",
            _set(push_event(REPO, "main", [(sha(1), "2026-11-15T08:00:00Z")]), 5, "ref"),
            "ref must be a string",
        ),
    ],
)
def test_missing_fields_and_wrong_types_are_400_with_the_reason(
    bot: Bot, event: str, payload: dict[str, Any], reason: str
) -> None:
    add_team(bot)
    answer = deliver(bot, event, payload)
    assert answer.status == 400
    assert reason in answer.body["error"]
    assert nothing_stored(bot) and count(bot.services.db, PullRequestReview) == 0


def _push() -> dict[str, Any]:
    return push_event(REPO, "main", [(sha(1), "2026-11-15T08:00:00Z")])


@pytest.mark.parametrize(
    ("event", "payload", "reason"),
    [
        (
            "pull_request",
            _set(opened(), 0, "pull_request", "number"),
            "pull_request.number must be a positive number",
        ),
        (
            "pull_request",
            _set(opened(), True, "pull_request", "number"),
            "pull_request.number must be a whole number",
        ),
        (
            "pull_request",
            _set(opened(), "merged", "pull_request", "state"),
            "pull_request.state must be open or closed",
        ),
        (
            "pull_request",
            _set(opened(), "payments", "repository", "full_name"),
            "repository.full_name must look like owner/name",
        ),
        ("pull_request", _set(opened(), 7, "action"), "action must be a string"),
        (
            "pull_request",
            _set(opened(), [{"id": 1}], "pull_request", "labels"),
            "missing field pull_request.labels[0].name",
        ),
        (
            "pull_request",
            _set(opened(), ["ai"], "pull_request", "labels"),
            "pull_request.labels[0] must be an object",
        ),
        (
            "pull_request",
            _set(opened(), "bob", "pull_request", "user"),
            "pull_request.user must be an object",
        ),
        (
            "pull_request",
            _set(opened(), [], "pull_request", "head", "repo"),
            "pull_request.head.repo must be an object",
        ),
        (
            "pull_request",
            _set(opened(), 5, "pull_request", "merged_at"),
            "pull_request.merged_at must be a string",
        ),
        (
            "pull_request",
            _set(opened(), "2026-11-16T09:00:00", "pull_request", "created_at"),
            "pull_request.created_at has no zone offset",
        ),
        (
            "pull_request_review",
            _set(review_event("submitted", PullRequestState(REPO, 7), 1), -2, "review", "id"),
            "review.id must be a positive number",
        ),
        ("push", _set(_push(), "abc", "commits", 0, "id"), "commits[0].id must be a commit SHA"),
        (
            "push",
            _set(_push(), "me", "commits", 0, "author"),
            "commits[0].author must be an object",
        ),
        ("push", _set(_push(), "yes", "deleted"), "deleted must be true or false"),
        (
            "deployment_status",
            _set(deployment_status_event(REPO, 42, "success"), "42", "deployment", "id"),
            "deployment.id must be a whole number",
        ),
        (
            "deployment_status",
            _without(
                deployment_status_event(REPO, 42, "success"), "deployment_status", "created_at"
            ),
            "missing field deployment_status.created_at",
        ),
    ],
)
def test_each_refusal_names_the_field_and_what_it_must_be(
    bot: Bot, event: str, payload: dict[str, Any], reason: str
) -> None:
    add_team(bot)
    answer = deliver(bot, event, payload)
    assert (answer.status, answer.body) == (400, {"ok": False, "error": reason})
    assert nothing_stored(bot)


def test_unknown_events_and_actions_are_accepted_and_ignored(bot: Bot) -> None:
    add_team(bot)
    assert deliver(bot, "issues", {"action": "opened"}).status == 202
    locked = pull_request_event("locked", PullRequestState(REPO, 7))
    assert deliver(bot, "pull_request", locked).status == 202
    assert deliver(bot, "", {"zen": "x"}, headers={"X-GitHub-Event": ""}).status == 202
    assert nothing_stored(bot)


def test_no_secret_configured_is_503_with_the_reason(bot: Bot) -> None:
    bot.services.settings.github_webhook_secret = None
    answer = deliver(bot, "pull_request", opened())
    assert answer.status == 503
    assert answer.body == {"ok": False, "error": "GITHUB_WEBHOOK_SECRET is not set on the server"}


def _call(router: Router, body: bytes, length: int, headers: dict[str, str]) -> tuple[str, Any]:
    seen: dict[str, str] = {}

    def start_response(status: str, _headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/webhooks/github",
        "CONTENT_LENGTH": str(length),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }
    answer = b"".join(router(environ, start_response))
    return seen["status"], json.loads(answer)


def test_bodies_up_to_githubs_25_mb_cap_are_read_larger_are_413(bot: Bot) -> None:
    add_team(bot)
    router = Router(None)
    register_routes(router, bot.services)
    body = encode(push_event(REPO, "main", [(sha(1), "2026-11-15T08:00:00Z")]))
    at_cap = body + b" " * (GITHUB_MAX_BODY - len(body))  # JSON allows trailing spaces
    headers = signed_headers("push", at_cap, SECRET)
    status, _ = _call(router, at_cap, len(at_cap), headers)
    assert status.startswith("200")
    over = at_cap + b" "
    status, answer = _call(router, over, len(over), signed_headers("push", over, SECRET))
    assert status.startswith("413") and answer["ok"] is False


def test_the_same_delivery_three_times_at_once_is_one_row(bot: Bot) -> None:
    add_team(bot)
    pr = PullRequestState(REPO, 7)
    payloads = [
        ("pull_request", pull_request_event("opened", pr), "same-1"),
        ("pull_request_review", review_event("submitted", pr, 9), "same-2"),
        ("push", push_event(REPO, "b", [(sha("x"), "2026-11-15T08:00:00Z")]), "same-3"),
    ]
    # Three at once with one delivery id, then three at once with none (plain replays).
    for event, payload, delivery in payloads + [(e, p, "") for e, p, _ in payloads]:
        assert _three_at_once(bot, event, payload, delivery) == [200, 200, 200]
    db = bot.services.db
    assert count(db, ProcessedEvent) == 3
    assert (count(db, PullRequest), count(db, PullRequestReview), count(db, GitCommit)) == (1, 1, 1)


def _three_at_once(bot: Bot, event: str, payload: dict[str, Any], delivery: str) -> list[int]:
    gate = threading.Barrier(3)
    answers: list[int] = []
    headers = {} if delivery else {"X-GitHub-Delivery": ""}

    def send() -> None:
        gate.wait()
        answers.append(deliver(bot, event, payload, delivery=delivery, headers=headers).status)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers
