"""POST /slack/events: the Slack signature is checked on the raw bytes before Bolt sees them.

Bolt parses the body (form fields, the `payload` JSON) before its own signature check, so an
unsigned request with a broken `payload` would make it raise. Here the signature and the
5-minute window come first; a request that fails them is refused with 401 without any parsing.
What Bolt's parser still raises on a correctly signed body becomes a 400.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

from chatbot.web.messages import WebRequest, WebResponse
from chatbot.web.slack_shape import shape_problem

PATH = "/slack/events"
MAX_BODY = 1_000_000

_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# Headers the server sets itself; a Bolt response must not repeat them.
_SERVER_HEADERS = {"content-length", "connection", "transfer-encoding", "keep-alive"}


class SlackEndpoint:
    def __init__(self, app: App, signing_secret: str | None) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def __call__(self, request: WebRequest) -> WebResponse:
        if _is_ssl_check(request):
            # Slack's certificate check carries no payload; Bolt answers it unsigned too.
            return WebResponse(200, b"", "text/plain")
        problem = self._unverified(request)
        if problem is not None:
            return WebResponse.refusal(401, problem)
        try:
            text = request.body.decode("utf-8")
            bolt_request = BoltRequest(body=text, query=request.query, headers=request.headers)
        except Exception:
            # Bolt's parser raises whatever the malformed body provokes (JSON errors,
            # AttributeError on a list where an object belongs, ...): all of it is bad input.
            return WebResponse.refusal(400, "body is not a Slack payload")
        problem = shape_problem(bolt_request.body)
        if problem is not None:
            return WebResponse.refusal(400, f"not a Slack payload: {problem}")
        return _to_web(self._app.dispatch(bolt_request))

    def _unverified(self, request: WebRequest) -> str | None:
        """Why the request is not provably from Slack, or None when it is."""
        if self._verifier is None:
            return "SLACK_SIGNING_SECRET is not set on the server"
        timestamp = request.header("x-slack-request-timestamp")
        signature = request.header("x-slack-signature")
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return "missing or malformed Slack signature"
        # The signature covers the exact bytes. Slack always sends UTF-8; a body that is not
        # cannot match, and replacing bad bytes keeps the verifier from raising on it.
        body = request.body.decode("utf-8", errors="replace")
        if not self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            return "invalid Slack signature or timestamp older than 5 minutes"
        return None


def _is_ssl_check(request: WebRequest) -> bool:
    if not request.body.startswith(b"ssl_check=") or len(request.body) > 200:
        return False
    fields = parse_qs(request.body.decode("latin-1"))
    return fields.get("ssl_check") == ["1"] and "payload" not in fields


def _to_web(response: BoltResponse) -> WebResponse:
    if 400 <= response.status < 500:
        # Bolt's own refusals (no listener matched, ...) get the same short JSON as the rest.
        reason = "no listener for this request" if response.status == 404 else "refused by Bolt"
        return WebResponse.refusal(response.status, reason)
    content_type = "text/plain; charset=utf-8"
    extra: list[tuple[str, str]] = []
    for name, values in response.headers.items():
        lname = name.lower()
        if lname == "content-type":
            content_type = values[0] if values else content_type
        elif lname not in _SERVER_HEADERS:
            extra += [(name, v) for v in values]
    body = response.body if isinstance(response.body, str) else str(response.body or "")
    return WebResponse(response.status, body, content_type, extra)
