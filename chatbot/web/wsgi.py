"""Builds the whole WSGI application from settings: what `chatbot serve` runs."""

from __future__ import annotations

from slack_bolt import App

from chatbot.services import Services
from chatbot.slack.app import build_app
from chatbot.slack.executor import TrackedExecutor
from chatbot.web.routes import Router


def build_web(services: Services, executor: TrackedExecutor | None = None) -> tuple[Router, App]:
    app = build_app(services, executor)
    settings = services.settings
    secret = settings.slack_signing_secret
    router = Router(
        app,
        signing_secret=secret.get_secret_value() if secret else None,
        body_timeout=settings.http_body_timeout_seconds,
    )
    from chatbot.web import health, webhooks

    webhooks.register(router, services)
    health.register_routes(router, services)
    return router, app
