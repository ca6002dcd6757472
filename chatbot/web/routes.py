"""A tiny WSGI router: Slack's endpoint, health, webhooks and the HTTP context pack."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

MAX_BODY = 1_000_000


@dataclass
class WebRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, list[str]] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class WebResponse:
    status: int
    body: bytes | str = b""
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, payload: Any) -> WebResponse:
        return cls(status, json.dumps(payload))


Handler = Callable[[WebRequest], WebResponse]

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Router:
    def __init__(self, bolt_app: App | None) -> None:
        self._slack = SlackRequestHandler(bolt_app) if bolt_app is not None else None
        self._exact: dict[tuple[str, str], Handler] = {}
        self._prefix: list[tuple[str, str, Handler]] = []
        self._max_body: dict[str, int] = {}
        self.add("GET", "/healthz", lambda _r: WebResponse.json(200, {"ok": True}))

    def add(self, method: str, path: str, handler: Handler, max_body: int = MAX_BODY) -> None:
        self._exact[(method, path)] = handler
        self._max_body[path] = max_body

    def add_prefix(
        self, method: str, prefix: str, handler: Handler, max_body: int = MAX_BODY
    ) -> None:
        self._prefix.append((method, prefix, handler))
        self._max_body[prefix] = max_body

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and self._slack is not None:
            return self._slack(environ, start_response)
        handler = self._exact.get((method, path))
        if handler is None:
            handler = next(
                (h for m, p, h in self._prefix if m == method and path.startswith(p)), None
            )
        if handler is None:
            known = any(p == path for (_m, p) in self._exact)
            return self._send(
                start_response, WebResponse.json(405 if known else 404, {"ok": False})
            )
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self._max_body.get(path, MAX_BODY):
            return self._send(
                start_response, WebResponse.json(413, {"ok": False, "error": "too large"})
            )
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        request = WebRequest(method, path, headers, body, parse_qs(environ.get("QUERY_STRING", "")))
        return self._send(start_response, handler(request))

    @staticmethod
    def _send(start_response: Callable[..., Any], response: WebResponse) -> Iterable[bytes]:
        body = response.body.encode() if isinstance(response.body, str) else response.body
        status = f"{response.status} {_REASONS.get(response.status, 'Status')}"
        start_response(
            status, [("Content-Type", response.content_type), ("Content-Length", str(len(body)))]
        )
        return [body]
