"""GitHub's GraphQL API with its rate limits honoured (for the history backfill).

- Primary limit: when `X-RateLimit-Remaining` reaches 0, the next request waits until
  `X-RateLimit-Reset`; a 403/429 or a `RATE_LIMITED` error with no budget left does too.
- Secondary limit: a 403/429 with `Retry-After` waits that long; without it, a minute (as
  GitHub's documentation asks) and then longer.
- 5xx and dropped connections are retried with exponential backoff; a 502/504 (GitHub's
  answer to a query that took too long) also asks the caller to take smaller pages.
`sleep` and `now` are injectable so tests never sleep. The token never appears in errors.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import requests

GITHUB_API_URL = "https://api.github.com"
MAX_ATTEMPTS = 6
SECONDARY_DEFAULT_WAIT = 60.0


class GitHubApiError(Exception):
    """A one-line reason the backfill cannot go on (shown as is; never holds the token)."""


class QueryTooLarge(GitHubApiError):
    """GitHub timed out on the query (502/504) however often it was retried."""


def graphql_url(api_url: str) -> str:
    """github.com serves GraphQL at `/graphql`; Enterprise Server's REST base is
    `https://HOST/api/v3` and its GraphQL endpoint `https://HOST/api/graphql`."""
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base.removesuffix("/v3") + "/graphql"
    return base + "/graphql"


class GitHubClient:
    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        timeout: float = 60.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url = graphql_url(api_url)
        self._token = token
        self._sleep = sleep
        self._now = now
        self._timeout = timeout
        self._session = session or requests.Session()
        self._wait_until = 0.0
        self.requests_made = 0
        self.waited_seconds = 0.0

    def query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The `data` of one GraphQL query, after any waits and retries it needed."""
        backoff = 1.0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self._respect_budget()
            try:
                response = self._post(query, variables)
            except requests.RequestException as exc:
                if attempt == MAX_ATTEMPTS:
                    raise GitHubApiError(
                        f"cannot reach GitHub at {self.url} ({type(exc).__name__}); check "
                        "GITHUB_API_URL and the network"
                    ) from None
                self._wait(backoff)
                backoff *= 2
                continue
            self._note_budget(response)
            status = response.status_code
            if status == 401:
                raise GitHubApiError(
                    "GitHub refused GITHUB_TOKEN (401): check it is valid and not expired"
                )
            if status in (403, 429):
                if attempt == MAX_ATTEMPTS:
                    raise GitHubApiError(
                        f"GitHub kept answering {status} ({_message(response)}); try again later"
                    )
                self._wait_for_limit(response, attempt)
                continue
            if status >= 500:
                if attempt == MAX_ATTEMPTS:
                    error = QueryTooLarge if status in (502, 504) else GitHubApiError
                    raise error(f"GitHub answered {status} {MAX_ATTEMPTS} times; try again later")
                self._wait(backoff)
                backoff *= 2
                continue
            if status != 200:
                raise GitHubApiError(f"GitHub answered {status}: {_message(response)}")
            body = _json(response)
            errors = body.get("errors") or []
            if any(e.get("type") == "RATE_LIMITED" for e in errors):
                self._wait_for_limit(response, attempt)
                continue
            if errors:
                raise GitHubApiError(_graphql_error(errors[0]))
            data = body.get("data")
            if not isinstance(data, dict):
                raise GitHubApiError("GitHub answered without data")
            return data
        raise GitHubApiError("GitHub did not answer in time; try again later")

    def _post(self, query: str, variables: dict[str, Any]) -> requests.Response:
        self.requests_made += 1
        return self._session.post(
            self.url,
            json={"query": query, "variables": variables},
            headers={
                "Authorization": f"bearer {self._token}",
                "Accept": "application/vnd.github+json",
                "User-Agent": "throughline-backfill",
            },
            timeout=self._timeout,
        )

    def _note_budget(self, response: requests.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset = response.headers.get("X-RateLimit-Reset")
        if remaining is not None and reset is not None and remaining.strip() == "0":
            with contextlib.suppress(ValueError):
                self._wait_until = max(self._wait_until, float(reset) + 1)

    def _respect_budget(self) -> None:
        pause = self._wait_until - self._now()
        if pause > 0:
            self._wait(pause)
        self._wait_until = 0.0

    def _wait_for_limit(self, response: requests.Response, attempt: int) -> None:
        retry_after = response.headers.get("Retry-After")
        if retry_after is not None:
            try:
                self._wait(max(float(retry_after), 1.0))
                return
            except ValueError:
                pass
        if self._wait_until > self._now():
            return  # the primary budget is spent: the next request waits for its reset
        self._wait(SECONDARY_DEFAULT_WAIT * attempt)

    def _wait(self, seconds: float) -> None:
        self.waited_seconds += seconds
        self._sleep(seconds)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise GitHubApiError("GitHub answered something that is not JSON") from None
    if not isinstance(body, dict):
        raise GitHubApiError("GitHub answered something that is not a JSON object")
    return body


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no details"
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or "no details")[:200]


def _graphql_error(error: dict[str, Any]) -> str:
    kind = error.get("type")
    message = str(error.get("message") or "unknown error")[:300]
    if kind == "NOT_FOUND":
        return f"{message} (or GITHUB_TOKEN cannot read it: it needs the repo scope)"
    return f"GitHub refused the query: {message}"
