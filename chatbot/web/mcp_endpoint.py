"""POST /mcp: the MCP server (Streamable HTTP, stateless, JSON answers) on the bot's own port.

The router reads the body within its cap; this handler then checks the bearer token (a live
personal agent token, within its rate limit) before anything parses the body, and only then
hands the request to the MCP SDK through `McpBridge`. The SDK's handlers run the tools in a
worker thread (they use the database and Slack) as the token's person.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError
from sqlalchemy.exc import SQLAlchemyError

from chatbot.agents.access import CachedMembership, Membership, Viewer, viewer_for
from chatbot.agents.models import AgentToken
from chatbot.agents.service import AgentService
from chatbot.agents.tokens import Refusal, TokenService
from chatbot.decisions.pack import Names
from chatbot.errors import UserError
from chatbot.metrics.engine import weekly_digest_for
from chatbot.services import Services
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService
from chatbot.web.mcp_bridge import CALLER_KEY, McpBridge
from chatbot.web.mcp_tools import INTENT_URI, PACK_URI, TOOLS, AgentTools, Json, Poster
from chatbot.web.routes import Router, WebRequest, WebResponse

log = logging.getLogger(__name__)
T = TypeVar("T")

PATH = "/mcp"
MAX_BODY = 256 * 1024
MESSAGE_MAX = 300
HOW_TO_ASK = (
    "POST one JSON-RPC message with Content-Type: application/json and "
    "Accept: application/json, text/event-stream."
)  # a tool call carries at most a few 10,000-character texts
SERVER_NAME = "throughline"
INSTRUCTIONS = (
    "Throughline holds this team's intents (outcome, constraints, acceptance checks) and "
    "decisions (what, why, alternatives). Read them before you change code: find_context, "
    "get_intent, context_pack. Write back where people see it: log_decision proposes (a person "
    "accepts), post_progress and propose_evidence post in the intent's Slack thread."
)
_REFUSAL_KEYS = {
    Refusal.MISSING: "agents.errors.unauthorized",
    Refusal.UNKNOWN: "agents.errors.unauthorized",
    Refusal.REVOKED: "agents.errors.revoked",
    Refusal.EXPIRED: "agents.errors.expired",
}
# JSON-RPC "server error" range (-32000 to -32099): requests we understood but will not serve.
UNAUTHORIZED = -32001
ACCESS_DENIED = -32003
RATE_LIMITED = -32029
INTERNAL = -32603


@dataclass(frozen=True)
class Caller:
    token: AgentToken


class McpApp:
    """Everything /mcp needs, built once per process."""

    def __init__(
        self,
        services: Services,
        agents: AgentService,
        membership: Membership,
        names: Names,
        poster: Poster,
        channel_is_private: Callable[[str], bool],
    ) -> None:
        self.services = services
        self.tokens = TokenService(services.db, services.clock)
        self.membership = CachedMembership(membership, services.clock)
        self.tools = AgentTools(
            agents,
            services.prompts,
            names,
            poster,
            self._digest,
            channel_is_private,
        )
        self.server: Server[Any] = Server(
            SERVER_NAME,
            version="1",
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_templates,
            on_read_resource=self._read_resource,
        )
        self.bridge = McpBridge(self.server, MAX_BODY)
        # Built once: generating the eight JSON schemas took 10-20 ms on every tools/list.
        self._tools = [
            types.Tool(
                name=spec.name,
                description=spec.description,
                input_schema=spec.args.model_json_schema(),
                annotations=types.ToolAnnotations(
                    read_only_hint=spec.read_only,
                    destructive_hint=False,
                    idempotent_hint=True,
                    open_world_hint=False,
                ),
            )
            for spec in TOOLS
        ]

    def _digest(self, team: Team, week: str | None) -> dict[str, object]:
        return weekly_digest_for(self.services.db, team, week, now=self.services.clock.now())

    def viewer(self, token: AgentToken) -> Viewer:
        teams = TeamService(self.services.db, self.services.clock).all()
        return viewer_for(self.services.db, token.user_id, teams, self.membership)

    # --- HTTP -------------------------------------------------------------------------------
    def handle(self, request: WebRequest) -> WebResponse:
        header = request.header("authorization")
        secret = header[7:].strip() if header[:7].lower() == "bearer " else ""
        checked = self.tokens.check(secret, self.services.settings.mcp_calls_per_minute)
        prompts = self.services.prompts
        if checked.refusal is not None or checked.token is None:
            reason = prompts.text(_REFUSAL_KEYS[checked.refusal or Refusal.MISSING])
            answer = refusal(401, UNAUTHORIZED, reason, f"token {checked.refusal}")
            answer.headers.append(("WWW-Authenticate", 'Bearer realm="throughline"'))
            return answer
        if checked.rate_limited:
            seconds = checked.retry_after_seconds
            reason = prompts.text("agents.errors.rate_limited", seconds=seconds)
            answer = refusal(429, RATE_LIMITED, reason, "rate limited")
            answer.headers.append(("Retry-After", str(seconds)))
            return answer
        try:
            got = self.bridge.handle(
                request.method, PATH, request.headers, request.body, Caller(checked.token)
            )
        except TimeoutError:
            return refusal(503, INTERNAL, prompts.text("agents.errors.busy"), "mcp timeout")
        content_type = "application/json"
        extra: list[tuple[str, str]] = []
        for name, value in got.headers:
            if name.lower() == "content-type":
                content_type = value
            elif name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                extra.append((name, value))
        # The SDK answers its own 4xx with a JSON-RPC error; a 5xx would be a fault of ours.
        status = got.status if got.status < 500 else 503
        body = _short_error(got.body, got.status) if got.status >= 400 else got.body
        return WebResponse(status, body, content_type, extra, reason=f"mcp {got.status}")

    # --- MCP handlers (on the bridge's event loop; the work runs in a thread) ----------------
    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self._tools)

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        caller = _caller(ctx)
        arguments: Json = dict(params.arguments or {})

        def run() -> tuple[str, bool]:
            viewer = self.viewer(caller.token)
            answer = self.tools.call(viewer, caller.token, params.name, arguments)
            return answer.text, answer.is_error

        text, is_error = await self._in_thread(run, params.name)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], is_error=is_error
        )

    async def _list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        caller = _caller(ctx)

        def run() -> list[Team]:
            return list(self.viewer(caller.token).teams)

        teams = await self._in_thread(run, "resources/list")
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    name=f"pack-{team.name}",
                    title=f"Context pack: {team.name}",
                    uri=f"{PACK_URI}{team.name}",
                    mime_type="text/markdown",
                    description="Intents, checks, decisions and open questions of the team.",
                )
                for team in teams
            ]
        )

    async def _list_templates(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    name="context-pack",
                    uri_template=PACK_URI + "{team}",
                    mime_type="text/markdown",
                    description="A team's context pack, e.g. throughline://pack/payments.",
                ),
                types.ResourceTemplate(
                    name="intent",
                    uri_template=INTENT_URI + "{ref}",
                    mime_type="application/json",
                    description="One intent as JSON, e.g. throughline://intent/I-12.",
                ),
            ]
        )

    async def _read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        caller = _caller(ctx)
        uri = str(params.uri)

        def run() -> str:
            try:
                return self.tools.resource(self.viewer(caller.token), uri)
            except UserError as exc:
                raise MCPError(ACCESS_DENIED, exc.text(self.services.prompts)) from None

        text = await self._in_thread(run, "resources/read")
        mime = "text/markdown" if uri.startswith(PACK_URI) else "application/json"
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=mime, text=text)]
        )

    async def _in_thread(self, work: Callable[[], T], what: str) -> T:
        try:
            return await anyio.to_thread.run_sync(work)
        except MCPError:
            raise
        except SQLAlchemyError as exc:
            log.warning("mcp %s: database error %s", what[:40], type(exc).__name__)
            raise MCPError(INTERNAL, "database unavailable, retry later") from None
        except Exception as exc:  # one line, never a traceback to the agent or the log
            log.error("mcp %s failed: %s", what[:40], type(exc).__name__)
            raise MCPError(INTERNAL, "internal error") from None


def _caller(ctx: ServerRequestContext[Any]) -> Caller:
    request = ctx.request
    scope = getattr(request, "scope", None)
    caller = scope.get(CALLER_KEY) if isinstance(scope, dict) else None
    if not isinstance(caller, Caller):
        # Only requests that passed the bearer check reach the SDK; this is a wiring fault.
        raise MCPError(ACCESS_DENIED, "no authenticated caller")
    return caller


def _short_error(body: bytes, status: int) -> bytes:
    """The SDK's refusal as a JSON-RPC error with a message of at most MESSAGE_MAX characters
    (its validation messages can run to a kilobyte and quote what was sent); `data` (e.g. the
    protocol versions a client needs to retry with) is kept. An empty or non-JSON refusal
    gets one saying how a request must look."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    error = answer.get("error") if isinstance(answer, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(error, dict) or not isinstance(message, str) or not message:
        how = f"MCP request refused (HTTP {status}): {HOW_TO_ASK}"
        return json.dumps(
            {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": how}}
        ).encode()
    if len(message) <= MESSAGE_MAX:
        return body
    error["message"] = message[: MESSAGE_MAX - 1] + "…"
    return json.dumps(answer).encode()


def refusal(status: int, code: int, message: str, reason: str) -> WebResponse:
    """A refusal as a JSON-RPC error (id null): MCP clients show its message to the user,
    where a bare HTTP status would only say "Server returned an error response"."""
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}
    return WebResponse(status, json.dumps(body), reason=reason)


def register_routes(router: Router, app: McpApp) -> None:
    router.add("POST", PATH, app.handle, MAX_BODY)
