"""`chatbot jira check`: do the URL and credentials work, and which Jira answered?"""

from __future__ import annotations

import typer
from rich.console import Console

jira_app = typer.Typer(no_args_is_help=True, help="Jira connection.")
console = Console()
err = Console(stderr=True)


@jira_app.command("check")
def check() -> None:
    """Call Jira once for its server info and once as the bot's account; say what answered."""
    from chatbot.cli_support import settings_or_exit
    from chatbot.jira.errors import JiraAuthError, JiraError, JiraUnavailable
    from chatbot.jira.gateway import CLOUD, gateway_from_settings

    settings = settings_or_exit()
    if not settings.jira_configured:
        err.print(
            "[red]Jira is not configured.[/red] Set JIRA_URL plus JIRA_EMAIL and "
            "JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)."
        )
        raise typer.Exit(2)
    gateway = gateway_from_settings(settings)
    expected = gateway.config.deployment
    try:
        info = gateway.server_info()
        me = gateway.myself()
    except JiraAuthError as exc:
        err.print(
            f"[red]Jira at {gateway.url} refused the credentials[/red] ({exc.status}). "
            + ("Check JIRA_EMAIL and JIRA_API_TOKEN." if expected == CLOUD else "Check JIRA_PAT.")
        )
        raise typer.Exit(1) from None
    except JiraUnavailable as exc:
        err.print(
            f"[red]Jira at {gateway.url} did not answer properly:[/red] {exc}. "
            "Check JIRA_URL and the network."
        )
        raise typer.Exit(1) from None
    except JiraError as exc:
        err.print(f"[red]Jira at {gateway.url} answered unexpectedly:[/red] {exc}")
        raise typer.Exit(1) from None
    answered = CLOUD if info.deployment_type == "Cloud" else "Data Center"
    who = me.get("emailAddress") or me.get("displayName") or me.get("name") or "?"
    console.print(
        f"OK: Jira {answered} answered at {gateway.url} (version {info.version}); "
        f"signed in as {who}."
    )
    if answered != expected:
        err.print(
            f"[yellow]The settings are for {expected} "
            f"({'JIRA_EMAIL + JIRA_API_TOKEN' if expected == CLOUD else 'JIRA_PAT'}) but "
            f"{answered} answered; set the other kind of credentials.[/yellow]"
        )
        raise typer.Exit(1)
