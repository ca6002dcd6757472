"""`chatbot serve`: the WSGI app behind gunicorn (threaded workers)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication

from chatbot.settings import Settings

if TYPE_CHECKING:
    from chatbot.scheduler import JobClock

_WORKER_BOOT_ERROR = 3  # gunicorn.arbiter.Arbiter.WORKER_BOOT_ERROR


class ThroughlineServer(BaseApplication):  # type: ignore[misc]
    def __init__(
        self, settings: Settings, host: str = "0.0.0.0", embedded_clock: bool = True
    ) -> None:
        self.settings = settings
        self.host = host
        self.embedded_clock = embedded_clock
        self.clock: JobClock | None = None  # this worker's, set in load()
        super().__init__()

    def load_config(self) -> None:
        cfg: dict[str, Any] = {
            "bind": f"{self.host}:{self.settings.port}",
            "workers": self.settings.web_concurrency,
            # gthread with a read timeout on each connection (a stalled header frees its thread).
            "worker_class": "chatbot.web.edge_worker.EdgeThreadWorker",
            "threads": self.settings.web_threads,
            # gthread: a worker whose main loop stalls this long is restarted. A slow client
            # cannot hold a thread that long: gunicorn waits at most 5 s for a new connection's
            # first bytes, a stalled header is dropped and the router cuts a body after
            # HTTP_BODY_TIMEOUT_SECONDS (10 s; edge_worker.py, body.py).
            "timeout": 30,
            "graceful_timeout": 20,
            "keepalive": 5,
            # Request line and headers: gunicorn's defaults, stated because the edge relies on
            # them (a longer line is a 414, more or larger headers a 431, before the app runs).
            "limit_request_line": 4094,
            "limit_request_fields": 100,
            "limit_request_field_size": 8190,
            "loglevel": self.settings.log_level.lower(),
            "accesslog": None,
            "post_worker_init": _rate_limit_invalid_request_lines,
            "worker_exit": self._worker_exit,
        }
        for key, value in cfg.items():
            self.cfg.set(key, value)
        from chatbot.web import edge_worker

        # Set in the master before the workers fork, so every worker's connections use it.
        edge_worker.READ_TIMEOUT_SECONDS = self.settings.http_body_timeout_seconds

    def load(self) -> Any:
        # Runs once in each worker process, after the fork: a database pool and the clock's
        # threads must never cross a fork, and each process runs exactly one clock (its
        # request threads share it).
        from sqlalchemy.exc import SQLAlchemyError

        from chatbot.cli_support import database_problem
        from chatbot.logging_setup import configure_logging
        from chatbot.root import build_root, build_web, job_clock
        from chatbot.services import build_services

        configure_logging(self.settings.log_level)
        # Migrating here (not in the master) keeps the master small; upgrade() is safe to run
        # from several workers at once.
        try:
            services = build_services(self.settings, migrate=True)
        except SQLAlchemyError as exc:
            # One clear line, then exit code 3 so gunicorn stops instead of respawning forever.
            print(database_problem(exc, self.settings.database_url), file=sys.stderr)
            sys.exit(_WORKER_BOOT_ERROR)
        root = build_root(services)
        if self.embedded_clock:
            self.clock = job_clock(root)
        router, _app = build_web(root, self.clock)
        if self.clock is not None:
            self.clock.start()
        return router

    def _worker_exit(self, _arbiter: Any, _worker: Any) -> None:
        # Called in the worker process as it exits: running jobs finish and free their leases.
        if self.clock is not None:
            self.clock.stop()


def _rate_limit_invalid_request_lines(_worker: Any) -> None:
    # Gunicorn logs a line for each malformed request it refuses itself (bad Content-Length,
    # broken request line); a flood of them must not fill the disk either.
    import logging

    from chatbot.web.refusals import RateLimitedRefusals

    logging.getLogger("gunicorn.error").addFilter(RateLimitedRefusals())
