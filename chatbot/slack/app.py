"""The Bolt app: one per process, listeners registered surface by surface."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from chatbot.background import TrackedExecutor
from chatbot.slack import actions, agent_listeners, commands, events, shortcuts, views
from chatbot.slack.failures import tell_user_about_failure
from chatbot.slack.parts import SlackParts

log = logging.getLogger(__name__)


def build_app(parts: SlackParts, executor: TrackedExecutor) -> App:
    services = parts.services
    settings = services.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    bolt_logger = logging.getLogger("chatbot.bolt")
    # Bolt also reads SLACK_BOT_TOKEN from the environment and warns that the client's token
    # wins; they are the same token, so that warning would only mislead.
    if not any(isinstance(f, _SameTokenWarning) for f in bolt_logger.filters):
        bolt_logger.addFilter(_SameTokenWarning())
    app = App(
        token=None if services.slack is not None else token,
        signing_secret=secret,
        client=services.slack,
        # auth.test runs on the first request instead, so a start never waits on Slack.
        token_verification_enabled=False,
        process_before_response=False,
        listener_executor=executor,
        logger=bolt_logger,
    )
    for surface in (commands, views, actions, events, shortcuts):
        surface.register(app, parts)
    agent_listeners.register(app, parts)

    @app.error
    def _on_error(error: Exception, body: dict, client: WebClient, logger: logging.Logger) -> None:
        logger.exception("listener failed: %s", type(error).__name__)
        tell_user_about_failure(client, body, error, services.prompts)

    return app


class _SameTokenWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()
