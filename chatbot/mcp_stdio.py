"""`chatbot mcp --url https://HOST/mcp`: the MCP server over stdio, as a thin client of /mcp.

For MCP clients that only start local commands. Every request is forwarded to the server's
/mcp with `THROUGHLINE_TOKEN` as the bearer token, so what an agent sees and may do is decided
there, exactly as over HTTP; this process holds no data and no database connection.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

SERVER_NAME = "throughline"


def upstream_client(url: str, token: str) -> Client:
    headers = {"Authorization": f"Bearer {token}"}
    transport = streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    # No client-side cache: a revoked token or a new decision shows on the next call.
    return Client(transport, cache=None)


def proxy_server(upstream: Client) -> Server[Any]:
    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return await upstream.list_tools()

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        result = await upstream.call_tool(params.name, dict(params.arguments or {}))
        if not isinstance(result, types.CallToolResult):
            raise TypeError(f"unexpected answer to tools/call: {type(result).__name__}")
        return result

    async def list_resources(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return await upstream.list_resources()

    async def list_templates(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return await upstream.list_resource_templates()

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        result = await upstream.read_resource(str(params.uri))
        if not isinstance(result, types.ReadResourceResult):
            raise TypeError(f"unexpected answer to resources/read: {type(result).__name__}")
        return result

    return Server(
        SERVER_NAME,
        version="1",
        instructions=upstream.instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )


async def serve_stdio(url: str, token: str) -> None:
    async with upstream_client(url, token) as upstream:
        server = proxy_server(upstream)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())


def stdio_problem(exc: BaseException, url: str) -> str | None:
    """One line for why serving stopped; None for a normal end (the client went away)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, KeyboardInterrupt | EOFError | SystemExit):
        return None
    if isinstance(exc, MCPError):
        return f"{url} refused: {exc.message}"
    if isinstance(exc, OSError) or "connect" in type(exc).__name__.lower():
        return f"Cannot reach {url} ({type(exc).__name__}); check --url and that the server runs."
    return f"MCP over stdio stopped: {type(exc).__name__}."
