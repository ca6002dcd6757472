"""A local fake of the Slack Web API: records every call and answers like Slack does.

Every request is first held to Slack's published API (tests/fakes/slack_methods.py: the
OpenAPI document plus a sourced supplement): a method Slack does not have answers
`unknown_method`, an argument the method does not take or a missing required one answers
`invalid_arguments`, and each is kept in `violations`, which the `fake_slack` fixture turns
into a test failure. (Real Slack ignores some unknown arguments; a bot relying on an argument
Slack ignores is broken all the same, so the fake refuses it.)

It validates blocks and views against its own copy of the Block Kit limits
(tests/fakes/block_kit.py; never the bot's checker) and answers `invalid_blocks` for messages,
`invalid_arguments` for views, like Slack. It answers
`not_in_channel` for channels the bot was not invited to, and `ratelimited` with a
`Retry-After` header when told to. Messages live in channels and threads as in Slack:
`conversations.history` lists a channel's top-level messages only, a page at a time with a
cursor, and `conversations.replies` called with any message of a thread answers with the
thread's parent first, then its replies. A message posted to a person's id lands in the
person's DM with the bot, a conversation of its own (`D` + the user id, what
`conversations.open` answers), and only that conversation has a history. A file shared with
`files.completeUploadExternal` becomes a message of the bot in the channel or thread, as in
Slack. Used by tests and benchmarks through `SLACK_API_URL`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fakes.block_kit import message_errors, view_errors
from tests.fakes.slack_methods import Violation, violation

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0TEST001"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    ok: bool
    response: dict[str, Any]


@dataclass
class _Failure:
    error: str
    times: int
    retry_after: int | None = None
    status: int = 200
    landed: bool = False  # done as asked, but the answer is this error (a lost answer)


@dataclass
class FakeSlack:
    """State of the fake workspace. Thread-safe; tests read `calls` and wait on conditions."""

    calls: list[Call] = field(default_factory=list)
    not_member: set[str] = field(default_factory=set)
    private_channels: set[str] = field(default_factory=set)
    # Display names for users.info / conversations.info; others get `user-<id>` / `name-<id>`.
    user_names: dict[str, str] = field(default_factory=dict)
    channel_names: dict[str, str] = field(default_factory=dict)
    missing_users: set[str] = field(default_factory=set)
    # Who is in a channel, for conversations.members (a channel not listed: channel_not_found).
    channel_members: dict[str, set[str]] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    # Requests Slack's published API does not allow; the `fake_slack` fixture fails on any.
    violations: list[Violation] = field(default_factory=list)
    # Seconds every answer waits before it is given (a slow Slack; drills set it).
    delay_seconds: float = 0.0
    gate: threading.Event | None = None
    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _last_ts: int = 0
    base_url: str = ""

    # --- scripting -------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        error: str,
        times: int = 1,
        retry_after: int | None = None,
        status: int | None = None,
        landed: bool = False,
    ) -> None:
        """The next `times` calls of `method` answer `error` (HTTP `status`: 429 for
        `ratelimited`, else 200 unless given). With `landed`, the call takes effect first,
        as when Slack did the work and its answer was lost (a 5xx from its edge)."""
        status = status or (429 if error == "ratelimited" else 200)
        failure = _Failure(error, times, retry_after, status, landed)
        self._failures.setdefault(method, []).append(failure)

    def hold(self) -> threading.Event:
        """Every call waits until the returned event is set (a Slack that does not answer
        yet); `reset` releases it."""
        self.gate = threading.Event()
        return self.gate

    def add_message(self, channel: str, ts: str, text: str, **extra: Any) -> None:
        """A message in `channel`; with `thread_ts=<parent ts>`, a reply in that thread."""
        self._store(channel, {"type": "message", "ts": ts, "text": text, **extra})

    def _store(self, channel: str, message: dict[str, Any]) -> None:
        ts, parent_ts = message["ts"], message.get("thread_ts")
        self.messages[(channel, ts)] = message
        parent = self.messages.get((channel, parent_ts)) if parent_ts != ts else None
        if parent is not None:  # Slack marks a thread's parent with its own ts and a count
            parent["thread_ts"] = parent_ts
            parent["reply_count"] = int(parent.get("reply_count") or 0) + 1

    # --- reading ------------------------------------------------------------------
    def of(self, method: str, ok: bool | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def wait_for(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda c: True,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Call]:
        """Block until `count` matching calls were recorded (event-driven, not a sleep)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls if c.method == method and where(c)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(f"expected {count} {method} call(s); saw {seen}")
                self._cond.wait(remaining)

    def reset(self) -> None:
        with self._cond:
            self.calls.clear()
            self._failures.clear()
            self.not_member.clear()
            self.private_channels.clear()
            self.user_names.clear()
            self.channel_names.clear()
            self.missing_users.clear()
            self.messages.clear()
            self.violations.clear()
            self.channel_members.clear()
            self.delay_seconds = 0.0
            if self.gate is not None:
                self.gate.set()
                self.gate = None

    # --- answering ------------------------------------------------------------------
    def next_ts(self) -> str:
        """Like Slack: the posting time in microseconds, unique and increasing."""
        with self._cond:
            micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
            self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def handle(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        headers: dict[str, str] = {}
        if self.delay_seconds:
            time.sleep(self.delay_seconds)  # a slow Slack: every method answers this late
        gate = self.gate
        if gate is not None:
            gate.wait(30)
        if not method.startswith("respond/"):  # a response_url is not a Web API method
            refused = violation(method, params)
            if refused is not None:
                with self._cond:
                    self.violations.append(refused)
                body = {"ok": False, "error": refused.error, "req_method": method}
                if refused.error == "invalid_arguments":
                    body["response_metadata"] = {"messages": list(refused.messages)}
                self._record(method, params, token, body)
                return 200, body, headers
        failures = self._failures.get(method) or []
        if failures:
            failure = failures[0]
            failure.times -= 1
            if failure.times <= 0:
                failures.pop(0)
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            if failure.landed and not method.startswith("respond/"):
                self._answer(method, params)
            body = {"ok": False, "error": failure.error}
            self._record(method, params, token, body)
            return failure.status, body, headers
        if method.startswith("respond/"):
            params = {**params, "_path": method}
            method = "respond"
            body = self._respond(method, params)
        else:
            body = self._answer(method, params)
        self._record(method, params, token, body)
        return 200, body, headers

    def _record(
        self, method: str, params: dict[str, Any], token: str | None, body: dict[str, Any]
    ) -> None:
        with self._cond:
            self.calls.append(Call(method, params, token, bool(body.get("ok")), body))
            self._cond.notify_all()

    def _respond(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        problems = message_errors(params.get("text"), _blocks(params))
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        return {"ok": True}

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": "Test",
                "user": "throughline",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        channel = p.get("channel")
        if method in {"chat.postMessage", "chat.update"} and _is_person(channel):
            channel = im_of(str(channel))
        if method in {"chat.postMessage", "chat.postEphemeral", "chat.update"}:
            if channel in self.not_member:
                return {"ok": False, "error": "not_in_channel"}
            problems = message_errors(p.get("text"), _blocks(p))
            if problems:
                return {"ok": False, "error": "invalid_blocks", "errors": problems}
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": self.next_ts()}
            ts = p.get("ts") if method == "chat.update" else self.next_ts()
            msg = {
                "type": "message",
                "ts": ts,
                "text": p.get("text", ""),
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "blocks": _blocks(p) or [],
            }
            if p.get("thread_ts"):
                msg["thread_ts"] = p["thread_ts"]
            metadata = p.get("metadata")
            if metadata:
                msg["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            if method == "chat.update" and (channel, ts) in self.messages:
                edited = {k: v for k, v in msg.items() if k in {"text", "blocks", "metadata"}}
                self.messages[(channel, ts)].update(edited, edited={"user": BOT_USER_ID})
            else:
                self._store(str(channel), msg)
            return {"ok": True, "channel": channel, "ts": ts, "message": msg}
        if method == "chat.delete":
            if self.messages.pop((str(channel), str(p.get("ts"))), None) is None:
                return {"ok": False, "error": "message_not_found"}
            return {"ok": True, "channel": channel, "ts": p.get("ts")}
        if method == "chat.getPermalink":
            ts = str(p.get("message_ts", "")).replace(".", "")
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://test.slack.com/archives/{channel}/p{ts}",
            }
        if method in {"views.open", "views.push", "views.update", "views.publish"}:
            view = p.get("view")
            if isinstance(view, str):
                view = json.loads(view)
            problems = view_errors(view or {})
            if problems:
                return {
                    "ok": False,
                    "error": "invalid_arguments",
                    "response_metadata": {"messages": problems},
                }
            return {
                "ok": True,
                "view": {"id": "V" + self.next_ts().replace(".", ""), **(view or {})},
            }
        if method == "conversations.info":
            if channel in self.not_member and channel in self.private_channels:
                return {"ok": False, "error": "channel_not_found"}
            is_private = channel in self.private_channels or str(channel).startswith("D")
            return {
                "ok": True,
                "channel": {
                    "id": channel,
                    "name": self.channel_names.get(str(channel), f"name-{channel}"),
                    "is_private": is_private,
                    "is_im": str(channel).startswith("D"),
                    "is_member": channel not in self.not_member,
                },
            }
        if method in {"conversations.history", "conversations.replies"}:
            if _is_person(channel):  # a person's id is not a conversation
                return {"ok": False, "error": "channel_not_found"}
            if channel in self.not_member:
                return {"ok": False, "error": "not_in_channel"}
            if method == "conversations.history":
                return self._history(str(channel), p)
            return self._replies(str(channel), p)
        if method == "conversations.members":
            if channel not in self.channel_members:
                return {"ok": False, "error": "channel_not_found"}
            members = sorted(self.channel_members[str(channel)])
            # Pages of `limit` like Slack, the cursor being the offset.
            start = int(p.get("cursor") or 0)
            size = int(p.get("limit") or 100)
            page = members[start : start + size]
            more = start + size < len(members)
            return {
                "ok": True,
                "members": page,
                "response_metadata": {"next_cursor": str(start + size) if more else ""},
            }
        if method == "conversations.join":
            self.not_member.discard(channel)
            return {"ok": True, "channel": {"id": channel}}
        if method == "users.info":
            user = p.get("user")
            if user in self.missing_users:
                return {"ok": False, "error": "user_not_found"}
            name = self.user_names.get(str(user))
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "name": name or f"user-{user}",
                    "tz": "UTC",
                    "real_name": name or f"User {user}",
                    "profile": {
                        "display_name": name or "",
                        "real_name": name or f"User {user}",
                    },
                    "is_admin": False,
                },
            }
        if method == "files.getUploadURLExternal":
            file_id = "F" + self.next_ts().replace(".", "")
            self.files[file_id] = {"filename": p.get("filename"), "length": p.get("length")}
            return {
                "ok": True,
                "file_id": file_id,
                "upload_url": f"{self.base_url}upload/{file_id}",
            }
        if method == "files.completeUploadExternal":
            files = p.get("files")
            if isinstance(files, str):
                files = json.loads(files)
            if p.get("channel_id") in self.not_member:
                return {"ok": False, "error": "not_in_channel"}
            shared = [
                {
                    "id": f["id"],
                    "name": (self.files.get(f["id"]) or {}).get("filename"),
                    "title": f.get("title"),
                }
                for f in files or []
            ]
            if p.get("channel_id"):
                self._share(str(p["channel_id"]), p.get("thread_ts"), shared)
            return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": im_of(str(p.get("users", "X")))}}
        if method in {"reactions.add", "chat.scheduleMessage"}:
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    def _history(self, channel: str, p: dict[str, Any]) -> dict[str, Any]:
        """The channel's top-level messages in the range, newest first: never thread replies."""
        top_level = [
            m
            for (c, ts), m in self.messages.items()
            if c == channel and m.get("thread_ts") in (None, ts)
        ]
        found = sorted(_in_range(top_level, p), key=_ts_key, reverse=True)
        limit = _limit(p, 100)
        start = int(p.get("cursor") or 0)  # the cursor is the offset, as in conversations.members
        messages = _with_metadata(found[start : start + limit], p)
        more = len(found) > start + limit
        return {
            "ok": True,
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _share(self, channel: str, thread_ts: Any, files: list[dict[str, Any]]) -> None:
        message = {
            "type": "message",
            "ts": self.next_ts(),
            "text": "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "files": files,
        }
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
        with self._cond:
            self._store(channel, message)

    def _replies(self, channel: str, p: dict[str, Any]) -> dict[str, Any]:
        """Any message of a thread (`ts`, the parent's or a reply's) names the whole thread:
        Slack answers with the parent first whatever the range, then the replies in the range,
        oldest first; `limit` counts the parent too."""
        asked = self.messages.get((channel, str(p.get("ts"))))
        if asked is None:
            return {"ok": False, "error": "thread_not_found"}
        parent_ts = asked.get("thread_ts") or asked["ts"]
        parent = self.messages.get((channel, parent_ts))
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        replies = [
            m
            for (c, ts), m in self.messages.items()
            if c == channel and m.get("thread_ts") == parent_ts and ts != parent_ts
        ]
        thread = [parent, *sorted(_in_range(replies, p), key=_ts_key)]
        limit = _limit(p, 1000)
        messages = _with_metadata(thread[:limit], p)
        return {"ok": True, "messages": messages, "has_more": len(thread) > limit}


def im_of(user: str) -> str:
    """The id of a person's DM with the bot."""
    return "D" + user


def _is_person(channel: Any) -> bool:
    return str(channel or "").startswith(("U", "W"))


def _ts_key(message: dict[str, Any]) -> Decimal:
    return _decimal(message.get("ts")) or Decimal(0)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _in_range(messages: list[dict[str, Any]], p: dict[str, Any]) -> list[dict[str, Any]]:
    """Slack's `oldest`/`latest` range, both ends left out unless `inclusive`."""
    oldest, latest = _decimal(p.get("oldest")), _decimal(p.get("latest"))
    inclusive = _true(p.get("inclusive"))
    found = []
    for message in messages:
        ts = _ts_key(message)
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            continue
        if latest is not None and (ts > latest or (ts == latest and not inclusive)):
            continue
        found.append(message)
    return found


def _with_metadata(messages: list[dict[str, Any]], p: dict[str, Any]) -> list[dict[str, Any]]:
    """Slack returns a message's `metadata` only when asked with `include_all_metadata`."""
    if _true(p.get("include_all_metadata")):
        return messages
    return [{k: v for k, v in m.items() if k != "metadata"} for m in messages]


def _true(value: Any) -> bool:
    return str(value).lower() in {"1", "true"}


def _limit(p: dict[str, Any], default: int) -> int:
    try:
        return max(int(p.get("limit") or default), 1)
    except ValueError:
        return default


def _blocks(p: dict[str, Any]) -> list[dict[str, Any]] | None:
    blocks = p.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return blocks


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        if urlparse(self.path).path == "/_stats":
            with self.fake._cond:
                by_method: dict[str, int] = {}
                for call in self.fake.calls:
                    by_method[call.method] = by_method.get(call.method, 0) + 1
            self._send(200, {"ok": True, "calls": len(self.fake.calls), "by_method": by_method}, {})
            return
        self._send(404, {"ok": False}, {})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urlparse(self.path).path
        if path.startswith("/upload/"):
            self.fake.uploads[path.rsplit("/", 1)[-1]] = raw
            self._send(200, {"ok": True}, {}, plain=True)
            return
        method = path.removeprefix("/api/").strip("/")
        ctype = self.headers.get("Content-Type", "")
        params: dict[str, Any]
        if "json" in ctype:
            params = json.loads(raw or b"{}")
        else:
            params = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") or params.get("token")
        status, body, headers = self.fake.handle(method, params, token)
        self._send(status, body, headers)

    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str], plain: bool = False
    ) -> None:
        data = b"OK" if plain else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if plain else "application/json")
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    # Slack takes many connections at once; the default backlog of 5 reset some under load
    # (dozens of sender threads), which no real Slack does.
    request_queue_size = 256


class FakeSlackServer:
    """Runs FakeSlack on 127.0.0.1 on a free port (or `port`: a Slack that comes back where
    it was); `api_url` goes into SLACK_API_URL."""

    def __init__(self, port: int = 0, fake: FakeSlack | None = None) -> None:
        self.fake = fake or FakeSlack()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self._server = _Server(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.root = f"http://{host}:{port}/"
        self.api_url = self.root + "api/"
        self.fake.base_url = self.root
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def response_url(self, name: str = "1") -> str:
        return f"{self.root}api/respond/{name}"

    def __enter__(self) -> FakeSlackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


if __name__ == "__main__":  # a standalone fake for benchmarks: prints its API URL, then serves
    import sys

    with FakeSlackServer() as server:
        print(server.api_url, flush=True)
        sys.stdin.read()
