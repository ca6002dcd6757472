"""`chatbot jira check`: do the URL and credentials work, and which Jira answered?"""

from __future__ import annotations

import typer

from chatbot.cli_support import console, fail

jira_app = typer.Typer(no_args_is_help=True, help="Jira connection.")


def _first_line(error: Exception) -> str:
    """The client's reason without its trailing lines (a stack of URLs, a response body)."""
    text = str(error).strip()
    return text.splitlines()[0].rstrip(". ") if text else type(error).__name__


@jira_app.command("check")
def check() -> None:
    """Call Jira once for its server info and once as the bot's account; say what answered."""
    from chatbot.cli_support import settings_or_exit
    from chatbot.jira.errors import JiraAuthError, JiraError, JiraUnavailable
    from chatbot.jira.gateway import CLOUD, gateway_from_settings

    settings = settings_or_exit()
    if not settings.jira_configured:
        fail(
            "Jira is not configured. Set JIRA_URL plus JIRA_EMAIL and "
            "JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)."
        )
    gateway = gateway_from_settings(settings)
    expected = gateway.config.deployment
    try:
        info = gateway.server_info()
        me = gateway.myself()
    except JiraAuthError as exc:
        fail(
            f"Jira at {gateway.url} refused the credentials ({exc.status}). "
            + ("Check JIRA_EMAIL and JIRA_API_TOKEN." if expected == CLOUD else "Check JIRA_PAT.")
        )
    except JiraUnavailable as exc:
        fail(
            f"Jira at {gateway.url} did not answer: {_first_line(exc)}. "
            "Check JIRA_URL and the network, then run `chatbot jira check` again."
        )
    except JiraError as exc:
        fail(
            f"Jira at {gateway.url} answered unexpectedly ({_first_line(exc)}). "
            "Check that JIRA_URL is the Jira site's address."
        )
    answered = CLOUD if info.deployment_type == "Cloud" else "Data Center"
    who = me.get("emailAddress") or me.get("displayName") or me.get("name") or "?"
    if answered != expected:
        fail(
            f"Jira {answered} answered at {gateway.url}, but the settings are for {expected} "
            f"({'JIRA_EMAIL + JIRA_API_TOKEN' if expected == CLOUD else 'JIRA_PAT'}): "
            "set the other kind of credentials."
        )
    console.print(
        f"OK: Jira {answered} answered at {gateway.url} (version {info.version}); "
        f"signed in as {who}.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
