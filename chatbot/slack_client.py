"""The bot's WebClient: pointed at SLACK_API_URL, retrying on rate limits and 5xx."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from chatbot.settings import Settings

DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 carries no usable Retry-After


def retry_after_seconds(response: HttpResponse) -> float:
    """Slack's Retry-After header in seconds (DEFAULT_RETRY_AFTER when missing or garbled)."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list) and values else values
            try:
                return max(0.0, float(str(value)))
            except ValueError:
                return DEFAULT_RETRY_AFTER
    return DEFAULT_RETRY_AFTER


class RateLimitWait(RateLimitErrorRetryHandler):
    """Retries a 429 after exactly the Retry-After Slack asked for, waiting through `wait`.

    `wait` is the services clock's `sleep`, so tests with a frozen clock see the wait without
    spending it.
    """

    def __init__(self, wait: Callable[[float], None], max_retry_count: int = 3) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.wait = wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("rate limited without a response")
        state.next_attempt_requested = True
        self.wait(retry_after_seconds(response))
        state.increment_current_attempt()


def bot_client(
    settings: Settings,
    wait: Callable[[float], None] | None = None,
    retries: bool = True,
    logger: logging.Logger | None = None,
) -> WebClient:
    """The bot's client. With `retries=False` every failure is raised at once: the outbox's
    sender retries itself, waiting Retry-After in the database (not on a thread), and looks
    before posting again after an answer that was lost (the library's retry of a 5xx or a
    dropped connection would post a message twice)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    handlers: list[Any] = []
    if retries:
        handlers = [
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitWait(wait or time.sleep, max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ]
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=handlers,
        logger=logger,
    )
