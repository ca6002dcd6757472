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
    """Record a deployment (the first success or failure is final; ids are idempotent)."""
    from chatbot.deploys.service import (
        FINAL,
        FINAL_ALIASES,
        DeploymentError,
        record_deployment,
    )
    from chatbot.teams.service import TeamService

    try:
        when = parse_time(at) if at is not None else None
    except DeploymentError as exc:
        raise _refuse(str(exc)) from None
    services = services_or_exit()
    # A deployment finds its team by service; one no team lists would never be counted.
    listed = {
        name for team in TeamService(services.db, services.clock).all() for name in team.services
    }
    name = service.strip()
    if name not in listed:
        known = f" (teams list: {', '.join(sorted(listed))})" if listed else ""
        raise _refuse(
            f"No team lists the service {name!r}{known}: check --service, or add it with "
            f"`chatbot team set TEAM --service {name}`."
        )
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
    added = f"{recorded.changes_added} change{'s' if recorded.changes_added != 1 else ''} added"
    asked = FINAL.get(status.strip().lower()) or FINAL_ALIASES.get(status.strip().lower())
    if asked is not None and not recorded.finalized and asked != recorded.status:
        # The first success or failure is final: another one must not read as recorded.
        # The same one again is a retried CI step and fine.
        raise _refuse(
            f"Deployment {recorded.external_id} was already final ({recorded.status}, "
            f"{when_text}), so {status.strip()} was not recorded ({added}): record a rollback "
            f"or a fix as a new deployment with --rollback-of {recorded.external_id} or "
            f"--hotfix-of {recorded.external_id}."
        )
    console.print(
        f"Deployment {recorded.external_id}: {recorded.status}, {when_text} ({added})",
        markup=False,
        highlight=False,
    )
