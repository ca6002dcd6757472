"""Which Web API methods exist and which arguments each takes, read from Slack's published
OpenAPI document (`schemas/slack_web_openapi_v2.json`) and a small sourced supplement for what
Slack added after it (`schemas/slack_web_api_supplement.json`); see `schemas/README.md`.

The fake Slack checks every request against this table, so a method Slack does not have, an
argument it does not take or a required argument left out fails the test that sent it. It
reads only the published documents, never the bot's code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).parent / "schemas"
OPENAPI = SCHEMAS / "slack_web_openapi_v2.json"
SUPPLEMENT = SCHEMAS / "slack_web_api_supplement.json"

# Every method takes the token, as an Authorization header or as a POST parameter.
TOKEN = "token"


@dataclass(frozen=True)
class MethodSpec:
    name: str
    arguments: frozenset[str]
    required: frozenset[str]


@dataclass(frozen=True)
class Violation:
    """A request Slack's published API does not allow, and how Slack would answer it."""

    method: str
    error: str  # `unknown_method` or `invalid_arguments`
    messages: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method}: {self.error} ({'; '.join(self.messages)})"


@cache
def methods() -> dict[str, MethodSpec]:
    """Method name -> its arguments, from the OpenAPI document plus the supplement."""
    arguments: dict[str, set[str]] = {}
    required: dict[str, set[str]] = {}
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    for path, operations in document["paths"].items():
        name = path.strip("/")
        arguments.setdefault(name, set())
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                arguments.setdefault(name, set()).add(parameter["name"])
                if parameter.get("required"):
                    required.setdefault(name, set()).add(parameter["name"])
    supplement = json.loads(SUPPLEMENT.read_text(encoding="utf-8"))
    everywhere = frozenset({TOKEN, *supplement["every_method"]["arguments"]})
    for section in ("methods", "arguments"):
        for name, entry in supplement[section].items():
            arguments.setdefault(name, set())  # a method may take only the token
            for argument, is_required in entry["arguments"].items():
                arguments.setdefault(name, set()).add(argument)
                if is_required:
                    required.setdefault(name, set()).add(argument)
    for name, entry in supplement["required"].items():
        required.setdefault(name, set()).update(entry["arguments"])
    return {
        name: MethodSpec(
            name,
            frozenset(args | everywhere),
            frozenset(required.get(name, set()) - {TOKEN}),
        )
        for name, args in arguments.items()
    }


def violation(method: str, params: dict[str, Any]) -> Violation | None:
    """How Slack's published API refuses this request, or None when it allows it."""
    spec = methods().get(method)
    if spec is None:
        return Violation(method, "unknown_method", (f"no method {method!r} in Slack's Web API",))
    messages = [
        f"[ERROR] unknown argument: {name}" for name in sorted(set(params) - spec.arguments)
    ]
    messages += [
        f"[ERROR] missing required argument: {name}"
        for name in sorted(spec.required)
        if params.get(name) in (None, "")
    ]
    if messages:
        return Violation(method, "invalid_arguments", tuple(messages))
    return None
