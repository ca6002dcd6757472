"""`chatbot sync jira [--team T] [--full]`: bring the teams' Jira history in now."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from chatbot.cli_support import console, err, services_or_exit
from chatbot.sync_cli import sync_app


@sync_app.command("jira")
def sync_jira(
    team: Annotated[
        str | None, typer.Option("--team", help="Only this team (default: every team).")
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read everything again, and mark items Jira no longer matches as deleted.",
        ),
    ] = False,
) -> None:
    """Work items and their status and assignee changes, from each team's Jira project or
    JQL; resumes where an interrupted run stopped."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from chatbot.jira.errors import JiraAuthError, JiraError
    from chatbot.jira.history import JiraHistoryError, JiraHistorySync, syncable_teams
    from chatbot.teams.service import TeamService

    services = services_or_exit()
    if services.jira is None:
        _refuse(
            "Jira is not configured. Set JIRA_URL plus JIRA_EMAIL and JIRA_API_TOKEN "
            "(Cloud) or JIRA_PAT (Data Center), then run `chatbot jira check`."
        )
    if team is not None:
        found = TeamService(services.db, services.clock).get(team)
        if found is None:
            _refuse(f"No team named {team!r}; `chatbot team list` shows them.")
        teams = [found]
    else:
        teams = syncable_teams(services.db)
        if not teams:
            _refuse(
                "No team has a Jira project or JQL; set one with "
                "`chatbot team set NAME --jira-project KEY` (or --jira-jql)."
            )
    sync = JiraHistorySync(services.db, services.clock, services.jira)
    failed = False
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=False,
    ) as bar:
        for each in teams:
            task = bar.add_task(f"{escape(each.name)}", total=None)

            def advance(done: int, total: int | None, task: int = task) -> None:
                bar.update(task, completed=done, total=max(total, done) if total else None)

            try:
                result = sync.sync_team(each, full=full, progress=advance)
            except JiraHistoryError as exc:
                bar.stop_task(task)
                err.print(f"[red]{escape(str(exc))}[/red]")
                failed = True
                continue
            except JiraAuthError as exc:
                bar.stop_task(task)
                _refuse(f"{exc}. Check the credentials with `chatbot jira check`.")
            except JiraError as exc:
                bar.stop_task(task)
                err.print(
                    f"[red]Jira sync of {escape(each.name)} stopped:[/red] {escape(str(exc))}. "
                    "Run the command again: it resumes where it stopped."
                )
                failed = True
                continue
            bar.update(task, total=max(result.issues, 1), completed=max(result.issues, 1))
            parts = [
                _count(result.issues, "issue") + " read",
                _count(result.changes, "new change"),
                _count(result.requests, "Jira request"),
            ]
            if result.deleted:
                parts.append(f"{result.deleted} marked deleted")
            console.print(f"{escape(each.name)}: " + ", ".join(parts))
    if failed:
        raise typer.Exit(1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _refuse(message: str) -> NoReturn:
    err.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(2)
