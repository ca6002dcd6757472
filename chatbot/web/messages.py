"""What a handler receives and returns: the request and response every route speaks.

They live apart from the router so that handlers (the Slack endpoint, the webhooks) and the
router that registers them can both import them without importing each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Why a 4xx/5xx was answered, for the refusal log line (never the body).
    reason: str = ""

    @classmethod
    def json(cls, status: int, payload: Any) -> WebResponse:
        reason = str(payload.get("error", "")) if isinstance(payload, dict) else ""
        return cls(status, json.dumps(payload), reason=reason)

    @classmethod
    def refusal(cls, status: int, reason: str) -> WebResponse:
        return cls.json(status, {"ok": False, "error": reason})


Handler = Callable[[WebRequest], WebResponse]
