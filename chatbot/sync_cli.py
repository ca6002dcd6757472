"""`chatbot sync …`: the ingest commands; each source adds its own subcommand here."""

from __future__ import annotations

import typer

sync_app = typer.Typer(no_args_is_help=True, help="Ingest history for the digest (resumable).")
