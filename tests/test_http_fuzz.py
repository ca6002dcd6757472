"""Fuzz the HTTP edge: generated bodies, content types and headers, signed and unsigned, sent
over real HTTP to every route the router has registered (routes added later are fuzzed too).

For every request: no 5xx, a 4xx carries a short JSON reason, no traceback and no piece of the
body in the log, and an unsigned request stores nothing (row counts of every table unchanged).

The CI profile runs a short campaign; a long one:
    HYPOTHESIS_PROFILE=fuzz-long .venv/bin/pytest tests/test_http_fuzz.py
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from chatbot.agents.models import AgentToken
from chatbot.agents.tokens import hash_secret
from chatbot.root import build_web
from chatbot.schema import metadata
from chatbot.settings import Settings
from chatbot.web.routes import Route
from tests.conftest import Bot
from tests.http_raw import request_bytes, send
from tests.slack_driver import SIGNING_SECRET, TEAM, sign

# Settings that authenticate an incoming request (Slack signing secret, webhook secrets, bearer
# tokens). All get the same value, so one set of credentials passes any route's check.
_INBOUND_AUTH = ("_signing_secret", "_webhook_secret", "_webhook_token", "_http_token")
MARKER = "fuzzmarker7Q"
# Stands for the fake Slack's response_url (its port is known only when the test runs), so a
# listener's answer on the response_url reaches the fake instead of failing.
RESPONSE_URL = "http://respond.placeholder/fuzz"

# CI replays the same examples every run (derandomize): a red build is a regression, not a new
# find; the long profile explores randomly and keeps what it finds in .hypothesis/.
settings.register_profile(
    "fuzz-ci",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "fuzz-long",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "5000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
PROFILE = settings.get_profile(
    "fuzz-long" if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz-long" else "fuzz-ci"
)


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    secrets = {
        name: SIGNING_SECRET
        for name in Settings.model_fields
        if name.endswith(_INBOUND_AUTH) and name != "slack_signing_secret"
    }
    # The campaign sends many MCP calls a minute; the rate limit has its own test. The bot's
    # ids are known, so no background auth.test writes its answer into sync_state while an
    # unsigned request's row counts are compared (that write is the identity's, not the
    # request's; it made this test flaky).
    return secrets | {
        "mcp_calls_per_minute": 10_000,
        "slack_bot_user_id": "UBOT",
        "slack_bot_id": "BBOT",
    }


# --- what a client can send -------------------------------------------------------------------

_slack_types = st.sampled_from(
    [
        "block_actions",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "block_suggestion",
        "event_callback",
        "url_verification",
        "app_rate_limited",
        "",
    ]
)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
_slack_keys = st.sampled_from(
    [
        "type",
        "team",
        "user",
        "channel",
        "event",
        "actions",
        "view",
        "message",
        "container",
        "callback_id",
        "trigger_id",
        "response_url",
        "token",
        "authorizations",
        "enterprise",
        "api_app_id",
        "state",
        "challenge",
        "is_enterprise_install",
    ]
)


@st.composite
def slack_like(draw: st.DrawFn) -> dict[str, Any]:
    """An object shaped like a Slack payload, with fields of any type where Slack has one."""
    payload: dict[str, Any] = draw(st.dictionaries(_slack_keys, _json, max_size=6))
    if draw(st.booleans()):
        payload["type"] = draw(_slack_types)
    if draw(st.booleans()):
        payload["event"] = {"type": draw(st.sampled_from(["message", "app_mention", "x"]))} | (
            draw(st.dictionaries(_slack_keys, _json, max_size=3))
        )
    payload["note"] = MARKER
    return payload


@st.composite
def command_form(draw: st.DrawFn) -> dict[str, str]:
    fields = {
        "command": draw(
            st.sampled_from(["/intent", "/decision", "/context", "/digest", "/x"]) | st.text()
        ),
        "text": draw(st.text(max_size=60)),
        "team_id": TEAM,
        "channel_id": draw(st.sampled_from(["C1", ""]) | st.text(max_size=8)),
        "user_id": draw(st.sampled_from(["U1", ""]) | st.text(max_size=8)),
        "trigger_id": "trig-fuzz",
        "response_url": RESPONSE_URL,
        "note": MARKER,
    }
    if draw(st.integers(0, 4)) == 0:
        dropped = draw(st.sets(st.sampled_from(sorted(fields))))
        return {k: v for k, v in fields.items() if k not in dropped or k == "note"}
    return fields


def _listener_ids() -> list[str]:
    """Every action and view id the app's listeners answer to (enums in chatbot/slack/ids.py),
    so generated payloads reach the listeners, not only Bolt's 404."""
    from enum import StrEnum

    from chatbot.slack import ids

    found = [
        str(member)
        for value in vars(ids).values()
        if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum
        for member in value
    ]
    return sorted(set(found)) + ["digest_explain_page", "digest_explain_x", "checkin_interrupts"]


_ids = st.sampled_from(_listener_ids()) | st.text(max_size=12)
_user = st.fixed_dictionaries({"id": st.sampled_from(["U1", "U2"]) | st.text(max_size=6)})


@st.composite
def interactive(draw: st.DrawFn) -> dict[str, Any]:
    """A block_actions or view_submission with a sound envelope and anything inside."""
    envelope: dict[str, Any] = {
        "team": {"id": TEAM},
        "user": draw(_user),
        "trigger_id": "trig-fuzz",
        "api_app_id": "A1",
        "response_url": RESPONSE_URL,
        "note": MARKER,
    }
    state = draw(
        st.dictionaries(
            st.text(max_size=8),
            st.dictionaries(st.text(max_size=8), st.dictionaries(st.text(max_size=8), _json)),
            max_size=3,
        )
    )
    view = {
        "id": "V1",
        "type": "modal",
        "callback_id": draw(_ids),
        "private_metadata": draw(st.text(max_size=40) | _json.map(json.dumps)),
        "state": {"values": state},
    }
    if draw(st.booleans()):
        action = {"action_id": draw(_ids), "type": "button", "block_id": "b"}
        action |= draw(st.dictionaries(st.sampled_from(["value", "selected_option"]), _json))
        if draw(st.booleans()):
            action["value"] = draw(st.text(max_size=20) | _json.map(json.dumps))
        envelope |= {"type": "block_actions", "actions": [action]}
        if draw(st.booleans()):
            envelope["view"] = view
            envelope["container"] = {"type": "view", "view_id": "V1"}
        else:
            ts = draw(st.sampled_from(["1.0", "x"]))
            envelope["channel"] = {"id": draw(st.sampled_from(["C1", "D1"]))}
            envelope["message"] = {"ts": ts, "text": ""}
            envelope["container"] = {"type": "message", "message_ts": ts, "channel_id": "C1"}
    else:
        envelope |= {"type": "view_submission", "view": view}
    return envelope


@st.composite
def message_event(draw: st.DrawFn) -> dict[str, Any]:
    event = {
        "type": draw(st.sampled_from(["message", "app_mention"])),
        "channel": draw(st.sampled_from(["C1", "D1"])),
        "user": draw(st.sampled_from(["U1", "U2"])),
        "text": draw(st.text(max_size=60)),
        "ts": "2.0",
        "note": MARKER,
    }
    if draw(st.booleans()):
        event["thread_ts"] = "1.0"
    return {"type": "event_callback", "team_id": TEAM, "event_id": "Ev1", "event": event}


_mcp_methods = st.sampled_from(
    [
        "initialize",
        "notifications/initialized",
        "server/discover",
        "ping",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/templates/list",
        "resources/read",
    ]
) | st.text(max_size=20)
_tool_names = st.sampled_from(
    [
        "find_context",
        "get_intent",
        "context_pack",
        "decisions",
        "digest",
        "log_decision",
        "post_progress",
        "propose_evidence",
    ]
) | st.text(max_size=12)


@st.composite
def mcp_message(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON-RPC message shaped like MCP, with anything in its params."""
    method = draw(_mcp_methods)
    message: dict[str, Any] = {
        "jsonrpc": draw(st.sampled_from(["2.0", "1.0", ""])),
        "method": method,
    }
    if draw(st.integers(0, 4)):
        message["id"] = draw(st.integers() | st.text(max_size=8) | st.none())
    params: Any = draw(st.dictionaries(st.text(max_size=10), _json, max_size=3) | _json)
    if method == "tools/call" and draw(st.booleans()):
        params = {"name": draw(_tool_names), "arguments": draw(_json), "note": MARKER}
    elif method == "resources/read" and draw(st.booleans()):
        params = {"uri": draw(st.sampled_from(["throughline://pack/x", "x"]) | st.text())}
    if draw(st.booleans()):
        message["params"] = params
    return message


_bodies = st.one_of(
    mcp_message().map(lambda v: json.dumps(v).encode()),
    interactive().map(lambda v: urlencode({"payload": json.dumps(v)}).encode()),
    message_event().map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=600),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    _json.map(lambda v: json.dumps(v).encode()),
    slack_like().map(lambda v: json.dumps(v).encode()),
    slack_like().map(lambda v: urlencode({"payload": json.dumps(v)}).encode()),
    st.text(max_size=80).map(lambda t: urlencode({"payload": t, "n": MARKER}).encode()),
    command_form().map(lambda f: urlencode(f).encode()),
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5).map(
        lambda d: urlencode(d).encode()
    ),
    st.sampled_from([b"", b"{", b"[]", b"null", b"payload=", b"payload=%FF", b"\xff\xfe{}"]),
)
_content_types = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
        "application/json\x7f",
    ]
)
_header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
)
_header_names = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-"), min_size=1, max_size=20)


@dataclass
class Attempt:
    route: Route
    method: str
    path: str
    query: str
    body: bytes
    content_type: str
    headers: list[tuple[str, str]]
    content_length: str
    signed: bool


def _auth_headers(body: bytes) -> list[tuple[str, str]]:
    """Credentials for every kind of inbound check, all with the one shared secret."""
    ts = int(time.time())
    digest = hmac.new(SIGNING_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return [
        ("X-Slack-Request-Timestamp", str(ts)),
        ("X-Slack-Signature", sign(body, ts)),
        ("X-Hub-Signature-256", "sha256=" + digest),
        ("X-Hub-Signature", "sha256=" + digest),
        ("X-Throughline-Secret", SIGNING_SECRET),
        ("Authorization", f"Bearer {SIGNING_SECRET}"),
    ]


@st.composite
def attempts(draw: st.DrawFn, routes: list[Route]) -> Attempt:
    route = draw(st.sampled_from(routes))
    method = draw(st.sampled_from([route.method] * 12 + ["GET", "POST", "PUT", "DELETE"]))
    path = route.path
    if route.prefix:
        suffix = draw(
            st.sampled_from(["team.md", "x", "", "a/b.md", "%00.md", "..%2F.md"])
            | st.text(max_size=20).map(lambda t: quote(t, safe="") + ".md")
        )
        path += suffix
    elif draw(st.integers(0, 9)) == 0:
        path += draw(st.sampled_from(["/", "x", "%2e%2e"]))
    signed = draw(st.booleans())
    query = draw(
        st.sampled_from(["", "key=PAY-1", "team=x"])
        | st.dictionaries(st.text(max_size=6), st.text(max_size=10), max_size=3).map(urlencode)
    )
    if signed and draw(st.booleans()):
        query = "&".join(filter(None, [query, f"secret={SIGNING_SECRET}"]))
    body = draw(_bodies)
    headers = draw(st.lists(st.tuples(_header_names, _header_text), max_size=3))
    headers = [(k, v) for k, v in headers if k.lower() not in {"content-length", "host"}]
    headers = [(f"X-Fuzz-{k}", v) for k, v in headers]
    if not signed:
        # Unsigned, but with the headers an outsider would try: malformed or stale signatures.
        headers += draw(
            st.lists(
                st.tuples(
                    st.sampled_from(
                        [
                            "X-Slack-Signature",
                            "X-Slack-Request-Timestamp",
                            "X-Hub-Signature-256",
                            "X-Hub-Signature",
                            "Authorization",
                        ]
                    ),
                    st.sampled_from(["v0=", "sha256=00", "Bearer x", "0", "-1", "１２３"])
                    | _header_text,
                ),
                max_size=3,
                unique_by=lambda h: h[0],
            )
        )
    if route.path == "/mcp":
        # What an MCP client sends besides the body, right or wrong.
        headers += draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["Accept", "Mcp-Protocol-Version", "Mcp-Session-Id"]),
                    st.sampled_from(
                        ["application/json, text/event-stream", "2025-11-25", "2026-07-28"]
                    )
                    | _header_text,
                ),
                max_size=3,
                unique_by=lambda h: h[0],
            )
        )
    content_type = draw(_content_types)
    if content_type:
        headers.append(("Content-Type", content_type))
    # Declared lengths that are not numbers; a number that lies is a hand-written test (it
    # waits for the body deadline).
    content_length = draw(st.sampled_from(["auto"] * 15 + ["abc", "-1", "1e3", "+5", "0x10", ""]))
    return Attempt(route, method, path, query, body, content_type, headers, content_length, signed)


# --- the check --------------------------------------------------------------------------------


def _row_counts(bot: Bot) -> dict[str, int]:
    names = [t.name for t in metadata.sorted_tables]
    union = " UNION ALL ".join(f"SELECT '{n}', count(*) FROM \"{n}\"" for n in names)
    with bot.services.db.engine.connect() as conn:
        return {name: count for name, count in conn.execute(text(union))}


def _exercise(bot: Bot, caplog: pytest.LogCaptureFixture, attempt: Attempt) -> None:
    bot.settle()
    before = _row_counts(bot) if not attempt.signed else None
    seen = len(caplog.records)
    target = attempt.path + (f"?{attempt.query}" if attempt.query else "")
    length = None if attempt.content_length == "" else attempt.content_length
    respond = bot.slack.response_url
    body = attempt.body.replace(
        quote(RESPONSE_URL, safe="").encode(), quote(respond, safe="").encode()
    )
    headers = attempt.headers + (_auth_headers(body) if attempt.signed else [])
    raw = request_bytes(attempt.method, target, headers, body, length)
    response = send(bot.server.url, raw)

    signed = "signed" if attempt.signed else "unsigned"
    event(f"{attempt.method} {attempt.route.endpoint} {signed} -> {response.status}")
    assert response.status < 500, (response.status, response.body[:200])
    if attempt.route.path == "/mcp" and not attempt.signed:
        # No valid token: refused before the body is parsed, so nothing reaches a tool.
        assert response.status >= 400, (response.status, response.body[:200])
    if 400 <= response.status < 500:
        reason = response.json()
        if attempt.route.path == "/mcp" and attempt.method == "POST" and "jsonrpc" in reason:
            # MCP answers refusals as JSON-RPC errors, which MCP clients show to people.
            message = reason["error"]["message"]
            assert 0 < len(message) <= 300 and "Traceback" not in message
        else:
            assert reason["ok"] is False and 0 < len(reason["error"]) <= 120
    bot.settle()
    if before is not None:
        assert _row_counts(bot) == before, "an unsigned request stored something"
    new = caplog.records[seen:]
    for record in new:
        message = record.getMessage()
        assert record.exc_info is None and "Traceback" not in message, message
        assert MARKER not in message, f"the body reached the log: {message}"
        assert SIGNING_SECRET not in message
    refusals = [r for r in new if r.name == "chatbot.web.refused"]
    assert len(refusals) <= 1


def _agent_token_for_the_shared_secret(bot: Bot) -> None:
    """A live agent token whose secret is the shared one, so "signed" /mcp requests are
    authenticated and their bodies reach the MCP server and its tools."""
    now = bot.services.clock.now()
    with bot.services.db.session() as s:
        s.add(
            AgentToken(
                user_id="U1",
                name="fuzz",
                secret_hash=hash_secret(SIGNING_SECRET),
                created_at=now,
                expires_at=now + timedelta(days=90),
            )
        )


def test_no_input_makes_any_endpoint_fail(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _agent_token_for_the_shared_secret(bot)
    router, _app = build_web(bot.root)
    routes = router.routes
    assert {r.path for r in routes} >= {"/slack/events", "/healthz", "/webhooks/jira", "/mcp"}

    @settings(PROFILE)
    @given(attempt=attempts(routes))
    def one(attempt: Attempt) -> None:
        _exercise(bot, caplog, attempt)

    one()


def test_signed_slack_payloads_of_any_shape_are_answered(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """Correctly signed but malformed Slack requests reach Bolt and the listeners: still no
    5xx and no traceback."""
    caplog.set_level(logging.INFO)
    router, _app = build_web(bot.root)
    (slack,) = [r for r in router.routes if r.path == "/slack/events"]

    @settings(PROFILE)
    @given(attempt=attempts([slack]), body=_bodies, content_type=_content_types)
    def one(attempt: Attempt, body: bytes, content_type: str) -> None:
        headers = [h for h in attempt.headers if h[0].startswith("X-Fuzz-")]
        if content_type:
            headers.append(("Content-Type", content_type))
        _exercise(
            bot,
            caplog,
            Attempt(slack, "POST", slack.path, "", body, content_type, headers, "auto", True),
        )

    one()


def test_authenticated_mcp_messages_of_any_shape_are_answered(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """MCP requests with a live token and the headers a client sends, carrying any JSON-RPC
    message: they reach the SDK and the tools; still no 5xx and no traceback."""
    caplog.set_level(logging.INFO)
    _agent_token_for_the_shared_secret(bot)
    router, _app = build_web(bot.root)
    (mcp,) = [r for r in router.routes if r.path == "/mcp"]
    accept = ("Accept", "application/json, text/event-stream")

    @settings(PROFILE)
    @given(
        message=mcp_message(),
        version=st.sampled_from(["2025-11-25", "2026-07-28", ""]),
    )
    def one(message: dict[str, Any], version: str) -> None:
        headers = [accept, ("Content-Type", "application/json")]
        if version:
            headers.append(("Mcp-Protocol-Version", version))
        body = json.dumps(message).encode()
        _exercise(
            bot,
            caplog,
            Attempt(mcp, "POST", mcp.path, "", body, "application/json", headers, "auto", True),
        )

    one()
