"""`chatbot context pack --team T [--key KEY] > pack.md`: the team's pack on stdout.

Like the HTTP pack it holds public decisions only: a terminal is outside every channel."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

context_app = typer.Typer(no_args_is_help=True, help="Decision log and context packs.")


@context_app.command("pack")
def pack(
    team: Annotated[str, typer.Option("--team", help="team name (see `chatbot team list`)")],
    key: Annotated[str | None, typer.Option("--key", help="only this Jira key or intent")] = None,
) -> None:
    """Print the team's Markdown context pack (public decisions only)."""
    from chatbot.cli_support import fail, services_or_exit
    from chatbot.decisions.pack import build_pack, team_scope
    from chatbot.slack.names import slack_names
    from chatbot.teams.service import TeamService

    services = services_or_exit()
    found = TeamService(services.db, services.clock).get(team)
    if found is None:
        fail(f"No team named {team!r}; `chatbot team list` shows the teams.")
    names = slack_names(services.slack)  # people and channels by name; ids if Slack is away
    sys.stdout.write(build_pack(services.db, team_scope(found, key=key), names))
    sys.stdout.flush()
