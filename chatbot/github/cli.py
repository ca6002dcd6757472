"""`chatbot sync github [--team T] [--since DATE]`: pull request history for teams' repos."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.markup import escape

from chatbot.cli_support import console, err, services_or_exit, settings_or_exit
from chatbot.sync_cli import sync_app


def parse_since(text: str) -> datetime:
    """A date (`2026-09-01`, midnight UTC) or a time with a zone (`2026-09-01T08:00:00Z`)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter("use a date like 2026-09-01") from None
    if value.tzinfo is None:
        raise typer.BadParameter("a time needs a zone, e.g. 2026-09-01T08:00:00Z")
    return value.astimezone(UTC)


@sync_app.command("github")
def sync_github(
    team: Annotated[str | None, typer.Option("--team", help="only this team's repos")] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="PRs updated on or after this date (default: since last)"),
    ] = None,
) -> None:
    """Backfill pull requests (commits, reviews, draft/ready timeline) of the teams' repos."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from chatbot.github.api import GitHubApiError, GitHubClient
    from chatbot.github.backfill import GitHubBackfill
    from chatbot.teams.service import TeamService

    start = parse_since(since) if since else None
    settings = settings_or_exit()
    if settings.github_token is None or not settings.github_token.get_secret_value():
        err.print(
            "[red]GITHUB_TOKEN is not set.[/red] Create a token that can read the repositories "
            "(classic: the repo scope; fine-grained: Pull requests and Contents, read-only)."
        )
        raise typer.Exit(2)
    if not settings.github_api_url.startswith(("https://", "http://")):
        err.print(
            "[red]GITHUB_API_URL must be a URL[/red] like https://api.github.com "
            "(GitHub Enterprise Server: https://HOST/api/v3)."
        )
        raise typer.Exit(2)
    services = services_or_exit(settings)
    teams = TeamService(services.db, services.clock)
    if team is not None:
        chosen = teams.get(team)
        if chosen is None:
            err.print(f"[red]No team named {escape(team)!r}[/red]; see `chatbot team list`.")
            raise typer.Exit(2)
        selected = [chosen]
    else:
        selected = teams.all()
    repos = sorted({r.strip().lower() for t in selected for r in t.repos if r.strip()})
    if not repos:
        err.print(
            "[red]No repositories to read.[/red] List them with "
            "`chatbot team set TEAM --repo owner/a --repo owner/b`."
        )
        raise typer.Exit(2)
    client = GitHubClient(settings.github_api_url, settings.github_token.get_secret_value())
    backfill = GitHubBackfill(services.db, services.clock, client)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        for repo in repos:
            task = progress.add_task(escape(repo), total=None)

            def advance(_repo: str, done: int, total: int | None, task: int = task) -> None:
                progress.update(task, completed=done, total=total)

            try:
                result = backfill.sync_repo(repo, since=start, progress=advance)
            except GitHubApiError as exc:
                progress.stop()
                err.print(
                    f"[red]{escape(repo)}: {escape(str(exc))}[/red] "
                    "Run the same command again to go on from where it stopped."
                )
                raise typer.Exit(1) from None
            progress.update(task, total=result.pull_requests, completed=result.pull_requests)
            progress.console.print(
                f"{escape(repo)}: {result.pull_requests} pull requests, {result.commits} "
                f"commits, {result.reviews} reviews"
                + (" (resumed where the last run stopped)" if result.resumed else "")
            )
    console.print(f"Done: {len(repos)} repositories, {client.requests_made} GitHub requests.")
