"""Driving the server with the official MCP SDK client (HTTP and stdio), from sync tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

T = TypeVar("T")


def http_client(url: str, token: str | None, mode: str = "auto") -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    return Client(transport, mode=mode, cache=None)  # type: ignore[arg-type]


def run(client: Client, work: Callable[[Client], Awaitable[T]]) -> T:
    async def main() -> T:
        async with client as connected:
            return await work(connected)

    return asyncio.run(main())


def tool_json(result: Any) -> Any:
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


def tool_text(result: Any) -> str:
    return str(result.content[0].text)
