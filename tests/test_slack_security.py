"""Unsigned, forged and replayed requests are refused with 401 and change nothing."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from sqlmodel import select

from chatbot.intent.models import Intent
from tests.conftest import Bot
from tests.slack_driver import sign


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
    _no_side_effect(bot)


def test_replayed_request_older_than_five_minutes_is_refused(bot: Bot) -> None:
    body = _form("Replay")
    old = int(time.time()) - 6 * 60
    resp = bot.slack.post(
        body, "application/x-www-form-urlencoded", timestamp=old, signature=sign(body, old)
    )
    assert resp.status == 401
    _no_side_effect(bot)


def test_healthz_answers(bot: Bot) -> None:
    resp = bot.slack.get("/healthz")
    assert resp.status == 200 and resp.json()["ok"] is True
