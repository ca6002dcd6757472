"""`chatbot token list|revoke`: the agent tokens people made in Slack (never their secrets)."""

from __future__ import annotations

from typing import Annotated

import typer

from chatbot.cli_support import console, fail, services_or_exit
from chatbot.cli_tables import FormatOption, Listing, OutputFormat, print_listing

TOKEN_COLUMNS = ("id", "user", "name", "made", "expires", "last used", "state")

token_app = typer.Typer(no_args_is_help=True, help="Personal agent tokens (MCP).")


@token_app.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Option("--user", help="only this Slack user id")] = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Every token: who, name, made, expires, last use, revoked."""
    # The token store reads the database, slow to import: only when the command runs.
    from chatbot.agents.tokens import TokenService, token_ref

    services = services_or_exit()
    tokens = TokenService(services.db, services.clock)
    now = services.clock.now()
    rows: list[tuple[str, ...]] = []
    for t in tokens.all(user):
        state = "revoked" if t.revoked_at else ("expired" if t.expires_at <= now else "live")
        rows.append(
            (
                token_ref(t.id),
                t.user_id,
                t.name,
                f"{t.created_at:%Y-%m-%d}",
                f"{t.expires_at:%Y-%m-%d}",
                f"{t.last_used_at:%Y-%m-%d %H:%M} UTC" if t.last_used_at else "never",
                state,
            )
        )
    listing = Listing(
        TOKEN_COLUMNS,
        rows,
        [dict(zip(TOKEN_COLUMNS, row, strict=True)) for row in rows],
        when_empty="No agent tokens. People make one in Slack: App Home › Connect an agent.",
    )
    print_listing(listing, output, console)


@token_app.command("revoke")
def revoke(
    token_id: Annotated[str | None, typer.Argument(help="a token id, T-3 or 3")] = None,
    user: Annotated[str | None, typer.Option("--user", help="every token of this user")] = None,
    every: Annotated[bool, typer.Option("--all", help="every token of everyone")] = False,
) -> None:
    """Revoke one token, a person's, or all: agents using them get nothing from then on."""
    from chatbot.agents.tokens import TokenError, TokenService, token_ref

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
