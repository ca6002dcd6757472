"""Runs the MCP SDK's ASGI transport behind the WSGI router, one request at a time.

`chatbot serve` is WSGI (gunicorn gthread); the SDK's Streamable HTTP transport is ASGI. Each
worker process keeps one event loop in a daemon thread (started on first use, so never before
gunicorn forks) running the SDK's session manager in stateless JSON mode. A request thread
hands the loop an already-read, already-authenticated body and waits for the answer. The
router keeps its guarantees (auth first, body cap, no 500, no traceback) because it does all
of that before the SDK sees a byte.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import MutableMapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

# The key under which the request's authenticated caller reaches the tool handlers.
CALLER_KEY = "throughline.caller"
ANSWER_TIMEOUT_SECONDS = 60.0

Message = MutableMapping[str, Any]


@dataclass
class AsgiAnswer:
    status: int = 500
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class McpBridge:
    def __init__(self, server: Server[Any], max_body: int) -> None:
        self._server = server
        self._max_body = max_body
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._manager: StreamableHTTPSessionManager | None = None

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._ready.clear()
                self._thread = threading.Thread(target=self._run, name="mcp-loop", daemon=True)
                self._thread.start()
        self._ready.wait(10)
        if self._loop is None:
            raise RuntimeError("the MCP event loop did not start")
        return self._loop

    def _run(self) -> None:
        async def main() -> None:
            # A manager runs once; a restarted loop gets a new one.
            self._manager = StreamableHTTPSessionManager(
                self._server,
                json_response=True,
                stateless=True,
                max_request_body_size=self._max_body,
            )
            async with self._manager.run():
                self._loop = asyncio.get_running_loop()
                self._ready.set()
                await asyncio.Event().wait()

        asyncio.run(main())

    def handle(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        caller: object,
        timeout: float = ANSWER_TIMEOUT_SECONDS,
    ) -> AsgiAnswer:
        loop = self._start()
        future = asyncio.run_coroutine_threadsafe(
            self._exchange(method, path, headers, body, caller), loop
        )
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise

    async def _exchange(
        self, method: str, path: str, headers: dict[str, str], body: bytes, caller: object
    ) -> AsgiAnswer:
        manager = self._manager
        if manager is None:
            raise RuntimeError("the MCP session manager is not running")
        answer = AsgiAnswer()
        chunks: list[bytes] = []
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            # The body was whole; after it the client only "disconnects" when the answer is sent.
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.status = int(message["status"])
                answer.headers = [
                    (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                    for k, v in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode("latin-1", "replace"),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (k.lower().encode("latin-1", "replace"), v.encode("latin-1", "replace"))
                for k, v in headers.items()
            ],
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 0),
            CALLER_KEY: caller,
        }
        await manager.handle_request(scope, receive, send)
        answer.body = b"".join(chunks)
        return answer
