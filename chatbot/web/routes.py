"""A tiny WSGI router: Slack's endpoint, health, webhooks and the HTTP context pack.

It is also the HTTP edge's guard: nothing a client sends can make it answer 500 or log a
traceback. Unknown paths and methods are refused before a byte of the body is read; a body is
read only up to its route's cap (413 beyond) and within a deadline (408); what a handler raises
while parsing the body (ValueError, UnicodeDecodeError, JSON errors) is a 400; an unreachable
database is a 503. Every refusal gets one rate-limited log line without the body.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from sqlalchemy import exc as sa_exc

from chatbot.db.outage import is_outage, outage_reason
from chatbot.web.body import BodyError, ReadWatchdog, read_body
from chatbot.web.messages import Handler, WebRequest, WebResponse
from chatbot.web.refusals import RefusalLog, printable
from chatbot.web.slack_endpoint import MAX_BODY as SLACK_MAX_BODY
from chatbot.web.slack_endpoint import PATH as SLACK_PATH
from chatbot.web.slack_endpoint import SlackEndpoint

__all__ = ["Handler", "Route", "Router", "WebRequest", "WebResponse", "status_phrase"]

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000
BODY_TIMEOUT_SECONDS = 10.0
# Methods whose requests carry no body: nothing is read for them, whatever the headers say.
_BODILESS = {"GET", "HEAD", "OPTIONS", "DELETE"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    max_body: int
    prefix: bool = False

    def matches_path(self, path: str) -> bool:
        return path.startswith(self.path) if self.prefix else path == self.path

    @property
    def endpoint(self) -> str:
        """The route as it is named in logs: `/context/*` for a prefix route."""
        return self.path + "*" if self.prefix else self.path


class Router:
    def __init__(
        self,
        bolt_app: App | None,
        signing_secret: str | None = None,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        refusals: RefusalLog | None = None,
    ) -> None:
        self._routes: list[Route] = []
        self._body_timeout = body_timeout
        self._watchdog = ReadWatchdog()
        self.refusals = refusals or RefusalLog()
        self.add("GET", "/healthz", lambda _r: WebResponse.json(200, {"ok": True}))
        if bolt_app is not None:
            self.add("POST", SLACK_PATH, SlackEndpoint(bolt_app, signing_secret), SLACK_MAX_BODY)

    def add(self, method: str, path: str, handler: Handler, max_body: int = MAX_BODY) -> None:
        # Registering a method and path again replaces the first (e.g. the full /healthz).
        key = (method.upper(), path)
        self._routes = [r for r in self._routes if r.prefix or (r.method, r.path) != key]
        self._routes.append(Route(method.upper(), path, handler, max_body))

    def add_prefix(
        self, method: str, prefix: str, handler: Handler, max_body: int = MAX_BODY
    ) -> None:
        self._routes.append(Route(method.upper(), prefix, handler, max_body, prefix=True))

    @property
    def routes(self) -> list[Route]:
        """Every registered route (for tests that must cover all endpoints)."""
        return list(self._routes)

    def match(self, method: str, path: str) -> tuple[Route | None, bool]:
        """The route for (method, path), exact before the longest prefix; and whether any route
        has this path at all (405 rather than 404)."""
        on_path = [r for r in self._routes if r.matches_path(path)]
        exact = [r for r in on_path if not r.prefix]
        prefixed = sorted((r for r in on_path if r.prefix), key=lambda r: -len(r.path))
        for route in exact + prefixed:
            if route.method == method:
                return route, True
        return None, bool(on_path)

    def max_body(self, method: str, path: str) -> int:
        route, _known = self.match(method, path)
        return route.max_body if route is not None else 0

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO") or "/")
        client = str(environ.get("REMOTE_ADDR", "?"))
        route: Route | None = None
        try:
            route, known = self.match(method, path)
            if route is None:
                response = WebResponse.refusal(
                    405 if known else 404,
                    f"{method} not allowed here" if known else "no such endpoint",
                )
            else:
                response = self._handle(route, method, path, environ)
        except Exception as exc:  # the edge's last resort: one line, no traceback
            response = WebResponse.refusal(500, "internal error")
            _log_fault(method, route.endpoint if route else path, exc)
        if 400 <= response.status < 500:
            # A fault (5xx) was logged where it happened; a refusal gets its line here.
            endpoint = route.endpoint if route is not None else path
            self.refusals.refused(method, endpoint, response.status, response.reason, client)
        return self._send(start_response, response)

    def _handle(self, route: Route, method: str, path: str, environ: dict[str, Any]) -> WebResponse:
        try:
            body = (
                b""
                if method in _BODILESS
                else read_body(environ, route.max_body, self._body_timeout, self._watchdog)
            )
        except BodyError as exc:
            return WebResponse.refusal(exc.status, exc.reason)
        headers = {
            k[5:].replace("_", "-").lower(): str(v)
            for k, v in environ.items()
            if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        request = WebRequest(method, path, headers, body, query)
        try:
            response = route.handler(request)
        except (ValueError, UnicodeDecodeError) as exc:
            # json.JSONDecodeError is a ValueError: a body the handler could not parse.
            return WebResponse.refusal(400, _parse_reason(exc))
        except Exception as exc:
            status, reason = _server_fault(exc)
            if status >= 500:
                _log_fault(method, route.endpoint, exc)
            return WebResponse.refusal(status, reason)
        if not isinstance(response, WebResponse):
            raise TypeError(f"handler for {route.endpoint} returned {type(response).__name__}")
        return response

    @staticmethod
    def _send(start_response: Callable[..., Any], response: WebResponse) -> Iterable[bytes]:
        body = response.body.encode() if isinstance(response.body, str) else response.body
        status = f"{response.status} {status_phrase(response.status)}"
        headers = [("Content-Type", response.content_type), ("Content-Length", str(len(body)))]
        start_response(status, headers + list(response.headers))
        return [body]


def status_phrase(status: int) -> str:
    """The reason phrase for a status line; a code the standard library does not name still
    gets a line a client can parse."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _parse_reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "body is not valid UTF-8"
    if isinstance(exc, json.JSONDecodeError):
        return "body is not valid JSON"
    return "malformed request"


def _server_fault(exc: Exception) -> tuple[int, str]:
    """503 when the database cannot be reached (retrying later helps), 400 when the database
    refused a value the request carried, else 500."""
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return 503, "database unavailable, retry later"
    if isinstance(exc, sa_exc.DataError):
        return 400, "a value in the request cannot be stored"
    return 500, "internal error"


def _log_fault(method: str, endpoint: str, exc: BaseException) -> None:
    """One line naming the exception and where it was raised; no traceback, no message text
    (it can quote the request). An unreachable database says the database's own reason
    instead (the server's first line: a host, a port, a timeout, never the request)."""
    if is_outage(exc):
        log.warning(
            "%s %s answered 503: the database is unreachable (%s)",
            printable(method, 10),
            printable(endpoint),
            printable(outage_reason(exc), 300),
        )
        return
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    log.error(
        "%s %s failed: %s%s", printable(method, 10), printable(endpoint), type(exc).__name__, where
    )
