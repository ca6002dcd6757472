"""The `chatbot` command line (also `python -m chatbot`).

Each command imports what it runs inside its own body, so `chatbot --help` and a short
command do not pay for the database, the metrics, the web server or the Slack client
(tests/test_cli_reading.py pins which modules `--help` leaves out)."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from chatbot import __version__
from chatbot.cli_support import (
    announce_new_database,
    close_opened,
    console,
    database_problem,
    default_database_to_create,
    err,
    fail,
    port_free_or_exit,
    services_or_exit,
    settings_or_exit,
    slack_errors,
)
from chatbot.decisions.cli import context_app
from chatbot.demo.cli import demo
from chatbot.deploys.cli import deploy_app
from chatbot.github.cli import sync_github  # noqa: F401  (registers `sync github`)
from chatbot.jira.cli import jira_app
from chatbot.jira.history_cli import sync_jira  # noqa: F401  (registers `sync jira`)
from chatbot.logging_setup import redact
from chatbot.metrics.cli import digest
from chatbot.sync_cli import sync_app
from chatbot.teams.cli import team_app
from chatbot.token_cli import token_app


class _Commands(TyperGroup):
    """The root group: a database that refuses a command midway (a read-only SQLite file, a
    server gone) is told in one line with what to do, like a refusal at start."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # sqlalchemy is imported only by commands that use a database; a database error
            # cannot have been raised without it.
            sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
            if sqlalchemy_errors is None or not isinstance(exc, sqlalchemy_errors.SQLAlchemyError):
                raise
            from chatbot.settings import load_settings

            fail(database_problem(exc, load_settings().database_url))
        finally:
            close_opened()


def _version(asked: bool) -> None:
    if asked:
        console.print(f"chatbot (Throughline) {__version__}", highlight=False)
        raise typer.Exit()


app = typer.Typer(
    cls=_Commands,
    no_args_is_help=True,
    add_completion=False,
    help="Throughline, the Slack bot.",
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            metavar="",
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Throughline, the Slack bot."""


db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")
app.add_typer(team_app, name="team")
app.add_typer(jira_app, name="jira")
app.add_typer(context_app, name="context")
app.add_typer(sync_app, name="sync")
app.add_typer(deploy_app, name="deploy")
app.add_typer(token_app, name="token")
app.command("digest")(digest)
app.command("demo")(demo)


NoClock = Annotated[
    bool,
    typer.Option(
        "--no-clock",
        help="Do not run the clock in this process (a separate `chatbot scheduler` runs it).",
    ),
]


@app.command()
def serve(host: str = "0.0.0.0", no_clock: NoClock = False) -> None:
    """HTTP mode: POST /slack/events, webhooks and GET /healthz on $PORT, with the clock inside."""
    from chatbot.logging_setup import configure_logging
    from chatbot.server import ThroughlineServer
    from chatbot.settings import SettingsError

    settings = settings_or_exit()
    try:
        settings.require_slack()
    except SettingsError as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    port_free_or_exit(host, settings.port)
    # The server creates the database itself; say so before its log starts.
    announce_new_database(settings, default_database_to_create(settings))
    configure_logging(settings.log_level)
    ThroughlineServer(settings, host, embedded_clock=not no_clock).run()


@app.command()
def socket(no_clock: NoClock = False) -> None:
    """Socket Mode: no public URL needed; same listeners, same clock inside."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from chatbot.logging_setup import configure_logging
    from chatbot.root import build_bolt, build_root, job_clock
    from chatbot.scheduler import wait_until_stopped
    from chatbot.settings import SettingsError

    settings = settings_or_exit()
    try:
        settings.require_slack(socket_mode=True)
    except SettingsError as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    services = services_or_exit(settings)
    assert settings.slack_app_token is not None and services.slack is not None
    with slack_errors(settings, "SLACK_BOT_TOKEN"):
        services.slack.auth_test()
    socket_log = logging.getLogger("chatbot.socket_mode")
    root = build_root(services)
    handler = SocketModeHandler(
        build_bolt(root), settings.slack_app_token.get_secret_value(), logger=socket_log
    )
    socket_log.disabled = True  # a failure to connect is told below, in one line
    try:
        with slack_errors(settings, "SLACK_APP_TOKEN"):
            handler.connect()
    finally:
        socket_log.disabled = False
    if not handler.client.is_connected():
        fail(
            "Slack gave a Socket Mode address but the WebSocket connection to it failed: "
            "allow outgoing WebSocket (wss://) connections to Slack, or use `chatbot serve`."
        )
    # Logging starts once connected, so a failed start prints only the line that says why.
    configure_logging(settings.log_level)
    clock = None if no_clock else job_clock(root)
    if clock is not None:
        clock.start()
    console.print("Connected to Slack in Socket Mode.")
    try:
        wait_until_stopped()
    finally:
        if clock is not None:
            clock.stop()
        handler.close()


@app.command()
def mcp(
    url: Annotated[str, typer.Option("--url", help="the server's MCP endpoint, https://HOST/mcp")],
) -> None:
    """Serve MCP over stdio for local agents, forwarding to --url with THROUGHLINE_TOKEN."""
    # Imported here: the MCP SDK is only needed by this command (startup time of the others).
    import anyio

    from chatbot.mcp_stdio import serve_stdio, stdio_problem

    token = os.environ.get("THROUGHLINE_TOKEN", "").strip()
    if not token:
        fail("Set THROUGHLINE_TOKEN to a token made in Slack (App Home › Connect an agent).")
    if not url.startswith(("http://", "https://")):
        fail(f"--url must be the server's MCP endpoint, like https://HOST/mcp (got {url!r}).")
    try:
        anyio.run(serve_stdio, url, token)
    except BaseException as exc:  # one line for any failure, never a traceback
        problem = stdio_problem(exc, url)
        if problem is None:
            return
        fail(problem)


@app.command()
def scheduler() -> None:
    """The clock alone: digests, check-ins, Jira sync and outbox retries."""
    from chatbot.logging_setup import configure_logging
    from chatbot.root import build_root, job_clock
    from chatbot.scheduler import wait_until_stopped

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    clock = job_clock(build_root(services_or_exit(settings)))
    clock.start()
    try:
        wait_until_stopped()
    finally:
        clock.stop()


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target revision (default: the newest).")] = "head",
) -> None:
    """Apply migrations (Alembic)."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from chatbot.db.engine import DatabaseLimits, make_engine
    from chatbot.db.migrate import known_revisions, upgrade

    settings = settings_or_exit()
    created = default_database_to_create(settings)
    engine = make_engine(settings.database_url, DatabaseLimits.from_settings(settings))
    try:
        upgrade(engine, revision)
    except CommandError:
        known = ", ".join(["head", *known_revisions()])
        fail(f"Unknown revision {revision!r}: use one of {known}.")
    except SQLAlchemyError as exc:
        fail(database_problem(exc, settings.database_url))
    finally:
        engine.dispose()
    announce_new_database(settings, created)
    console.print(f"Database at revision {escape(revision)}.")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last guard: a user sees one line, never a traceback
        if os.environ.get("LOG_LEVEL", "").upper() == "DEBUG":
            sys.stderr.write(redact(traceback.format_exc()))
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        err.print(
            f"[red]Unexpected error:[/red] {type(exc).__name__}: {escape(redact(first))}. "
            "Run with LOG_LEVEL=DEBUG to see the traceback, and please report it."
        )
        sys.exit(1)
