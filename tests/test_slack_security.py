"""Unsigned, forged and replayed requests are refused with 401 and change nothing."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from chatbot.intent.models import Intent
from tests.conftest import SIGNING_SECRET, Bot
from tests.slack_driver import sign

MALFORMED = "missing or malformed Slack signature"
INVALID = "invalid Slack signature or timestamp older than 5 minutes"


def _form(text: str) -> bytes:
    return urlencode(
        {
            "command": "/intent",
            "text": text,
            "user_id": "U1",
            "channel_id": "C1",
            "team_id": "T0TEST001",
            "trigger_id": "t",
            "response_url": "http://x/",
        }
    ).encode()


def _no_side_effect(bot: Bot) -> None:
    bot.settle()
    with bot.services.db.session() as s:
        assert s.exec(select(Intent)).all() == []
    assert bot.fake.calls == []


def test_unsigned_request_is_refused(bot: Bot) -> None:
    body = _form("Sneaky")
    resp = bot.slack.post(body, "application/x-www-form-urlencoded", signature="v0=")
    assert resp.status == 401
    assert resp.json() == {"ok": False, "error": MALFORMED}
    _no_side_effect(bot)


def test_forged_signature_is_refused(bot: Bot) -> None:
    body = _form("Sneaky")
    ts = int(time.time())
    resp = bot.slack.post(
        body,
        "application/x-www-form-urlencoded",
        timestamp=ts,
        signature=sign(body, ts, secret="not-the-secret"),
    )
    assert resp.status == 401
    assert resp.json() == {"ok": False, "error": INVALID}
    _no_side_effect(bot)


def test_replayed_request_older_than_five_minutes_is_refused(bot: Bot) -> None:
    body = _form("Replay")
    old = int(time.time()) - 6 * 60
    resp = bot.slack.post(
        body, "application/x-www-form-urlencoded", timestamp=old, signature=sign(body, old)
    )
    assert resp.status == 401
    assert resp.json() == {"ok": False, "error": INVALID}
    _no_side_effect(bot)


@pytest.mark.parametrize("timestamp", ["", "soon", "1.5e9"])
def test_a_well_formed_signature_with_a_malformed_timestamp_is_refused(
    bot: Bot, timestamp: str
) -> None:
    # Each header is checked on its own: a good-looking signature does not let a timestamp
    # the verifier cannot read through (it would raise on it).
    body = _form("Sneaky")
    resp = bot.slack.post(
        body,
        "application/x-www-form-urlencoded",
        headers={"X-Slack-Request-Timestamp": timestamp},
    )
    assert resp.status == 401
    assert resp.json() == {"ok": False, "error": MALFORMED}
    _no_side_effect(bot)


def test_a_signed_body_that_is_not_utf8_is_refused_not_a_server_error(bot: Bot) -> None:
    body = "command=/intent&text=Caf\u00e9".encode("latin-1")  # Slack sends UTF-8 only
    ts = int(time.time())
    resp = bot.slack.post(
        body, "application/x-www-form-urlencoded", timestamp=ts, signature=sign(body, ts)
    )
    assert resp.status == 401
    assert resp.json() == {"ok": False, "error": INVALID}
    _no_side_effect(bot)


class TestWithoutASigningSecret:
    @pytest.fixture
    def bot_settings(self) -> dict[str, Any]:
        return {"slack_signing_secret": None}

    def test_every_request_is_refused_with_the_setting_to_fix(self, bot: Bot) -> None:
        body = _form("Sneaky")
        for secret in ("", "not-the-secret", SIGNING_SECRET):
            ts = int(time.time())
            resp = bot.slack.post(
                body,
                "application/x-www-form-urlencoded",
                timestamp=ts,
                signature=sign(body, ts, secret=secret) if secret else "v0=",
            )
            assert resp.status == 401
            assert resp.json() == {
                "ok": False,
                "error": "SLACK_SIGNING_SECRET is not set on the server",
            }
        _no_side_effect(bot)


def test_healthz_answers(bot: Bot) -> None:
    resp = bot.slack.get("/healthz")
    assert resp.status == 200 and resp.json()["ok"] is True
