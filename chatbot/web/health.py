"""`GET /healthz`: is the database answering, and is this process's clock ticking?

200 with `{"ok": true, "database": "ok", "clock": {...}, "jobs": {...}}`, or 503 with the
database's reason when it does not answer (a load balancer then routes elsewhere). `clock`
says whether this process runs the clock and when it last looked for due jobs; `jobs` is
each job's last run by any clock, so a split deployment can see its `chatbot scheduler` work.

The database is asked on a thread of its own and waited for at most HEALTHZ_TIMEOUT_SECONDS:
a database that stopped answering makes this a 503 in time, never a request that hangs. One
question is in flight at a time; requests that come meanwhile wait for its answer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from chatbot.db.engine import Database
from chatbot.db.leases import all_leases
from chatbot.db.outage import outage_reason
from chatbot.scheduler import JobClock
from chatbot.web.routes import Router, WebRequest, WebResponse

DEFAULT_TIMEOUT_SECONDS = 1.5


@dataclass
class _Answer:
    done: threading.Event = field(default_factory=threading.Event)
    jobs: dict[str, str | None] | None = None
    problem: str | None = None


class DatabaseProbe:
    """Asks the database whether it answers, and waits for the answer at most `timeout` s."""

    def __init__(self, db: Database, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.db = db
        self.timeout = timeout
        self._lock = threading.Lock()
        self._asking: _Answer | None = None

    def ask(self) -> tuple[dict[str, str | None] | None, str | None]:
        """(each job's last run, None) when the database answered; (None, reason) otherwise."""
        with self._lock:
            answer = self._asking
            if answer is None or answer.done.is_set():
                answer = self._asking = _Answer()
                threading.Thread(
                    target=self._ask, args=(answer,), name="healthz-database", daemon=True
                ).start()
        if not answer.done.wait(self.timeout):
            return None, f"no answer within {self.timeout:g} s"
        return answer.jobs, answer.problem

    def _ask(self, answer: _Answer) -> None:
        try:
            with self.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            answer.jobs = {
                lease.job: lease.last_run_at.isoformat() if lease.last_run_at else None
                for lease in all_leases(self.db)
            }
        except SQLAlchemyError as exc:
            answer.problem = outage_reason(exc)
        except Exception as exc:  # whatever else went wrong is the answer too, never a hang
            answer.problem = type(exc).__name__
        finally:
            answer.done.set()


def health(probe: DatabaseProbe, clock: JobClock | None) -> tuple[int, dict[str, Any]]:
    last_tick = clock.last_tick if clock is not None else None
    report: dict[str, Any] = {
        "ok": True,
        "database": "ok",
        "clock": {
            "embedded": clock is not None,
            "last_tick": last_tick.isoformat() if last_tick else None,
        },
    }
    jobs, problem = probe.ask()
    if problem is not None or jobs is None:
        report.update(ok=False, database=f"unreachable: {problem}")
        return 503, report
    report["jobs"] = jobs
    return 200, report


def register_routes(
    router: Router,
    db: Database,
    clock: JobClock | None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    probe = DatabaseProbe(db, timeout)

    def healthz(_request: WebRequest) -> WebResponse:
        status, report = health(probe, clock)
        return WebResponse.json(status, report)

    router.add("GET", "/healthz", healthz)
