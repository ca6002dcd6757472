"""What every `chatbot` subcommand shares: consoles and settings/services that fail in one line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console

from chatbot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from chatbot.services import Services

console = Console()
err = Console(stderr=True, soft_wrap=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def services_or_exit(settings: Settings | None = None) -> Services:
    from sqlalchemy.exc import OperationalError

    from chatbot.services import build_services

    settings = settings or settings_or_exit()
    try:
        return build_services(settings)
    except OperationalError as exc:
        err.print(f"[red]Cannot reach the database[/red] (DATABASE_URL): {exc.orig}")
        raise typer.Exit(2) from None
