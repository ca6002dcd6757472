"""`chatbot digest --post`: post the week's digest from the command line, in one line."""

from __future__ import annotations

import typer

from chatbot.cli_support import console, err
from chatbot.digest.publish import DigestPublisher, PostError, PostStatus, post_from_cli


def post_command(publisher: DigestPublisher, team: str, week: str | None, again: bool) -> None:
    try:
        result = post_from_cli(publisher, team, week, again)
    except PostError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if result.status == PostStatus.POSTED:
        assert result.post is not None
        console.print(f"Posted the {result.week} digest of {team} to {result.post.channel_id}.")
        return
    if result.status == PostStatus.BUSY:
        since = f"{result.since:%H:%M} UTC" if result.since else "a moment ago"
        err.print(
            f"The {result.week} digest of {team} is being posted right now (since {since}); "
            f"run `chatbot digest --team {team} --post` again in a minute to see it."
        )
        raise typer.Exit(2)
    if result.status == PostStatus.ALREADY:
        err.print(
            f"The {result.week} digest of {team} was already posted; "
            "add --again to post it once more."
        )
        raise typer.Exit(2)
    then = (
        "The clock retries it by itself."
        if result.status == PostStatus.WAITING
        else "It will not be retried by itself: fix that, then run this command again."
    )
    err.print(f"[red]Slack refused the digest ({result.error}).[/red] {then}")
    raise typer.Exit(2)
