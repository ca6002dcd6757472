"""The Bolt app: one per process, listeners registered surface by surface."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.listener.listener_completion_handler import ListenerCompletionHandler
from slack_sdk import WebClient

from chatbot.background import TrackedExecutor
from chatbot.slack import actions, agent_listeners, commands, events, shortcuts, views
from chatbot.slack.failures import log_failure, tell_user_about_failure
from chatbot.slack.owed import Message, SlackOutbox, usable_response_url
from chatbot.slack.parts import SlackParts
from chatbot.slack.well_formed import well_formed

log = logging.getLogger(__name__)


def build_app(parts: SlackParts, executor: TrackedExecutor) -> App:
    services = parts.services
    settings = services.settings
    token = settings.slack_bot_token
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    bolt_logger = logging.getLogger("chatbot.bolt")
    # Bolt also reads SLACK_BOT_TOKEN from the environment and warns that the client's token
    # wins; they are the same token, so that warning would only mislead.
    if not any(isinstance(f, _SameTokenWarning) for f in bolt_logger.filters):
        bolt_logger.addFilter(_SameTokenWarning())
    # Bolt's single-workspace authorization would call auth.test on the first request, on
    # the request's own thread: a slow Slack held that acknowledgement past 3 s and an
    # unreachable one made it a 500. `authorize` answers from what is known (no call); each
    # request's client gets the token from it.
    app = App(
        signing_secret=secret,
        client=_tokenless(services.slack) if services.slack is not None else None,
        authorize=_authorize(parts) if token else None,
        process_before_response=False,
        listener_executor=executor,
        logger=bolt_logger,
    )
    app.middleware(well_formed(services.prompts))
    app.middleware(_owed_respond(parts.outbox))
    for surface in (commands, views, actions, events, shortcuts):
        surface.register(app, parts)
    agent_listeners.register(app, parts)

    @app.error
    def _on_error(
        error: Exception,
        body: dict[str, Any],
        client: WebClient,
        request: BoltRequest,
        response: BoltResponse | None,
    ) -> None:
        _AckKept.keep(request, response)
        log_failure(error, body)
        # On a thread of its own: Bolt holds the ack back until this handler returns, and
        # telling the person is a call to Slack that may be slow.
        try:
            executor.submit(
                tell_user_about_failure, client, body, error, services.prompts, parts.outbox
            )
        except RuntimeError:  # the pool is shutting down with the process
            tell_user_about_failure(client, body, error, services.prompts, parts.outbox)

    runner = app.listener_runner
    runner.listener_completion_handler = _AckKept(runner.listener_completion_handler)
    return app


class _AckKept(ListenerCompletionHandler):
    """A listener that raises after its ack still gets its ack sent.

    Bolt (process_before_response=False) runs the listener on another thread and waits for
    `ack()`. When the listener raises after acking, Bolt's error path sets the ack's response
    back to None; if that happens before the waiting thread has looked (a refused database
    fails within a millisecond), Bolt waits out the 3 s and answers 404, and Slack tells the
    person the command failed. The error handler keeps the ack's response; this puts it back
    once Bolt has finished with the failure (the handler returns at once, so the waiting thread
    sees no gap longer than a few microseconds).
    """

    _KEY = "throughline_kept_ack"

    def __init__(self, inner: ListenerCompletionHandler) -> None:
        self._inner = inner

    @classmethod
    def keep(cls, request: BoltRequest, response: BoltResponse | None) -> None:
        ack = request.context.ack
        # Bolt hands the error handler no response when the listener had acked already.
        if response is None and ack is not None and ack.response is not None:
            request.context[cls._KEY] = ack.response

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        kept = request.context.get(self._KEY)
        ack = request.context.ack
        if kept is not None and ack is not None and ack.response is None:
            ack.response = kept
        self._inner.handle(request=request, response=response)


def _authorize(parts: SlackParts) -> Callable[..., AuthorizeResult]:
    # A plain function: Bolt passes the arguments a function names (a method's `self` too).
    identity = parts.identity

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return identity.authorize(enterprise_id, team_id)

    return authorize


def _tokenless(client: WebClient) -> WebClient:
    """The bot's client without its token: Bolt then authorizes through `authorize` (a client
    with a token makes it use its own auth.test authorization)."""
    return WebClient(
        token=None,
        base_url=client.base_url,
        timeout=client.timeout,
        retry_handlers=list(client.retry_handlers or []),
        logger=client.logger,
    )


class OwedRespond:
    """Bolt's `respond`, through the outbox: a reply waits there while Slack is down, and
    one sent after the response_url's 30 minutes goes through the Web API instead."""

    def __init__(
        self, outbox: SlackOutbox, response_url: str | None, channel: str, user: str
    ) -> None:
        self.outbox = outbox
        self.response_url = response_url
        self.channel = channel
        self.user = user

    def __call__(
        self,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        **_ignored: Any,
    ) -> None:
        self.outbox.say(
            Message(
                self.channel or self.user,
                text,
                blocks,
                user=self.user or None,
                response_url=self.response_url,
                response_type=response_type or "ephemeral",
                replace_original=bool(replace_original),
                reply=True,
                tell=self.user or None,
            )
        )


def _owed_respond(outbox: SlackOutbox) -> Callable[..., Any]:
    def middleware(context: BoltContext, next: Callable[[], Any]) -> Any:
        url = context.response_url
        if url is not None:
            channel = context.channel_id or context.user_id or ""
            usable = usable_response_url(url)
            context["respond"] = OwedRespond(outbox, usable, channel, context.user_id or "")
        return next()

    return middleware


class _SameTokenWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()
