"""Drills: `chatbot serve` (a real process, its clock inside) while Slack's Web API answers
every method after 4 s, or does not answer at all (nothing listens on its port), then comes
back on the same port.

Every signed request is acknowledged within Slack's 3 s (no auth.test or other Web API call
on the way to the ack); what was typed is stored; the log has no traceback; and once Slack
answers again the outbox sends each message the bot owed exactly once, each thread's in order.

The outbox's waits are settings (`DRILL_SETTINGS`), so the drills take seconds. The figures
(acks, time to deliver after Slack is back) are printed; docs/reliability.md quotes them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import select

from chatbot.db.engine import Database
from chatbot.decisions.models import Decision
from chatbot.intent.models import Intent, IntentConversation
from chatbot.outbox.models import OutboxMessage, OutboxStatus
from tests.cli_helpers import OUR_VARIABLES, free_port, wait_until_serving
from tests.fakes.slack_api import Call, FakeSlack, FakeSlackServer
from tests.slack_driver import SIGNING_SECRET, HttpResult, SlackDriver

pytestmark = pytest.mark.drill

ACK_LIMIT = 3.0  # Slack's deadline for an acknowledgement
SLOW_SLACK_SECONDS = 4.0
# How long the bot may take to deliver what it owed once Slack answers (retries every 1-2 s).
DELIVERY_DEADLINE = 60.0
DRILL_SETTINGS = {
    "CLOCK_TICK_SECONDS": "0.5",
    "OUTBOX_EVERY_SECONDS": "1",
    "OUTBOX_BACKOFF_SECONDS": "1",
    "OUTBOX_BACKOFF_MAX_SECONDS": "2",
    "LOG_LEVEL": "INFO",
    "WEB_THREADS": "8",
}


@contextmanager
def serving(tmp_path: Path, db_url: str, api_url: str) -> Iterator[tuple[str, Path]]:
    """`chatbot serve` pointed at `api_url`; yields its URL and its log file."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(OUR_VARIABLES)},
        "SLACK_BOT_TOKEN": "xoxb-drill",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": db_url,
        "PORT": str(port),
        **DRILL_SETTINGS,
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatbot", "serve", "--host", "127.0.0.1"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_serving(proc, url, log.read_text) == 200
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "xoxb-drill" not in log.read_text()


def timed_requests(driver: SlackDriver, tag: str) -> dict[str, HttpResult]:
    """A signed /intent, /decision and mention, as Slack sends them, each with its time."""
    return {
        "/intent": driver.command("/intent", f"Drill intent {tag}", channel="CDRILL"),
        "/decision": driver.command(
            "/decision", f"Drill decision {tag} because drills", channel="CDRILL"
        ),
        "mention": driver.event(
            {
                "type": "app_mention",
                "user": "U1",
                "text": "<@UBOT0001> help",
                "channel": "CDRILL",
                "ts": f"{time.time():.6f}",
            }
        ),
    }


def assert_acked(results: dict[str, HttpResult]) -> None:
    print({name: f"{r.status} in {r.elapsed:.2f}s" for name, r in results.items()})
    for name, result in results.items():
        assert result.status == 200, f"{name} answered {result.status}"
        assert result.elapsed < ACK_LIMIT, f"{name} acknowledged after {result.elapsed:.2f}s"


def until(check: Callable[[], bool], deadline: float, what: str) -> float:
    """Polls `check` (a drill of real processes has nothing to wait on but time)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > deadline:
            pytest.fail(f"{what} did not happen within {deadline:.0f}s")
        time.sleep(0.1)
    return time.monotonic() - start


def posts(fake: FakeSlack, words: str) -> list[Call]:
    return [c for c in fake.of("chat.postMessage", ok=True) if words in c.params.get("text", "")]


def stored(db: Database, tag: str) -> tuple[Decision | None, Intent | None]:
    with db.session() as s:
        decision = s.exec(select(Decision).where(Decision.decision.contains(tag))).first()  # type: ignore[attr-defined]
        intent = s.exec(select(Intent).where(Intent.title.contains(tag))).first()  # type: ignore[attr-defined]
        return decision, intent


def pending(db: Database) -> list[OutboxMessage]:
    with db.session() as s:
        return list(
            s.exec(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)).all()
        )


def assert_owed_sent_once(fake: FakeSlack, db: Database, tag: str) -> None:
    """Each message owed after the three requests is in Slack once, each thread in order."""
    roots = posts(fake, f"Drill intent {tag}")
    assert len(roots) == 1, [c.params["text"] for c in roots]
    root_ts = roots[0].response["ts"]
    questions = [c for c in fake.of("chat.postMessage", ok=True) if "1/6" in c.params["text"]]
    assert len(questions) == 1 and questions[0].params["thread_ts"] == root_ts
    assert float(questions[0].response["ts"]) > float(root_ts)  # after the root it answers
    cards = posts(fake, f"Drill decision {tag}")
    assert len(cards) == 1  # the decision's card
    assert len(fake.of("chat.postMessage", ok=True)) == 4  # and the mention's help
    decision, intent = stored(db, tag)
    assert decision is not None and decision.card_ts == cards[0].response["ts"]
    assert intent is not None and intent.thread_ts == root_ts
    with db.session() as s:
        conversation = s.exec(select(IntentConversation)).one()
    assert conversation.thread_ts == root_ts


def assert_quiet(log: Path) -> None:
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert "listener failed" not in text, text[-3000:]


def test_slack_down_then_back(tmp_path: Path, db_url: str, db: Database) -> None:
    """Nothing listens where Slack's API should be: acks in time, nothing lost; when Slack
    comes back on that port, each owed message is sent once."""
    slack_port = free_port()
    api_url = f"http://127.0.0.1:{slack_port}/api/"
    with serving(tmp_path, db_url, api_url) as (url, log):
        driver = SlackDriver(url, f"http://127.0.0.1:{slack_port}/api/respond/drill")
        assert_acked(timed_requests(driver, "down"))
        until(lambda: all(stored(db, "down")), 30, "storing the decision and the intent")
        # The outbox tries while Slack is down (again and again) without a traceback; the
        # decision's card waits behind the intent's root, the channel's earlier message.
        until(
            lambda: len(pending(db)) == 3 and max(r.attempts for r in pending(db)) >= 3,
            30,
            "retrying while Slack is down",
        )
        assert_quiet(log)
        with FakeSlackServer(port=slack_port) as slack:
            back = until(
                lambda: not pending(db) and len(posts(slack.fake, "1/6")) == 1,
                DELIVERY_DEADLINE,
                "delivering once Slack is back",
            )
            print(f"delivered {back:.1f}s after Slack came back")
            assert_owed_sent_once(slack.fake, db, "down")
        assert_quiet(log)


def test_slack_slow(tmp_path: Path, db_url: str, db: Database) -> None:
    """Every Web API method answers after 4 s: the first requests after start are still
    acknowledged within 3 s, and each message is sent once."""
    fake = FakeSlack(delay_seconds=SLOW_SLACK_SECONDS)
    with (
        FakeSlackServer(fake=fake) as slack,
        serving(tmp_path, db_url, slack.api_url) as (
            url,
            log,
        ),
    ):
        driver = SlackDriver(url, slack.response_url("drill"))
        assert_acked(timed_requests(driver, "slow"))
        until(lambda: all(stored(db, "slow")), 30, "storing the decision and the intent")
        took = until(
            lambda: not pending(db) and len(posts(fake, "1/6")) == 1,
            DELIVERY_DEADLINE,
            "delivering through the slow Slack",
        )
        print(f"delivered through a 4 s Slack in {took:.1f}s")
        assert_owed_sent_once(fake, db, "slow")
        assert_quiet(log)
