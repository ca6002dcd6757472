"""`chatbot token list|revoke`: the agent tokens people made in Slack (never their secrets)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from chatbot.agents.tokens import TokenError, TokenService, token_ref
from chatbot.cli_support import console, fail, services_or_exit

token_app = typer.Typer(no_args_is_help=True, help="Personal agent tokens (MCP).")


@token_app.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Option("--user", help="only this Slack user id")] = None,
) -> None:
    """Every token: who, name, made, expires, last use, revoked."""
    services = services_or_exit()
    tokens = TokenService(services.db, services.clock)
    now = services.clock.now()
    table = Table("id", "user", "name", "made", "expires", "last used", "state")
    for t in tokens.all(user):
        state = "revoked" if t.revoked_at else ("expired" if t.expires_at <= now else "live")
        table.add_row(
            token_ref(t.id),
            t.user_id,
            t.name,
            f"{t.created_at:%Y-%m-%d}",
            f"{t.expires_at:%Y-%m-%d}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
            state,
        )
    console.print(table)


@token_app.command("revoke")
def revoke(
    token_id: Annotated[str | None, typer.Argument(help="a token id, T-3 or 3")] = None,
    user: Annotated[str | None, typer.Option("--user", help="every token of this user")] = None,
    every: Annotated[bool, typer.Option("--all", help="every token of everyone")] = False,
) -> None:
    """Revoke one token, a person's, or all: agents using them get nothing from then on."""
    chosen = [token_id is not None, user is not None, every]
    if sum(chosen) != 1:
        fail("Say which: `chatbot token revoke T-3`, `--user U123` or `--all`.")
    services = services_or_exit()
    tokens = TokenService(services.db, services.clock)
    if token_id is not None:
        number = token_id.strip().upper().removeprefix("T-")
        if not number.isdigit():
            fail(f"{token_id!r} is not a token id; `chatbot token list` shows them (T-3).")
        try:
            tokens.revoke(int(number))
        except TokenError as exc:
            fail(exc.text(services.prompts))
        console.print(f"Revoked {token_ref(int(number))}.")
        return
    count = tokens.revoke_user(user) if user is not None else tokens.revoke_all()
    console.print(f"Revoked {count} token(s).")
