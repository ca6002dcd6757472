"""Real processes: `chatbot serve` alone retries Jira writes (its clock runs inside); two serve
processes and a `chatbot scheduler` on one PostgreSQL deliver a write exactly once.

These start `python -m chatbot ...` on free ports against the fake Slack and fake Jira, with
the clock looking for due jobs every second (CLOCK_TICK_SECONDS=1). They wait for real
processes to act, so each waits on a condition with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.exc import SQLAlchemyError

from chatbot.db.engine import Database, make_engine
from chatbot.db.leases import lease_of
from chatbot.intent.service import IntentFields
from chatbot.root import build_root
from chatbot.services import build_services
from tests.cli_helpers import START_DEADLINE
from tests.conftest import PG_ADMIN, _pg_schema_url, make_settings
from tests.fakes.jira_api import DC_PAT, FakeJira, FakeJiraServer
from tests.fakes.slack_api import FakeSlack, FakeSlackServer
from tests.jira_fixtures import jira_server_fixture  # noqa: F401  (fixture)
from tests.slack_driver import SIGNING_SECRET, SlackDriver

ONE_MINUTE = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, done: Callable[[], bool], timeout: float) -> float:
    """Wait for another process to make `done` true; returns the seconds it took."""
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - started


def _get_json(url: str) -> dict[str, Any]:
    import json

    with urllib.request.urlopen(url, timeout=10) as resp:
        return dict(json.loads(resp.read()))


class Processes:
    """Starts chatbot processes and always stops them (and shows their stderr on failure)."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env
        self.running: list[subprocess.Popen[str]] = []
        self._serving: dict[str, subprocess.Popen[str]] = {}

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatbot", *args],
            env={**self.env, **env},
            cwd=self.cwd,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.running.append(proc)
        return proc

    def serve(self, *flags: str, wait: bool = True, **env: str) -> str:
        """Start `chatbot serve`; its URL once it answers /healthz (`wait=False`: at once)."""
        port = _free_port()
        proc = self.start("serve", "--host", "127.0.0.1", *flags, PORT=str(port), **env)
        url = f"http://127.0.0.1:{port}"
        self._serving[url] = proc
        if wait:
            self.wait_healthy(url)
        return url

    def wait_healthy(self, url: str) -> None:
        proc = self._serving[url]

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"chatbot serve stopped: {self.stderr(proc)}")
            try:
                return _get_json(url + "/healthz")["ok"] is True
            except OSError:
                return False

        _wait("chatbot serve answers /healthz", healthy, START_DEADLINE)

    def stderr(self, proc: subprocess.Popen[str]) -> str:
        if proc.poll() is None:
            proc.terminate()
        _out, err = proc.communicate(timeout=30)
        return err or ""

    def stop_all(self) -> list[str]:
        for proc in self.running:
            if proc.poll() is None:
                proc.terminate()
        return [self.stderr(proc) for proc in self.running]


@pytest.fixture
def fake_jira(jira_server: FakeJiraServer) -> Iterator[FakeJira]:
    jira_server.fake.reset("dc")
    yield jira_server.fake
    jira_server.fake.reset("dc")


def _env(db_url: str, slack: FakeSlackServer | None, jira: FakeJiraServer | None) -> dict[str, str]:
    ours = ("SLACK_", "DATABASE_", "PORT", "JIRA_", "GITHUB_", "DEPLOY_", "CONTEXT_", "WEB_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env = {
        **clean,
        "SLACK_BOT_TOKEN": "xoxb-clock-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": db_url,
        "CLOCK_TICK_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        "WEB_THREADS": "4",
    }
    if slack is not None:
        env["SLACK_API_URL"] = slack.api_url
    if jira is not None:
        env.update(JIRA_URL=jira.url, JIRA_PAT=DC_PAT, JIRA_TIMEOUT_SECONDS="2")
    return env


def _saved_intent(db_url: str, slack: FakeSlackServer, jira: FakeJiraServer) -> str:
    """An intent with its card posted, stored in the database the processes use."""
    settings = make_settings(db_url, slack.api_url, jira_url=jira.url, jira_pat=DC_PAT)
    services = build_services(settings, migrate=True)
    try:
        flow = build_root(services).slack.intents
        view = flow.intents.create(
            IntentFields(
                title="Refunds in one click",
                outcome="Agents refund an order in one click",
                why="Refunds take 20 minutes",
                checks=["When an agent clicks Refund, the money lands in 1 minute"],
            ),
            "C1",
            "U1",
        )
        view = flow.intents.save(view.intent.id or 0, "U1")
        assert services.slack is not None
        flow.post_card(view)
        return view.ref
    finally:
        services.db.engine.dispose()


def _link_during_an_outage(
    serve_url: str, ref: str, slack: FakeSlackServer, fake_slack: FakeSlack, fake_jira: FakeJira
) -> None:
    """`/intent link` while Jira answers 503 to everything: the immediate send fails."""
    fake_jira.add_issue("PAY-3")
    fake_jira.fail_next(503, times=1_000_000)
    driver = SlackDriver(serve_url, slack.response_url("clock"))
    assert driver.command("/intent", f"link {ref} PAY-3").status == 200

    def told_delayed() -> bool:
        return any("isn't answering" in str(c.params.get("text", "")) for c in fake_slack.calls)

    _wait("the user is told Jira isn't answering", told_delayed, 30)
    assert not fake_jira.issues["PAY-3"].comments


def _jira_returns_and_the_write_lands(fake_jira: FakeJira) -> float:
    with fake_jira._lock:
        fake_jira._failures.clear()
    issue = fake_jira.issues["PAY-3"]
    took = _wait("the comment reaches Jira", lambda: bool(issue.comments), ONE_MINUTE)
    _wait("the remote link reaches Jira", lambda: bool(issue.remote_links), 10)
    return took


def test_serve_alone_on_sqlite_delivers_a_write_made_during_an_outage(
    tmp_path: Path,
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    jira_server: FakeJiraServer,
    fake_jira: FakeJira,
) -> None:
    db_url = f"sqlite:///{tmp_path}/serve.db"
    ref = _saved_intent(db_url, slack_server, jira_server)
    processes = Processes(tmp_path, _env(db_url, slack_server, jira_server))
    try:
        url = processes.serve()  # the README's one command, nothing else running
        _link_during_an_outage(url, ref, slack_server, fake_slack, fake_jira)
        took = _jira_returns_and_the_write_lands(fake_jira)
        assert took <= ONE_MINUTE
        issue = fake_jira.issues["PAY-3"]
        assert len(issue.comments) == 1 and len(issue.remote_links) == 1
        clock = _get_json(url + "/healthz")["clock"]
        assert clock["embedded"] is True and clock["last_tick"] is not None
    finally:
        errors = processes.stop_all()
    assert not any("Traceback" in e for e in errors), errors


def test_serve_with_no_clock_runs_none(
    tmp_path: Path,
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    jira_server: FakeJiraServer,
    fake_jira: FakeJira,
) -> None:
    db_url = f"sqlite:///{tmp_path}/web.db"
    processes = Processes(tmp_path, _env(db_url, slack_server, jira_server))
    try:
        url = processes.serve("--no-clock")
        report = _get_json(url + "/healthz")
        assert report["clock"] == {"embedded": False, "last_tick": None}
        assert report["jobs"] == {}  # no clock anywhere has run a job
    finally:
        processes.stop_all()


@pytest.fixture
def pg_url() -> Iterator[str]:
    url, schema = _pg_schema_url()
    yield url
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.postgresql
def test_two_serves_and_a_scheduler_on_postgresql_deliver_it_exactly_once(
    tmp_path: Path,
    pg_url: str,
    slack_server: FakeSlackServer,
    fake_slack: FakeSlack,
    jira_server: FakeJiraServer,
    fake_jira: FakeJira,
) -> None:
    ref = _saved_intent(pg_url, slack_server, jira_server)
    processes = Processes(tmp_path, _env(pg_url, slack_server, jira_server))
    db = Database(make_engine(pg_url))
    try:
        first = processes.serve(wait=False, WEB_CONCURRENCY="2")  # two workers: two clocks
        second = processes.serve(wait=False)
        processes.start("scheduler")
        for url in (first, second):
            processes.wait_healthy(url)
            assert _get_json(url + "/healthz")["clock"]["embedded"] is True
        _link_during_an_outage(first, ref, slack_server, fake_slack, fake_jira)
        comment_posts = len(fake_jira.of("POST", "/comment$"))
        took = _jira_returns_and_the_write_lands(fake_jira)
        assert took <= ONE_MINUTE
        # Every clock gets more chances: the outbox job runs again after the delivery.
        lease = lease_of(db, "outbox")
        assert lease is not None and lease.last_run_at is not None
        delivered_at = lease.last_run_at

        def ran_again() -> bool:
            now = lease_of(db, "outbox")
            return (
                now is not None
                and now.last_run_at is not None
                and ((now.last_run_at - delivered_at).total_seconds() >= 10)
            )

        _wait("the outbox job keeps running", ran_again, 30)
        issue = fake_jira.issues["PAY-3"]
        assert len(issue.comments) == 1 and len(issue.remote_links) == 1
        assert len(fake_jira.of("POST", "/comment$")) == comment_posts + 1
    finally:
        db.engine.dispose()
        errors = processes.stop_all()
    assert not any("Traceback" in e for e in errors), errors


class _SlackForSocketMode(BaseHTTPRequestHandler):
    """Just enough Slack for `chatbot socket` to connect: auth.test, apps.connections.open."""

    socket_url = ""
    app_tokens: list[str] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        import json

        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        method = self.path.rsplit("/", 1)[-1]
        body: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            body.update(user_id="UBOT0001", bot_id="BBOT0001", team_id="T0TEST001")
        elif method == "apps.connections.open":
            type(self).app_tokens.append(self.headers.get("Authorization", ""))
            body["url"] = self.socket_url
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _SocketModeEndpoint:
    """A WebSocket endpoint that completes the handshake and says hello, as Slack's does."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link"
        self.connected = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _addr = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        import base64
        import hashlib
        import json

        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            headers = dict(
                line.split(": ", 1) for line in request.decode().split("\r\n")[1:] if ": " in line
            )
            key = headers.get("Sec-WebSocket-Key", "")
            magic = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
            accept = base64.b64encode(hashlib.sha1(key.encode() + magic).digest()).decode()
            conn.sendall(
                (
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                ).encode()
            )
            hello = json.dumps({"type": "hello", "num_connections": 1}).encode()
            conn.sendall(bytes([0x81, len(hello)]) + hello)  # one unmasked text frame
            self.connected.set()
            while conn.recv(4096):  # keep the connection open until the client leaves
                pass

    def close(self) -> None:
        self._listener.close()


def test_socket_mode_runs_the_clock_inside(tmp_path: Path) -> None:
    endpoint = _SocketModeEndpoint()
    handler = type(
        "Handler", (_SlackForSocketMode,), {"socket_url": endpoint.url, "app_tokens": []}
    )
    api = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    db_url = f"sqlite:///{tmp_path}/socket.db"
    env = _env(db_url, slack=None, jira=None)
    env.update(
        SLACK_APP_TOKEN="xapp-socket-test",
        SLACK_API_URL=f"http://127.0.0.1:{api.server_address[1]}/api/",
    )
    processes = Processes(tmp_path, env)
    db: Database | None = None
    try:
        proc = processes.start("socket")
        _wait("chatbot socket connects", endpoint.connected.is_set, START_DEADLINE)
        assert handler.app_tokens == ["Bearer xapp-socket-test"]
        db = Database(make_engine(db_url))

        def outbox_ran_here() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"chatbot socket stopped: {processes.stderr(proc)}")
            lease = lease_of(db, "outbox") if db is not None else None
            return lease is not None and f":{proc.pid}:" in str(lease.holder)

        _wait("the socket process's own clock runs the outbox job", outbox_ran_here, 30)
    finally:
        if db is not None:
            db.engine.dispose()
        errors = processes.stop_all()
        api.shutdown()
        endpoint.close()
    assert not any("Traceback" in e for e in errors), errors


def test_socket_mode_whose_websocket_cannot_connect_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"ws://127.0.0.1:{s.getsockname()[1]}/link"
    handler = type("Handler", (_SlackForSocketMode,), {"socket_url": closed, "app_tokens": []})
    api = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = _env(f"sqlite:///{tmp_path}/socket.db", slack=None, jira=None)
    env.update(
        SLACK_APP_TOKEN="xapp-socket-test",
        SLACK_API_URL=f"http://127.0.0.1:{api.server_address[1]}/api/",
    )
    try:
        result = subprocess.run(
            [sys.executable, "-m", "chatbot", "socket"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        api.shutdown()
    err = result.stderr.strip()
    assert result.returncode == 2 and len(err.splitlines()) == 1, err
    assert "WebSocket connection to it failed" in err and "Traceback" not in err


def test_the_scheduler_alone_runs_the_clock(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/clock.db"
    processes = Processes(tmp_path, _env(db_url, slack=None, jira=None))
    db: Database | None = None
    try:
        proc = processes.start("scheduler")
        db = Database(make_engine(db_url))

        def every_job_ran_here() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"chatbot scheduler stopped: {processes.stderr(proc)}")
            try:
                leases = [lease_of(db, name) for name in ("outbox", "forget-old-deliveries")]
            except SQLAlchemyError:  # the scheduler is still creating the tables
                return False
            return all(x is not None and f":{proc.pid}:" in str(x.holder) for x in leases)

        _wait("chatbot scheduler runs the jobs", every_job_ran_here, 30)
    finally:
        if db is not None:
            db.engine.dispose()
        errors = processes.stop_all()
    assert not any("Traceback" in e for e in errors), errors
