"""`GET /healthz`: is the database answering, and is this process's clock ticking?

200 with `{"ok": true, "database": "ok", "clock": {...}, "jobs": {...}}`, or 503 with the
database's reason when it does not answer (a load balancer then routes elsewhere). `clock`
says whether this process runs the clock and when it last looked for due jobs; `jobs` is
each job's last run by any clock, so a split deployment can see its `chatbot scheduler` work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from chatbot.db.engine import Database
from chatbot.db.leases import all_leases
from chatbot.scheduler import JobClock
from chatbot.web.routes import Router, WebRequest, WebResponse


def health(db: Database, clock: JobClock | None) -> tuple[int, dict[str, Any]]:
    last_tick = clock.last_tick if clock is not None else None
    report: dict[str, Any] = {
        "ok": True,
        "database": "ok",
        "clock": {
            "embedded": clock is not None,
            "last_tick": last_tick.isoformat() if last_tick else None,
        },
    }
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        report["jobs"] = {
            lease.job: lease.last_run_at.isoformat() if lease.last_run_at else None
            for lease in all_leases(db)
        }
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        report.update(ok=False, database=f"unreachable: {reason}")
        return 503, report
    return 200, report


def register_routes(router: Router, db: Database, clock: JobClock | None) -> None:
    def healthz(_request: WebRequest) -> WebResponse:
        status, report = health(db, clock)
        return WebResponse.json(status, report)

    router.add("GET", "/healthz", healthz)
