"""`chatbot serve` for real: gunicorn answers healthz and a signed /intent, Slack gets the calls."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import START_DEADLINE, free_port, wait_until_serving
from tests.fakes.slack_api import FakeSlack, FakeSlackServer
from tests.slack_driver import SIGNING_SECRET, SlackDriver


@pytest.fixture
def served(tmp_path: Path, slack_server: FakeSlackServer, fake_slack: FakeSlack) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-serve-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_server.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "WEB_THREADS": "4",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatbot", "serve", "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    assert wait_until_serving(proc, url, lambda: proc.stderr.read() if proc.stderr else "") == 200
    try:
        yield url
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
        assert "xoxb-serve-test" not in err and SIGNING_SECRET not in err


def test_gunicorn_serves_slack_and_health(
    served: str, slack_server: FakeSlackServer, fake_slack: FakeSlack
) -> None:
    driver = SlackDriver(served, slack_server.response_url("serve"))
    assert driver.command("/intent", "Served for real", channel="CSERVE").status == 200
    # The work after the acknowledgement runs in the served process: on a loaded machine it
    # may take longer than the fake's default wait.
    root = fake_slack.wait_for(
        "chat.postMessage", lambda c: "Served for real" in c.params["text"], timeout=START_DEADLINE
    )
    assert root[0].token == "xoxb-serve-test"
    fake_slack.wait_for(
        "chat.postMessage", lambda c: "Outcome" in c.params.get("text", ""), timeout=START_DEADLINE
    )
    assert driver.get("/nope").status == 404
    forged = driver.post(
        b"command=/intent&text=x", "application/x-www-form-urlencoded", signature="v0=deadbeef"
    )
    assert forged.status == 401


def test_unreachable_database_stops_serve_with_one_clear_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-x",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "PORT": str(free_port()),
    }
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "serve", "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=START_DEADLINE,
    )
    assert result.returncode != 0
    assert "Cannot reach the database (DATABASE_URL)" in result.stderr
