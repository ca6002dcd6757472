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


class RefusalLog:
    def __init__(
        self,
        per_minute: int = 60,
        logger: logging.Logger = log,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capacity = float(per_minute)
        self._refill_per_second = per_minute / 60.0
        self._tokens = float(per_minute)
        self._logger = logger
        self._now = now
        self._last = now()
        self._suppressed = 0
        self._lock = threading.Lock()

    def refused(self, method: str, endpoint: str, status: int, reason: str, client: str) -> None:
        with self._lock:
            now = self._now()
            self._tokens = min(
                self._capacity, self._tokens + (now - self._last) * self._refill_per_second
            )
            self._last = now
            if self._tokens < 1.0:
                self._suppressed += 1
                return
            self._tokens -= 1.0
            suppressed, self._suppressed = self._suppressed, 0
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
        with self._lock:
            return self._suppressed
