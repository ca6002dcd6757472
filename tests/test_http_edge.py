"""The HTTP edge, case by case: whatever a client sends, a 4xx with a short JSON reason, one
log line at most and no traceback; 500 only for a genuine fault, 503 when the database is down.

Most cases run against the real app over HTTP (both databases); the chunked, slow and trickled
bodies run against `chatbot serve` (gunicorn), where they matter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError, OperationalError

from chatbot.root import build_root, build_web
from chatbot.schema import metadata
from chatbot.web.refusals import RefusalLog
from chatbot.web.routes import Router, WebRequest, WebResponse
from tests.cli_helpers import free_port, wait_until_serving
from tests.conftest import Bot, make_settings
from tests.fakes.slack_api import FakeSlack, FakeSlackServer
from tests.http_raw import RawResponse, address, read_response, request_bytes, send
from tests.slack_driver import SIGNING_SECRET, TEAM, AppServer, sign

JIRA_SECRET = "jira-hook-secret"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {
        "jira_webhook_secret": JIRA_SECRET,
        "github_webhook_secret": "github-secret",
        "deploy_webhook_token": "deploy-token",
        "context_http_token": "context-token",
    }


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def _rows(bot: Bot) -> dict[str, int]:
    with bot.services.db.engine.connect() as conn:
        return {
            t.name: conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar_one()
            for t in metadata.sorted_tables
        }


def _signed(body: bytes, content_type: str = FORM) -> list[tuple[str, str]]:
    ts = int(time.time())
    return [
        ("Content-Type", content_type),
        ("X-Slack-Request-Timestamp", str(ts)),
        ("X-Slack-Signature", sign(body, ts)),
    ]


def _post(bot: Bot, path: str, body: bytes, headers: list[tuple[str, str]]) -> RawResponse:
    return send(bot.server.url, request_bytes("POST", path, headers, body))


def _refused_once(
    logs: pytest.LogCaptureFixture, response: RawResponse, status: int, reason: str
) -> None:
    """The answer is `status` with a JSON reason containing `reason`; the log holds exactly one
    line for it (the refusal) and no traceback."""
    assert response.status == status, response.body
    payload = response.json()
    assert payload["ok"] is False and reason in payload["error"], payload
    assert all(r.exc_info is None and "Traceback" not in r.getMessage() for r in logs.records)
    refused = [r for r in logs.records if r.name == "chatbot.web.refused"]
    assert len(refused) == 1, [r.getMessage() for r in logs.records]
    assert reason in refused[0].getMessage()


# --- /slack/events: signature before parsing ---------------------------------------------------


def test_unsigned_payload_that_is_not_json_is_401_not_500(
    bot: Bot, logs: pytest.LogCaptureFixture
) -> None:
    before = _rows(bot)
    body = urlencode({"payload": "{not json"}).encode()
    response = _post(bot, "/slack/events", body, [("Content-Type", FORM)])
    _refused_once(logs, response, 401, "Slack signature")
    bot.settle()
    assert _rows(bot) == before and bot.fake.calls == []


def test_unsigned_json_body_that_is_not_an_object_is_401(
    bot: Bot, logs: pytest.LogCaptureFixture
) -> None:
    response = _post(bot, "/slack/events", b"[1, 2]", [("Content-Type", "application/json")])
    _refused_once(logs, response, 401, "Slack signature")


@pytest.mark.parametrize(
    ("signature", "timestamp"),
    [
        ("v0=" + "é" * 64, None),  # not ASCII: hmac.compare_digest would raise on it
        ("v0=zz", None),
        (None, "not-a-number"),
        (None, "１２３４５"),  # digits Python's int() accepts, Slack never sends
        (None, "-1"),
    ],
)
def test_malformed_signature_headers_are_401(
    bot: Bot, logs: pytest.LogCaptureFixture, signature: str | None, timestamp: str | None
) -> None:
    body = b"command=%2Fintent&text=x"
    headers = dict(_signed(body))
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    response = _post(bot, "/slack/events", body, list(headers.items()))
    _refused_once(logs, response, 401, "Slack signature")


def test_signed_payload_that_bolt_cannot_parse_is_400(
    bot: Bot, logs: pytest.LogCaptureFixture
) -> None:
    body = urlencode({"payload": "{not json"}).encode()
    _refused_once(logs, _post(bot, "/slack/events", body, _signed(body)), 400, "Slack payload")


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'{"type": "event_callback", "event": "not an object"}',
        b'{"type": "block_actions", "user": {"id": "U1"}, "trigger_id": "t", "actions": [1]}',
        b'{"team": 5, "type": "shortcut"}',
    ],
)
def test_signed_json_of_the_wrong_shape_is_400(
    bot: Bot, logs: pytest.LogCaptureFixture, body: bytes
) -> None:
    response = _post(bot, "/slack/events", body, _signed(body, "application/json"))
    _refused_once(logs, response, 400, "Slack payload")


_ENVELOPE = {"team": {"id": TEAM}, "user": {"id": "U1"}, "trigger_id": "t", "api_app_id": "A1"}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        # Each of these reached Bolt or a listener and ended in a 500 or a traceback once.
        (
            {"type": "view_submission", "view": {"id": "V1", "callback_id": "decision_form"}},
            "view without id or type",
        ),
        (
            {
                "type": "view_submission",
                "view": {"id": "V1", "type": "modal", "private_metadata": "0"},
            },
            "private_metadata",
        ),
        (
            {
                "type": "block_actions",
                "actions": [{"action_id": "intent_all_checks", "type": "x", "selected_option": 1}],
            },
            "selected_option",
        ),
        ({"type": "", "event": None}, "event that is not an object"),
    ],
)
def test_signed_payload_without_the_envelope_slack_sends_is_400(
    bot: Bot, logs: pytest.LogCaptureFixture, payload: dict[str, Any], reason: str
) -> None:
    body = urlencode({"payload": json.dumps(_ENVELOPE | payload)}).encode()
    _refused_once(logs, _post(bot, "/slack/events", body, _signed(body)), 400, reason)
    bot.settle()
    assert bot.fake.calls == []


def test_signed_slash_command_without_its_envelope_is_400_and_reaches_no_listener(
    bot: Bot, logs: pytest.LogCaptureFixture
) -> None:
    body = urlencode({"command": "/intent", "text": "Ship", "team_id": TEAM}).encode()
    _refused_once(logs, _post(bot, "/slack/events", body, _signed(body)), 400, "channel_id")
    bot.settle()
    assert bot.fake.calls == []


def test_wrongly_encoded_slack_body_is_refused(bot: Bot, logs: pytest.LogCaptureFixture) -> None:
    body = "command=/intent&text=Caf\u00e9".encode("latin-1")  # Slack sends UTF-8 only
    response = _post(bot, "/slack/events", body, _signed(body))
    _refused_once(logs, response, 401, "Slack signature")


def test_signed_requests_still_work(bot: Bot) -> None:
    assert bot.slack.command("/intent", "Still served").status == 200
    bot.fake.wait_for("chat.postMessage", lambda c: "Still served" in c.params["text"])


# --- body size and length ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/slack/events", "/webhooks/jira"])
def test_body_over_the_cap_is_413_before_reading_it(
    bot: Bot, logs: pytest.LogCaptureFixture, path: str
) -> None:
    # Only the headers are sent: the answer cannot wait for 60 MB that never come.
    raw = request_bytes("POST", path, [("Content-Type", FORM)], b"", str(60_000_000))
    response = send(bot.server.url, raw, timeout=5)
    _refused_once(logs, response, 413, "body over 1000000 bytes")


def test_each_endpoint_has_its_cap() -> None:
    router = Router(None)
    ok = lambda _r: WebResponse.json(200, {"ok": True})  # noqa: E731
    router.add("POST", "/webhooks/github", ok, max_body=25_000_000)
    router.add("POST", "/webhooks/deploy", ok)
    router.add_prefix("POST", "/hooks/", ok, max_body=5)
    router.add("POST", "/hooks/special", ok, max_body=7)
    assert router.max_body("POST", "/webhooks/github") == 25_000_000
    assert router.max_body("POST", "/webhooks/deploy") == 1_000_000
    assert router.max_body("POST", "/hooks/any") == 5
    assert router.max_body("POST", "/hooks/special") == 7  # exact wins over the prefix
    assert router.max_body("GET", "/hooks/any") == 0  # no route, no body read
    server = AppServer(router)
    try:
        over = send(server.url, request_bytes("POST", "/hooks/x", [], b"123456"))
        assert over.status == 413
        assert send(server.url, request_bytes("POST", "/hooks/x", [], b"12345")).status == 200
    finally:
        server.close()


def test_the_real_app_caps_every_webhook(bot: Bot) -> None:
    router, _app = build_web(bot.root)
    caps = {r.path: r.max_body for r in router.routes if r.method == "POST"}
    assert caps["/slack/events"] == 1_000_000
    assert caps["/webhooks/jira"] == 1_000_000
    assert caps["/webhooks/deploy"] == 1_000_000
    assert 25_000_000 <= caps["/webhooks/github"] <= 25 * 1024 * 1024  # GitHub's 25 MB


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "0x10"])
def test_bad_content_length_is_400(bot: Bot, logs: pytest.LogCaptureFixture, length: str) -> None:
    raw = request_bytes("POST", "/webhooks/jira", [("Content-Type", FORM)], b"{}", length)
    _refused_once(logs, send(bot.server.url, raw), 400, "Content-Length")


def test_a_get_body_is_never_read(bot: Bot) -> None:
    # A GET claiming a huge body it never sends is answered at once: nothing waits for it.
    raw = request_bytes("GET", "/healthz", [], b"", str(50_000_000))
    response = send(bot.server.url, raw, timeout=5)
    assert response.status == 200 and response.elapsed < 2


def test_chunked_body_where_the_server_cannot_delimit_it_is_411(
    bot: Bot, logs: pytest.LogCaptureFixture
) -> None:
    # The test server (wsgiref) does not decode chunked bodies; gunicorn does (tested below).
    headers = [("Transfer-Encoding", "chunked")]
    raw = request_bytes("POST", "/webhooks/jira", headers, b"2\r\n{}\r\n0\r\n\r\n", None)
    _refused_once(logs, send(bot.server.url, raw), 411, "Content-Length")


def test_slack_ssl_check_is_answered_unsigned_and_touches_nothing(bot: Bot) -> None:
    before = _rows(bot)
    body = b"ssl_check=1&token=x"
    assert _post(bot, "/slack/events", body, [("Content-Type", FORM)]).status == 200
    with_payload = b"ssl_check=1&payload=%7B%7D"
    assert _post(bot, "/slack/events", with_payload, [("Content-Type", FORM)]).status == 401
    assert _rows(bot) == before


def test_body_shorter_than_its_length_is_400(bot: Bot, logs: pytest.LogCaptureFixture) -> None:
    with socket.create_connection(address(bot.server.url), timeout=5) as sock:
        sock.sendall(request_bytes("POST", "/webhooks/jira", [], b'{"a":', "100"))
        sock.shutdown(socket.SHUT_WR)  # the client gives up half-way
        response = read_response(sock)
    _refused_once(logs, response, 400, "shorter than its Content-Length")


# --- what handlers raise ----------------------------------------------------------------------


class _Boom(Exception):
    pass


def _raising(exc: BaseException):  # noqa: ANN202
    def handler(_request: WebRequest) -> WebResponse:
        raise exc

    return handler


@pytest.fixture
def faulty() -> Iterator[str]:
    router = Router(None)
    router.add("POST", "/json", lambda r: WebResponse.json(200, {"n": len(r.json())}))
    router.add("POST", "/text", lambda r: WebResponse.json(200, {"t": r.body.decode()}))
    router.add("POST", "/value", _raising(ValueError("bad number 'secret-body'")))
    router.add("POST", "/db-down", _raising(OperationalError("SELECT", {}, Exception("down"))))
    router.add("POST", "/db-refused", _raising(DataError("INSERT", {}, Exception("NUL"))))
    router.add("POST", "/bug", _raising(_Boom("secret-body")))
    server = AppServer(router)
    yield server.url
    server.close()


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        ("/json", b"{nope", 400, "not valid JSON"),
        ("/text", b"\xff\xfe", 400, "not valid UTF-8"),
        ("/value", b"x", 400, "malformed request"),
        ("/db-refused", b"x", 400, "cannot be stored"),
    ],
)
def test_parse_errors_in_handlers_are_400(
    faulty: str, logs: pytest.LogCaptureFixture, path: str, body: bytes, status: int, reason: str
) -> None:
    _refused_once(logs, send(faulty, request_bytes("POST", path, [], body)), status, reason)


def test_database_down_is_503_with_one_line(faulty: str, logs: pytest.LogCaptureFixture) -> None:
    response = send(faulty, request_bytes("POST", "/db-down", [], b"x"))
    assert response.status == 503 and "database unavailable" in response.json()["error"]
    (line,) = logs.records
    assert line.exc_info is None and "OperationalError" in line.getMessage()


def test_a_genuine_fault_is_500_with_one_line_and_no_traceback(
    faulty: str, logs: pytest.LogCaptureFixture
) -> None:
    response = send(faulty, request_bytes("POST", "/bug", [], b"secret-body"))
    assert response.status == 500 and response.json() == {"ok": False, "error": "internal error"}
    (line,) = logs.records
    message = line.getMessage()
    assert line.exc_info is None and "_Boom at test_http_edge.py:" in message
    assert "secret-body" not in message  # neither the body nor the exception's text


def test_real_webhook_with_the_database_down_is_503(
    slack_server: FakeSlackServer, logs: pytest.LogCaptureFixture
) -> None:
    from chatbot.services import build_services

    settings = make_settings(
        "sqlite:////nonexistent-dir/down.db",
        slack_server.api_url,
        jira_webhook_secret=JIRA_SECRET,
    )
    services = build_services(settings, migrate=False)
    router, _app = build_web(build_root(services))
    server = AppServer(router)
    try:
        event = {
            "issue": {
                "key": "PAY-1",
                "fields": {"status": {"name": "Done", "statusCategory": {"key": "done"}}},
            },
            "changelog": {"id": "1", "items": [{"field": "status"}]},
        }
        raw = request_bytes(
            "POST",
            f"/webhooks/jira?secret={JIRA_SECRET}",
            [("Content-Type", "application/json")],
            json.dumps(event).encode(),
        )
        response = send(server.url, raw)
    finally:
        server.close()
        services.db.engine.dispose()
    assert response.status == 503, response.body
    assert response.json()["error"] == "database unavailable, retry later"
    assert all(r.exc_info is None for r in logs.records)


# --- other endpoints --------------------------------------------------------------------------


def test_unknown_path_and_wrong_method(bot: Bot, logs: pytest.LogCaptureFixture) -> None:
    missing = send(bot.server.url, request_bytes("GET", "/wp-login.php", [], b""))
    assert missing.status == 404 and missing.json()["error"] == "no such endpoint"
    wrong = send(bot.server.url, request_bytes("PUT", "/webhooks/jira", [], b"{}"))
    assert wrong.status == 405 and "not allowed" in wrong.json()["error"]
    assert all(r.exc_info is None for r in logs.records)


def test_jira_signature_header_that_is_not_ascii_is_401(
    bot: Bot, logs: pytest.LogCaptureFixture
) -> None:
    body = b'{"issue": {}}'
    headers = [("Content-Type", "application/json"), ("X-Hub-Signature", "sha256=" + "é" * 64)]
    _refused_once(logs, _post(bot, "/webhooks/jira", body, headers), 401, "secret")


def test_jira_body_that_is_not_utf8_or_json_is_400(
    bot: Bot, logs: pytest.LogCaptureFixture
) -> None:
    body = b"\xff\xfe{}"
    digest = hmac.new(JIRA_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = [("Content-Type", "application/json"), ("X-Hub-Signature", "sha256=" + digest)]
    response = _post(bot, "/webhooks/jira", body, headers)
    assert response.status == 400 and response.json()["ok"] is False


def test_context_pack_with_a_nul_in_the_name_is_4xx(
    bot: Bot, logs: pytest.LogCaptureFixture
) -> None:
    # PostgreSQL refuses NUL in text: the lookup of such a team name must still be a 4xx.
    headers = [("Authorization", "Bearer context-token")]
    response = send(bot.server.url, request_bytes("GET", "/context/a%00b.md", headers, b""))
    assert response.status in {400, 404}, response.body
    unauthorized = send(bot.server.url, request_bytes("GET", "/context/a%00b.md", [], b""))
    assert unauthorized.status == 401
    assert all(r.exc_info is None for r in logs.records)


# --- log hygiene ------------------------------------------------------------------------------


def test_the_body_never_reaches_the_log(bot: Bot, logs: pytest.LogCaptureFixture) -> None:
    marker = "body-marker-9Z"
    for path in ("/slack/events", "/webhooks/jira", "/webhooks/github", "/webhooks/deploy"):
        body = urlencode({"payload": marker, "x": marker}).encode()
        assert _post(bot, path, body, [("Content-Type", FORM)]).status in {400, 401}
    assert logs.records and all(marker not in r.getMessage() for r in logs.records)


@pytest.mark.drill
def test_refusal_lines_are_rate_limited() -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("test.refusals")
    logger.propagate = False
    logger.addHandler(Collect())
    now = [0.0]
    refusals = RefusalLog(per_minute=10, logger=logger, now=lambda: now[0])
    for _ in range(1000):
        refusals.refused("POST", "/slack/events", 401, "bad signature", "10.0.0.1")
    assert len(lines) == 10 and refusals.suppressed == 990
    assert lines[0] == "refused POST /slack/events: 401 bad signature from 10.0.0.1"
    now[0] += 6.0  # one token back after a tenth of a minute
    refusals.refused("POST", "/slack/events\n FAKE LINE", 401, "x", "10.0.0.1")
    assert len(lines) == 11 and "(990 more refusals not logged)" in lines[-1]
    assert "\n" not in lines[-1]  # a client cannot forge a log line through the path
    refusals.refused("POST", "/slack/events", 401, "x", "10.0.0.1")
    assert len(lines) == 11 and refusals.suppressed == 1


# --- under gunicorn: chunked, slow and trickled bodies ----------------------------------------


@pytest.fixture
def served(
    tmp_path: Path, slack_server: FakeSlackServer, fake_slack: FakeSlack
) -> Iterator[tuple[str, Path]]:
    """`chatbot serve` with a 2 s body deadline and 4 threads; yields its URL and its log."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-edge-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_server.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "WEB_THREADS": "4",
        "HTTP_BODY_TIMEOUT_SECONDS": "2",
    }
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatbot", "serve", "--host", "127.0.0.1", "--no-clock"],
            env=env,
            cwd=tmp_path,
            stderr=log_file,
        )
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(proc, url, log_path.read_text)
        try:
            yield url, log_path
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    log = log_path.read_text()
    assert "Traceback" not in log, log
    assert "xoxb-edge-test" not in log and SIGNING_SECRET not in log


def _chunked(body: bytes, size: int = 1000) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"


def test_chunked_bodies_are_read_up_to_the_cap(
    served: tuple[str, Path], slack_server: FakeSlackServer, fake_slack: FakeSlack
) -> None:
    url, _log = served
    form = {
        "command": "/intent",
        "text": "Chunked",
        "team_id": TEAM,
        "channel_id": "C1",
        "user_id": "U1",
        "trigger_id": "t-1",
        "response_url": slack_server.response_url("chunked"),
    }
    body = urlencode(form).encode()
    headers = [*_signed(body), ("Transfer-Encoding", "chunked")]
    ok = send(url, request_bytes("POST", "/slack/events", headers, _chunked(body, 40), None))
    assert ok.status == 200
    fake_slack.wait_for("chat.postMessage", lambda c: "Chunked" in c.params.get("text", ""))
    big = b"x" * 1_200_000
    headers = [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
    over = send(url, request_bytes("POST", "/webhooks/jira", headers, _chunked(big, 65536), None))
    assert over.status == 413 and "body over" in over.json()["error"]


def _health(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url + "/healthz", timeout=5) as resp:
        assert resp.status == 200
    return time.perf_counter() - start


def test_a_stalled_body_times_out_without_holding_the_server(served: tuple[str, Path]) -> None:
    url, log = served
    stalled = []
    for _ in range(3):  # 3 of the 4 threads, each waiting for half a body
        sock = socket.create_connection(address(url), timeout=10)
        sock.sendall(request_bytes("POST", "/webhooks/jira", [], b'{"half":', "200"))
        stalled.append(sock)
    started = time.monotonic()
    assert _health(url) < 1.0  # answered meanwhile
    answers = [read_response(sock) for sock in stalled]
    waited = time.monotonic() - started
    for sock in stalled:
        sock.close()
    assert [a.status for a in answers] == [408, 408, 408]
    assert "not received within 2 s" in answers[0].json()["error"]
    assert waited < 6  # the 2 s deadline, not the 30 s worker timeout
    assert _health(url) < 1.0
    assert "408 body not received" in log.read_text()


def test_connections_stalled_mid_header_do_not_hold_the_threads(served: tuple[str, Path]) -> None:
    url, log = served
    stalled = []
    for _ in range(6):  # more than the 4 threads, each sending half a header
        sock = socket.create_connection(address(url), timeout=10)
        sock.sendall(b"POST /webhooks/jira HTTP/1.1\r\nHost: x\r\nContent-Le")
        stalled.append(sock)
    started = time.monotonic()
    _health(url)  # answered once the stalled connections are dropped (2 s), not never
    assert time.monotonic() - started < 6
    for sock in stalled:
        assert sock.recv(100) == b""  # dropped without an answer
        sock.close()
    assert "client stopped sending" in log.read_text()


def test_a_trickled_body_is_cut_at_the_deadline(served: tuple[str, Path]) -> None:
    """One byte every 0.3 s never trips a per-read timeout; the whole-body deadline cuts it."""
    url, _log = served
    with socket.create_connection(address(url), timeout=10) as sock:
        sock.sendall(request_bytes("POST", "/webhooks/jira", [], b"", "100"))
        started = time.monotonic()
        answered: RawResponse | None = None
        sock.setblocking(False)
        while time.monotonic() - started < 8:
            try:
                sock.send(b"x")
            except OSError:
                break
            time.sleep(0.3)  # the client's pace, not a wait for the server
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except BlockingIOError:
                continue
        sock.setblocking(True)
        answered = read_response(sock)
        waited = time.monotonic() - started
    assert answered.status == 408 and waited < 5


# --- status lines ------------------------------------------------------------------------------


def _status_line(router: Router, method: str, path: str) -> str:
    lines: list[str] = []
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": "0"}
    router(environ, lambda status, _headers: lines.append(status))
    return lines[0]


def test_status_lines_carry_the_standard_reason_phrase() -> None:
    router = Router(None)
    router.add("POST", "/teapot", lambda _r: WebResponse.json(418, {"ok": False}))
    router.add("POST", "/odd", lambda _r: WebResponse.json(299, {"ok": True}))
    assert _status_line(router, "GET", "/healthz") == "200 OK"
    assert _status_line(router, "GET", "/nowhere") == "404 Not Found"
    assert _status_line(router, "GET", "/teapot") == "405 Method Not Allowed"
    assert _status_line(router, "POST", "/teapot") == "418 I'm a Teapot"
    # A code without a standard phrase still makes a status line a client can parse.
    assert _status_line(router, "POST", "/odd") == "299 Unknown"
