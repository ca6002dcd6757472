"""GET /context/<team>.md with `Authorization: Bearer <CONTEXT_HTTP_TOKEN>`: the team's
context pack (public decisions only) for people and AI agents."""

from __future__ import annotations

import hmac
from urllib.parse import unquote

from chatbot.decisions.pack import Names, build_pack, team_scope
from chatbot.services import Services
from chatbot.teams.service import TeamService
from chatbot.web.routes import Router, WebRequest, WebResponse

PREFIX = "/context/"


def register_routes(router: Router, services: Services, names: Names | None) -> None:
    def context_pack(request: WebRequest) -> WebResponse:
        expected = services.settings.context_http_token
        given = request.header("authorization").removeprefix("Bearer ").strip()
        if expected is None or not hmac.compare_digest(
            given.encode(), expected.get_secret_value().encode()
        ):
            return WebResponse.json(401, {"ok": False, "error": "bearer token required"})
        name = unquote(request.path.removeprefix(PREFIX))
        if not name.endswith(".md") or "/" in name:
            return WebResponse.json(404, {"ok": False, "error": "use /context/<team>.md"})
        team = TeamService(services.db, services.clock).get(name.removesuffix(".md"))
        if team is None:
            return WebResponse.json(404, {"ok": False, "error": "unknown team"})
        key = (request.query.get("key") or [None])[0]
        markdown = build_pack(services.db, team_scope(team, key=key), names)
        return WebResponse(200, markdown, "text/markdown; charset=utf-8")

    router.add_prefix("GET", PREFIX, context_pack)
