"""`chatbot serve`: the WSGI app behind gunicorn (threaded workers)."""

from __future__ import annotations

import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from chatbot.settings import Settings

_WORKER_BOOT_ERROR = 3  # gunicorn.arbiter.Arbiter.WORKER_BOOT_ERROR


class ThroughlineServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, host: str = "0.0.0.0") -> None:
        self.settings = settings
        self.host = host
        super().__init__()

    def load_config(self) -> None:
        cfg: dict[str, Any] = {
            "bind": f"{self.host}:{self.settings.port}",
            "workers": self.settings.web_concurrency,
            "worker_class": "gthread",
            "threads": self.settings.web_threads,
            "timeout": 30,
            "graceful_timeout": 20,
            "keepalive": 5,
            "loglevel": self.settings.log_level.lower(),
            "accesslog": None,
        }
        for key, value in cfg.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Built inside each worker: a database pool must never cross a fork.
        from sqlalchemy.exc import OperationalError

        from chatbot.logging_setup import configure_logging
        from chatbot.services import build_services
        from chatbot.web.wsgi import build_web

        configure_logging(self.settings.log_level)
        # Migrating here (not in the master) keeps the master small; upgrade() is safe to run
        # from several workers at once.
        try:
            services = build_services(self.settings, migrate=True)
        except OperationalError as exc:
            # One clear line, then exit code 3 so gunicorn stops instead of respawning forever.
            print(f"Cannot reach the database (DATABASE_URL): {exc.orig}", file=sys.stderr)
            sys.exit(_WORKER_BOOT_ERROR)
        router, _app = build_web(services)
        return router
