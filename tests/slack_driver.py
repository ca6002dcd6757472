"""Drives the real app over HTTP with correctly signed Slack requests."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

SIGNING_SECRET = "test-signing-secret"
TEAM = "T0TEST001"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class HttpResult:
    status: int
    body: bytes
    elapsed: float
    content_type: str = ""

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class AppServer:
    """Serves a WSGI app on 127.0.0.1 in a thread, over real HTTP."""

    def __init__(self, wsgi_app: Any) -> None:
        self._server = make_server(
            "127.0.0.1", 0, wsgi_app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # shutdown() waits for the serving loop's next look at its stop flag: every 10 ms
        # rather than 50 halves the teardown of every test that serves the app.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def sign(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackDriver:
    """Builds the payloads Slack sends and posts them signed to /slack/events."""

    _ids = itertools.count(1)

    def __init__(self, base_url: str, response_url: str) -> None:
        self.base_url = base_url
        self.response_url = response_url

    def post(
        self,
        body: bytes,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        path: str = "/slack/events",
    ) -> HttpResult:
        ts = int(time.time()) if timestamp is None else timestamp
        req = urllib.request.Request(self.base_url + path, data=body, method="POST")
        req.add_header("Content-Type", content_type)
        req.add_header("X-Slack-Request-Timestamp", str(ts))
        req.add_header("X-Slack-Signature", signature or sign(body, ts))
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        return self._send(req)

    def get(self, path: str, headers: dict[str, str] | None = None) -> HttpResult:
        return self._send(urllib.request.Request(self.base_url + path, headers=headers or {}))

    @staticmethod
    def _send(req: urllib.request.Request) -> HttpResult:
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                body, kind = resp.read(), resp.headers.get("Content-Type", "")
                return HttpResult(resp.status, body, time.perf_counter() - start, kind)
        except urllib.error.HTTPError as exc:
            body, kind = exc.read(), exc.headers.get("Content-Type", "")
            return HttpResult(exc.code, body, time.perf_counter() - start, kind)

    # --- payloads ---------------------------------------------------------------------------
    def command(
        self, command: str, text: str = "", user: str = "U1", channel: str = "C1", **kw: Any
    ) -> HttpResult:
        n = next(self._ids)
        form = {
            "token": "x",
            "team_id": TEAM,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": f"user-{user}",
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": self.response_url.rstrip("/") + f"-{n}",
            "trigger_id": f"trig-{n}",
        }
        return self.post(urlencode(form).encode(), "application/x-www-form-urlencoded", **kw)

    def interactive(self, payload: dict[str, Any], **kw: Any) -> HttpResult:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded", **kw)

    def action(
        self,
        action_id: str,
        value: str,
        user: str = "U1",
        channel: str = "C1",
        message_ts: str = "1.0",
        container: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        action_type: str = "button",
        block_id: str = "b",
    ) -> HttpResult:
        n = next(self._ids)
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": action_type,
            "action_ts": "1.1",
        }
        if action_type in ("overflow", "static_select"):
            action["selected_option"] = {
                "text": {"type": "plain_text", "text": "x"},
                "value": value,
            }
        else:
            action["value"] = value
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A1",
            "token": "x",
            "trigger_id": f"trig-{n}",
            "actions": [action],
            "response_url": self.response_url.rstrip("/") + f"-a{n}",
        }
        if view is not None:
            payload["view"] = view
            payload["container"] = container or {"type": "view", "view_id": view.get("id", "V1")}
        else:
            payload["channel"] = {"id": channel}
            payload["message"] = {"ts": message_ts, "text": ""}
            payload["container"] = container or {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            }
        return self.interactive(payload)

    def view_submission(
        self, view: dict[str, Any], values: dict[str, str | None], user: str = "U1"
    ) -> HttpResult:
        state: dict[str, Any] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            bid = block["block_id"]
            el = block["element"]
            if el["type"] == "conversations_select":
                state[bid] = {
                    "value": {"type": el["type"], "selected_conversation": values.get(bid)}
                }
            else:
                state[bid] = {
                    "value": {"type": el["type"], "value": values.get(bid, el.get("initial_value"))}
                }
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A1",
            "token": "x",
            "trigger_id": "trig-v",
            "view": {**view, "id": "V1", "state": {"values": state}, "team_id": TEAM},
        }
        return self.interactive(payload)

    def event(
        self, event: dict[str, Any], event_id: str | None = None, retry: int | None = None
    ) -> HttpResult:
        body = {
            "token": "x",
            "team_id": TEAM,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT0001", "is_bot": True}],
        }
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else None
        )
        return self.post(json.dumps(body).encode(), "application/json", headers=headers)

    def thread_reply(
        self,
        channel: str,
        thread_ts: str,
        text: str,
        user: str = "U2",
        ts: str | None = None,
        event_id: str | None = None,
        retry: int | None = None,
    ) -> HttpResult:
        ts = ts or f"{time.time() + 1_000_000:.6f}"
        return self.event(
            {
                "type": "message",
                "channel": channel,
                "user": user,
                "text": text,
                "ts": ts,
                "thread_ts": thread_ts,
                "channel_type": "channel",
                "event_ts": ts,
            },
            event_id=event_id,
            retry=retry,
        )
