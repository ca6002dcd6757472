"""POST /webhooks/deploy: a CI pipeline reports a deployment (docs/deployments.md).

`Authorization: Bearer $DEPLOY_WEBHOOK_TOKEN`, compared in constant time before the body
is read as JSON. The body (at most 1 MB) is one JSON object:

    {"id": "d-118", "service": "payments-api", "environment": "production",
     "deployed_at": "2026-11-18T10:00:00Z", "status": "success",
     "changes": {"prs": [{"repo": "acme/payments", "number": 12}],
                 "commits": ["9f1c…"], "issues": ["PAY-7"]},
     "rollback_of": null, "hotfix_of": "d-117"}

Answers: 201 the first time an id is seen, 200 after; 400 with the reason for a body that
is not such an object (a time without a zone offset included); 401 for a bad token, with
nothing stored; 413 over 1 MB.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError

from chatbot.deploys.service import DeploymentError, record_deployment
from chatbot.services import Services
from chatbot.web.routes import Router, WebRequest, WebResponse

log = logging.getLogger(__name__)
MAX_DEPLOY_BODY = 1_000_000

Text = Annotated[str, Field(min_length=1, max_length=200, strict=True)]


class _PullRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    repo: Text
    number: StrictInt


class _Changes(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prs: list[_PullRequest] = []
    commits: list[Text] = []
    issues: list[Text] = []


class DeployEvent(BaseModel):
    """The webhook's body; unknown keys are ignored so senders may add their own."""

    model_config = ConfigDict(extra="ignore")

    id: Text
    service: Text
    environment: Annotated[str, Field(min_length=1, max_length=100, strict=True)]
    status: Annotated[str, Field(min_length=1, max_length=32, strict=True)]
    deployed_at: AwareDatetime | None = None
    changes: _Changes = _Changes()
    rollback_of: Text | None = None
    hotfix_of: Text | None = None


def authorized(request: WebRequest, token: str | None) -> bool:
    """True only for `Authorization: Bearer <token>` with the configured token."""
    if not token:
        return False
    scheme, _, given = request.header("authorization").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _reason(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "body"
    message = str(first.get("msg", "is invalid"))
    if first.get("type") == "timezone_aware":
        message = "needs a zone offset, e.g. 2026-11-18T10:00:00Z or +01:00"
    return f"{where}: {message}"


def _bad(reason: str) -> WebResponse:
    return WebResponse.json(400, {"ok": False, "error": reason})


def handle_deploy(services: Services, request: WebRequest) -> WebResponse:
    token = services.settings.deploy_webhook_token
    if not authorized(request, token.get_secret_value() if token else None):
        return WebResponse.json(401, {"ok": False, "error": "bad or missing bearer token"})
    try:
        raw: Any = json.loads(request.body or b"")
    except ValueError:
        return _bad("body is not JSON")
    if not isinstance(raw, dict):
        return _bad("body must be a JSON object")
    try:
        event = DeployEvent.model_validate_json(request.body)
    except ValidationError as exc:
        return _bad(_reason(exc))
    try:
        recorded = record_deployment(
            services.db,
            services.clock,
            source="webhook",
            external_id=event.id,
            environment=event.environment,
            status=event.status,
            at=event.deployed_at,
            service=event.service,
            prs=[(pr.repo, pr.number) for pr in event.changes.prs],
            commits=event.changes.commits,
            issues=event.changes.issues,
            rollback_of=event.rollback_of,
            hotfix_of=event.hotfix_of,
        )
    except DeploymentError as exc:
        return _bad(str(exc))
    log.info("deployment %s recorded (status %s)", recorded.external_id, recorded.status)
    return WebResponse.json(
        201 if recorded.created else 200,
        {
            "ok": True,
            "id": recorded.external_id,
            "status": recorded.status,
            "deployed_at": recorded.deployed_at.isoformat() if recorded.deployed_at else None,
            "changes_added": recorded.changes_added,
        },
    )


def register_routes(router: Router, services: Services) -> None:
    router.add(
        "POST", "/webhooks/deploy", lambda r: handle_deploy(services, r), max_body=MAX_DEPLOY_BODY
    )
