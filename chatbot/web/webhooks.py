"""HTTP endpoints other than Slack's; each domain adds its own here."""

from __future__ import annotations

from chatbot.services import Services
from chatbot.web.routes import Router


def register(router: Router, services: Services) -> None:
    """Domains register their webhooks (Jira, GitHub, deploy) and the context pack here."""
    from chatbot.jira.webhook import register_routes as jira_routes

    jira_routes(router, services)
    from chatbot.github.webhook import register_routes as github_routes

    github_routes(router, services)
    from chatbot.deploys.webhook import register_routes as deploy_routes

    deploy_routes(router, services)
    from chatbot.web.context_pack import register_routes as context_pack_routes

    context_pack_routes(router, services)
    from chatbot.web.mcp_endpoint import register_routes as mcp_routes

    mcp_routes(router, services)
