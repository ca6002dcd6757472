"""One log line per refused HTTP request, rate-limited so a flood cannot fill the disk.

A refusal is any 4xx (and the 5xx the router answers for a fault): the line names the method,
the endpoint, the status, a short reason and the client address, never the request body. A
token bucket lets `per_minute` lines through each minute; refusals beyond that are only counted,
and the next line that gets through says how many were not logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("chatbot.web.refused")

_PRINTABLE = set(range(0x20, 0x7F))


def printable(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters with anything but printable ASCII shown as `?`: a path
    or method chosen by a client must not be able to forge a log line or flood one."""
    cut = text[:limit]
    cleaned = "".join(c if ord(c) in _PRINTABLE else "?" for c in cut)
    return cleaned + ("…" if len(text) > limit else "")


class TokenBucket:
    """`per_minute` passes a minute (bursts up to that many); counts what it turns away."""

    def __init__(self, per_minute: int, now: Callable[[], float] = time.monotonic) -> None:
        self._capacity = float(per_minute)
        self._refill_per_second = per_minute / 60.0
        self._tokens = float(per_minute)
        self._now = now
        self._last = now()
        self._suppressed = 0
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """None when over the rate (the event is counted); else how many were turned away
        since the last pass (and that count starts again)."""
        with self._lock:
            now = self._now()
            self._tokens = min(
                self._capacity, self._tokens + (now - self._last) * self._refill_per_second
            )
            self._last = now
            if self._tokens < 1.0:
                self._suppressed += 1
                return None
            self._tokens -= 1.0
            suppressed, self._suppressed = self._suppressed, 0
            return suppressed

    @property
    def suppressed(self) -> int:
        with self._lock:
            return self._suppressed


class RefusalLog:
    def __init__(
        self,
        per_minute: int = 60,
        logger: logging.Logger = log,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bucket = TokenBucket(per_minute, now)
        self._logger = logger

    def refused(self, method: str, endpoint: str, status: int, reason: str, client: str) -> None:
        suppressed = self._bucket.take()
        if suppressed is None:
            return
        more = f" ({suppressed} more refusals not logged)" if suppressed else ""
        self._logger.warning(
            "refused %s %s: %d %s from %s%s",
            printable(method, 10),
            printable(endpoint),
            status,
            printable(reason, 120),
            printable(client, 45),
            more,
        )

    @property
    def suppressed(self) -> int:
        """Refusals counted but not yet reported in a line."""
        return self._bucket.suppressed


class RateLimitedRefusals(logging.Filter):
    """For gunicorn's error log: its line per malformed request ("Invalid request from ...",
    answered 400 before the app sees it) goes through the same kind of bucket."""

    def __init__(self, per_minute: int = 60) -> None:
        super().__init__()
        self._bucket = TokenBucket(per_minute)

    def filter(self, record: logging.LogRecord) -> bool:
        timed_out = record.exc_info is not None and isinstance(record.exc_info[1], TimeoutError)
        if timed_out:
            # A client that stopped sending mid-request: gunicorn logs it as a socket error
            # with a traceback; it is a refusal like the others, one line.
            record.msg, record.args = "Invalid request: client stopped sending (read timeout)", None
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        elif not str(record.msg).startswith("Invalid request from"):
            return True
        suppressed = self._bucket.take()
        if suppressed is None:
            return False
        if suppressed:
            record.msg = f"{record.getMessage()} ({suppressed} more not logged)"
            record.args = None
        return True
