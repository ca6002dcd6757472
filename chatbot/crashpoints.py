"""Named points where a test may stop this process, to prove that a crash there loses nothing
and repeats nothing (docs/reliability.md, "Crashes after the ack and during the digest post").

A point does nothing unless the environment variable THROUGHLINE_TEST_CRASH_AT names it. Only
the tests set it, in the child processes they start (or around one in-process call):

    THROUGHLINE_TEST_CRASH_AT=digest.after_send          # SIGKILL this process there
    THROUGHLINE_TEST_CRASH_AT=digest.after_send=raise    # raise SimulatedCrash there

Several points may be named, separated by commas. Never set it on a running bot: the process
would die at that point, like a machine losing power, which is exactly what it is for.
"""

from __future__ import annotations

import os
import signal

CRASH_AT = "THROUGHLINE_TEST_CRASH_AT"


class SimulatedCrash(BaseException):
    """A crash at a named point, for tests in one process. A BaseException, so that no
    `except Exception` on the way up handles it: as after a real crash, nothing more of the
    interrupted work runs (open transactions roll back)."""

    def __init__(self, point: str) -> None:
        super().__init__(f"simulated crash at {point}")
        self.point = point


def crash_point(name: str) -> None:
    """Stop here when the tests asked for it; otherwise (always, in production) nothing."""
    wanted = os.environ.get(CRASH_AT)
    if not wanted:
        return
    for item in wanted.split(","):
        point, _, how = item.strip().partition("=")
        if point != name:
            continue
        if how == "raise":
            raise SimulatedCrash(name)
        os.kill(os.getpid(), signal.SIGKILL)
