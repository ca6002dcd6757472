"""What every `chatbot` subcommand shares: consoles and settings/services that fail in one line.

Imports of settings, the database and the services happen inside the functions that need
them: `chatbot --help` and every command's start should not pay for what they do not use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sqlalchemy.exc import SQLAlchemyError

    from chatbot.services import Services
    from chatbot.settings import Settings

console = Console()
err = Console(stderr=True, soft_wrap=True)

# Services a command built, closed when it ends (`close_opened`): a PostgreSQL pool must not
# outlive its command, as it would when the command runs in-process (tests, embedding).
_opened: list[Services] = []


def close_opened() -> None:
    """Dispose of the database pools of the services built by the command that just ran."""
    while _opened:
        _opened.pop().db.engine.dispose()


def fail(message: str, code: int = 2) -> NoReturn:
    """One red line on stderr (the message is markup-escaped), then exit `code`."""
    err.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    from chatbot.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]Configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


def database_problem(exc: SQLAlchemyError, url: str) -> str:
    """One line naming what is wrong with the database and what to do; never the password."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).strip().splitlines() if line.strip()]
    reason = next((line for line in lines if "FATAL" in line), lines[0] if lines else "")
    reason = reason.removeprefix("connection failed: ")
    if url.startswith("sqlite") and "readonly" in reason.replace("-", "").replace(" ", ""):
        return (
            f"The SQLite database (DATABASE_URL) is read-only: {reason}. "
            "Make the file and its folder writable by this user, or set DATABASE_URL to a "
            "writable copy."
        )
    if url.startswith("sqlite"):
        return (
            f"Cannot open the SQLite database (DATABASE_URL): {reason}. "
            "Check that its folder exists and is writable."
        )
    if "password authentication failed" in reason or ("role" in reason and "exist" in reason):
        hint = "Check the user and password in DATABASE_URL."
    elif "database" in reason and "does not exist" in reason:
        hint = "Create the database (createdb) or fix its name in DATABASE_URL."
    elif "permission denied" in reason:
        hint = "Grant the user of DATABASE_URL the right to create tables, or use another user."
    else:
        return (
            f"Cannot reach the database (DATABASE_URL): {reason}. "
            "Check that PostgreSQL is running and the host and port in DATABASE_URL."
        )
    return f"Cannot use the database (DATABASE_URL): {reason}. {hint}"


def services_or_exit(settings: Settings | None = None) -> Services:
    from sqlalchemy.exc import SQLAlchemyError

    from chatbot.services import build_services

    settings = settings or settings_or_exit()
    created = default_database_to_create(settings)
    try:
        services = build_services(settings)
    except SQLAlchemyError as exc:
        fail(database_problem(exc, settings.database_url))
    _opened.append(services)
    announce_new_database(settings, created)
    return services


def announce_new_database(settings: Settings, created: Path | None) -> None:
    """Name the default SQLite file a command just created (see `default_database_to_create`)."""
    if created is None:
        return
    from chatbot.prompts import Prompts

    notice = Prompts(settings.prompts_dir).text("cli.new_database", path=str(created))
    err.print(escape(notice), highlight=False)


def default_database_to_create(settings: Settings) -> Path | None:
    """The SQLite file about to be created because DATABASE_URL was not set, if it is new.

    An explicit DATABASE_URL is the operator's choice and is used quietly; the default
    `./chatbot.db` appearing in whatever folder a command ran from is not, so it is named."""
    if "database_url" in settings.model_fields_set:
        return None
    path = Path(settings.database_url.removeprefix("sqlite:///"))
    return None if path.exists() else path.resolve()


_WHERE_TOKENS_ARE = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-) from your app's OAuth & Permissions.",
    "SLACK_APP_TOKEN": (
        "copy an App-Level Token (xapp-) with the connections:write scope from your app's "
        "Basic Information, and turn on Socket Mode."
    ),
}


@contextmanager
def slack_errors(settings: Settings, token_name: str) -> Iterator[None]:
    """Slack refusing `token_name`, or not answering at all, as one line saying what to do."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    try:
        yield
    except SlackApiError as exc:
        error = exc.response.get("error", "an error") if exc.response is not None else "an error"
        fail(f"Slack refused {token_name} ({error}): {_WHERE_TOKENS_ARE[token_name]}")
    except (SlackClientError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        fail(
            f"Cannot reach Slack at {settings.slack_api_url} ({reason}): "
            "check the network connection (or SLACK_API_URL)."
        )


def port_free_or_exit(host: str, port: int) -> None:
    """Refuse in one line a port another process listens on (the server would retry, then fail)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        try:
            probe.bind((host, port))
        except PermissionError:
            fail(f"Cannot listen on port {port} (permission denied): set PORT above 1023.")
        except OSError as exc:
            fail(
                f"Cannot listen on {host}:{port} ({exc.strerror or exc}): "
                "stop what uses it or set PORT to a free port."
            )
