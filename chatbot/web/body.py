"""Reading a request body without trusting the client: size cap, declared length, deadline.

The cap is checked from `Content-Length` before a byte is read; a chunked body (no length,
`wsgi.input_terminated` set by gunicorn) is read up to the cap plus one byte, so an oversize
one is refused after reading at most cap + 1 bytes. A body that arrives too slowly is cut off
at a hard deadline: under gunicorn the socket gets a read timeout, and a watchdog shuts the
socket's read side at the deadline, so a client trickling a byte at a time cannot hold a
worker thread either.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

CHUNK = 64 * 1024


class BodyError(Exception):
    """The body cannot be accepted: `status` and a short `reason` for the client."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def declared_length(environ: dict[str, Any]) -> int | None:
    """`Content-Length` as a number; None when the header is absent. A value that is not a
    plain non-negative decimal is refused (400) rather than guessed at."""
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise BodyError(400, "Content-Length is not a non-negative number")
    return int(raw)


def read_body(environ: dict[str, Any], cap: int, timeout: float, watchdog: ReadWatchdog) -> bytes:
    length = declared_length(environ)
    stream = environ.get("wsgi.input")
    if length == 0 or stream is None:
        return b""
    if length is not None:
        if length > cap:
            raise BodyError(413, f"body over {cap} bytes")
        data = _read(stream, length, environ, timeout, watchdog)
        if len(data) < length:
            raise BodyError(400, "body shorter than its Content-Length")
        return data
    if environ.get("wsgi.input_terminated"):
        # Chunked (or otherwise unannounced) body the server delimits for us.
        data = _read(stream, cap + 1, environ, timeout, watchdog)
        if len(data) > cap:
            raise BodyError(413, f"body over {cap} bytes")
        return data
    if environ.get("HTTP_TRANSFER_ENCODING"):
        raise BodyError(411, "send the body with a Content-Length")
    return b""


def _read(
    stream: Any, limit: int, environ: dict[str, Any], timeout: float, watchdog: ReadWatchdog
) -> bytes:
    sock = environ.get("gunicorn.socket")
    deadline = time.monotonic() + timeout
    parts: list[bytes] = []
    got = 0
    too_slow = BodyError(408, f"body not received within {timeout:g} s")
    with watchdog.guard(sock, deadline) as expired:
        try:
            while got < limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise too_slow
                if sock is not None:
                    sock.settimeout(remaining)
                chunk = stream.read(min(CHUNK, limit - got))
                if not chunk:
                    break
                parts.append(chunk)
                got += len(chunk)
        except BodyError:
            raise
        except TimeoutError as exc:
            raise too_slow from exc
        except Exception as exc:
            # The server's reader raises its own errors for a broken chunked encoding or a
            # client that went away; either way the body is unusable.
            if expired():
                raise too_slow from exc
            raise BodyError(400, "body could not be read (broken or incomplete)") from exc
        finally:
            if sock is not None:
                _restore_blocking(sock)
        if expired():
            # The watchdog shut the socket: what was read ends early, not at the real end.
            raise too_slow
    return b"".join(parts)


def _restore_blocking(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.settimeout(None)


class ReadWatchdog:
    """Shuts the read side of sockets whose body read outlived its deadline.

    A socket read timeout bounds each `recv`, not the whole body; this bounds the whole body.
    One daemon thread serves every request of the process; it starts on first use.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, socket.socket]] = []
        self._active: set[int] = set()
        self._expired: set[int] = set()
        self._ids = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def guard(self, sock: socket.socket | None, deadline: float) -> Iterator[Any]:
        if sock is None:
            yield lambda: time.monotonic() >= deadline
            return
        with self._cond:
            ident = next(self._ids)
            self._active.add(ident)
            heapq.heappush(self._heap, (deadline, ident, sock))
            self._ensure_thread()
            self._cond.notify()
        try:
            yield lambda: ident in self._expired
        finally:
            with self._cond:
                self._active.discard(ident)
                self._expired.discard(ident)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="body-read-watchdog", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][1] not in self._active:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, ident, sock = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                self._expired.add(ident)
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RD)
