"""`chatbot deploy record`: a CI pipeline records a deployment (same rules as the webhook)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape

from chatbot.cli_support import console, err, services_or_exit

deploy_app = typer.Typer(no_args_is_help=True, help="Deployments, recorded from CI.")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with a zone offset (`2026-11-18T10:00:00Z`, `...+01:00`)."""
    from chatbot.deploys.service import DeploymentError

    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DeploymentError(
            f"--at {text!r} is not a time; write it like 2026-11-18T10:00:00Z"
        ) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise DeploymentError(
            f"--at {text!r} has no zone offset; add Z or +01:00, e.g. 2026-11-18T10:00:00Z"
        )
    return when


def _refuse(message: str) -> typer.Exit:
    err.print(f"[red]{escape(message)}[/red]")
    return typer.Exit(2)


@deploy_app.command("record")
def record(
    deployment_id: Annotated[str, typer.Option("--id", help="The pipeline's deployment id.")],
    service: Annotated[str, typer.Option("--service", help="The service deployed.")],
    env: Annotated[str, typer.Option("--env", help="Environment, e.g. production.")],
    status: Annotated[
        str, typer.Option("--status", help="pending, in_progress, success, failure, inactive.")
    ],
    pr: Annotated[
        list[str] | None, typer.Option("--pr", help="A PR it ships: owner/repo#12 (repeat).")
    ] = None,
    commit: Annotated[
        list[str] | None, typer.Option("--commit", help="A full commit SHA it ships (repeat).")
    ] = None,
    issue: Annotated[
        list[str] | None, typer.Option("--issue", help="A Jira key it ships (repeat).")
    ] = None,
    rollback_of: Annotated[
        str | None, typer.Option("--rollback-of", help="Id of the deployment it rolls back.")
    ] = None,
    hotfix_of: Annotated[
        str | None, typer.Option("--hotfix-of", help="Id of the deployment it fixes.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="When, with a zone offset (2026-11-18T10:00:00Z); default now."),
    ] = None,
) -> None:
    """Record a deployment (spec: the first success or failure is final; ids are idempotent)."""
    from chatbot.deploys.service import DeploymentError, record_deployment

    try:
        when = parse_time(at) if at is not None else None
    except DeploymentError as exc:
        raise _refuse(str(exc)) from None
    services = services_or_exit()
    try:
        recorded = record_deployment(
            services.db,
            services.clock,
            source="cli",
            external_id=deployment_id,
            environment=env,
            status=status,
            at=when,
            service=service,
            prs=pr or [],
            commits=commit or [],
            issues=issue or [],
            rollback_of=rollback_of,
            hotfix_of=hotfix_of,
        )
    except DeploymentError as exc:
        raise _refuse(str(exc)) from None
    when_text = (
        recorded.deployed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if recorded.deployed_at
        else "not deployed yet"
    )
    console.print(
        f"Deployment {recorded.external_id}: {recorded.status}, {when_text}"
        f" ({recorded.changes_added} change{'s' if recorded.changes_added != 1 else ''} added)",
        markup=False,
        highlight=False,
    )
