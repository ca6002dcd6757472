"""Bad configuration and unreachable services: one line saying what to do, exit code 2.

Most cases run the command in-process (`invoke`, typer's runner); Socket Mode and the last
guard of `main()` run as a real process (`run`), as a user would start them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import Invoked, invoke_chatbot
from tests.fakes.slack_api import FakeSlack, FakeSlackServer

REPO = Path(__file__).resolve().parent.parent
_OURS = ("SLACK_", "DATABASE_", "PORT", "JIRA_", "GITHUB_", "DEPLOY_", "CONTEXT_", "LOG_LEVEL")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args],
        capture_output=True,
        text=True,
        env={**clean, "PYTHONPATH": str(REPO), **env},
        timeout=60,
        cwd=cwd,
    )


def invoke(cwd: Path, *args: str, **env: str) -> Invoked:
    return invoke_chatbot(*args, cwd=cwd, env=env, drop=_OURS)


def one_line(result: subprocess.CompletedProcess[str] | Invoked, *words: str) -> str:
    """The command failed with exit code 2 and exactly one line naming the problem."""
    err = result.stderr.strip()
    assert result.returncode == 2, (result.returncode, err)
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for word in words:
        assert word in err, (word, err)
    return err


def test_db_upgrade_with_postgresql_unreachable(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://someone:s3cret-pw@127.0.0.1:{_closed_port()}/throughline"
    line = one_line(
        invoke(tmp_path, "db", "upgrade", DATABASE_URL=url),
        "Cannot reach the database (DATABASE_URL)",
        "Check that PostgreSQL is running",
    )
    assert "s3cret-pw" not in line


@pytest.mark.postgresql
def test_db_upgrade_with_a_role_postgresql_does_not_know(tmp_path: Path) -> None:
    url = "postgresql+psycopg://no_such_role_here@127.0.0.1:5432/test"
    one_line(
        invoke(tmp_path, "db", "upgrade", DATABASE_URL=url),
        "no_such_role_here",
        "Check the user and password in DATABASE_URL",
    )


def test_db_upgrade_with_a_sqlite_file_that_cannot_be_opened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/folder/chatbot.db"
    one_line(
        invoke(tmp_path, "db", "upgrade", DATABASE_URL=url),
        "Cannot open the SQLite database (DATABASE_URL)",
        "folder exists and is writable",
    )


def test_db_upgrade_to_an_unknown_revision_lists_the_known_ones(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/chatbot.db"
    one_line(
        invoke(tmp_path, "db", "upgrade", "--revision", "nonsense", DATABASE_URL=url),
        "Unknown revision 'nonsense'",
        "head, 0001, 0002",
    )
    ok = invoke(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert ok.returncode == 0 and "Database at revision head." in ok.stdout


@pytest.mark.parametrize("url", ["sqlitefoo", "mysql://x@y/z", "postgresql+psycopg2://a@b/c"])
def test_a_database_url_that_is_not_one_we_speak(tmp_path: Path, url: str) -> None:
    one_line(
        invoke(tmp_path, "db", "upgrade", DATABASE_URL=url),
        "DATABASE_URL is malformed",
        "sqlite:///PATH or postgresql+psycopg://",
    )


def test_jira_url_that_is_not_a_url_is_a_configuration_error(tmp_path: Path) -> None:
    line = one_line(
        invoke(tmp_path, "jira", "check", JIRA_URL="notaurl", JIRA_PAT="pat-value-1"),
        "Configuration error",
        "JIRA_URL is malformed: must be a URL like https://",
    )
    assert "unreachable" not in line.lower() and "pat-value-1" not in line


def _serve(cwd: Path, **env: str) -> Invoked:
    return invoke(cwd, "serve", "--host", "127.0.0.1", PORT=str(_closed_port()), **env)


def test_an_empty_signing_secret_is_refused_at_start(tmp_path: Path) -> None:
    one_line(
        _serve(tmp_path, SLACK_BOT_TOKEN="xoxb-1-real", SLACK_SIGNING_SECRET=""),
        "SLACK_SIGNING_SECRET is required but not set",
    )
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-1-real\nSLACK_SIGNING_SECRET=\n")
    one_line(_serve(tmp_path), "SLACK_SIGNING_SECRET is required but not set")


def test_the_placeholders_of_env_example_are_refused_at_start(tmp_path: Path) -> None:
    shutil.copy(REPO / ".env.example", tmp_path / ".env")  # copied, never filled in
    one_line(_serve(tmp_path), "SLACK_BOT_TOKEN is malformed", "placeholder from .env.example")
    one_line(
        _serve(tmp_path, SLACK_BOT_TOKEN="xoxb-1-real"),
        "SLACK_SIGNING_SECRET is malformed",
        "placeholder",
    )
    (tmp_path / ".env").unlink()
    one_line(
        invoke(tmp_path, "socket", SLACK_BOT_TOKEN="xoxb-1-real", SLACK_APP_TOKEN="xapp-..."),
        "SLACK_APP_TOKEN is malformed",
    )


def _socket(cwd: Path, api_url: str) -> subprocess.CompletedProcess[str]:
    return run(
        cwd,
        "socket",
        SLACK_BOT_TOKEN="xoxb-bot-secret-1",
        SLACK_APP_TOKEN="xapp-app-secret-1",
        SLACK_API_URL=api_url,
        DATABASE_URL=f"sqlite:///{cwd}/socket.db",
    )


@pytest.mark.drill
def test_socket_with_an_app_token_slack_refuses(
    tmp_path: Path, slack_server: FakeSlackServer, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("apps.connections.open", "invalid_auth")
    line = one_line(
        _socket(tmp_path, slack_server.api_url),
        "Slack refused SLACK_APP_TOKEN (invalid_auth)",
        "connections:write",
    )
    assert "secret" not in line
    opened = fake_slack.of("apps.connections.open")
    assert len(opened) == 1 and opened[0].token == "xapp-app-secret-1"


@pytest.mark.drill
def test_socket_with_a_bot_token_slack_refuses(
    tmp_path: Path, slack_server: FakeSlackServer, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("auth.test", "invalid_auth")
    one_line(_socket(tmp_path, slack_server.api_url), "Slack refused SLACK_BOT_TOKEN")
    assert not fake_slack.of("apps.connections.open")


@pytest.mark.drill
def test_socket_without_a_network(tmp_path: Path) -> None:
    one_line(
        _socket(tmp_path, f"http://127.0.0.1:{_closed_port()}/api/"),
        "Cannot reach Slack",
        "check the network connection",
    )


def test_serve_on_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke(
            tmp_path,
            "serve",
            "--host",
            "127.0.0.1",
            PORT=str(port),
            SLACK_BOT_TOKEN="xoxb-1-real",
            SLACK_SIGNING_SECRET="real-secret",
            DATABASE_URL=f"sqlite:///{tmp_path}/serve.db",
        )
    one_line(result, f"Cannot listen on 127.0.0.1:{port}", "set PORT to a free port")


@pytest.mark.drill
def test_an_unexpected_error_is_one_line_without_secrets(tmp_path: Path) -> None:
    # A command that fails in a way nobody planned for (a bug): the last guard in main().
    script = (
        "import sys\n"
        "import chatbot.cli as cli\n"
        "@cli.app.command('explode')\n"
        "def explode() -> None:\n"
        "    raise RuntimeError('token xoxb-123-abc was rejected\\nsecond line')\n"
        "sys.argv = ['chatbot', 'explode']\n"
        "cli.main()\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=clean, cwd=tmp_path
    )
    err = result.stderr.strip()
    assert result.returncode == 1 and len(err.splitlines()) == 1, err
    assert "Unexpected error: RuntimeError: token [redacted] was rejected" in err
    assert "xoxb-123-abc" not in err and "Traceback" not in err and "LOG_LEVEL=DEBUG" in err
    debug = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**clean, "LOG_LEVEL": "DEBUG"},
        cwd=tmp_path,
    )
    assert "Traceback" in debug.stderr and "xoxb-123-abc" not in debug.stderr  # asked for
