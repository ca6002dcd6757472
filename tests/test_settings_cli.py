"""Start-up configuration errors: one line naming the variable, never a secret. The first
runs as a real process (what a user starts); the others in-process (typer's runner)."""

from __future__ import annotations

import subprocess

import pytest

from tests.cli_helpers import OUR_VARIABLES, Invoked, invoke_chatbot, run_chatbot


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_chatbot(*args, cwd="/tmp", env=env, drop=(*OUR_VARIABLES, "PORT"))


def _invoke(*args: str, **env: str) -> Invoked:
    return invoke_chatbot(*args, cwd="/tmp", env=env, drop=(*OUR_VARIABLES, "PORT"))


@pytest.mark.drill
def test_missing_token_names_the_variable() -> None:
    result = _run(
        "serve", SLACK_SIGNING_SECRET="shh-very-secret", DATABASE_URL="sqlite:///:memory:"
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "shh-very-secret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_setting_names_the_variable() -> None:
    result = _invoke("db", "upgrade", PORT="not-a-port", SLACK_BOT_TOKEN="xoxb-secret-value")
    assert result.returncode == 2
    assert "PORT" in result.stderr and "xoxb-secret-value" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_logs_redact_tokens() -> None:
    import logging

    from chatbot.logging_setup import RedactSecrets

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s", ("xoxb-123-abc",), None)
    RedactSecrets().filter(record)
    assert "xoxb-123-abc" not in record.getMessage()


def test_socket_mode_needs_the_app_token() -> None:
    result = _invoke(
        "socket", SLACK_BOT_TOKEN="xoxb-secret-value", DATABASE_URL="sqlite:///:memory:"
    )
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr and "xoxb-secret-value" not in result.stderr
