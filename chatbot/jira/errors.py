"""What can go wrong talking to Jira, sorted by what the caller should do about it."""

from __future__ import annotations


class JiraError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class JiraUnavailable(JiraError):
    """Down, slow, 5xx or 429: try again later (after `retry_after` seconds when given)."""

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class JiraAuthError(JiraError):
    """401/403: the URL answers but refuses these credentials."""


class JiraNotFound(JiraError):
    """404: no such ticket (or the bot's account cannot see it)."""


class JiraRejected(JiraError):
    """400-class: Jira understood and refused (bad project, required field, ...)."""
