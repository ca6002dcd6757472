"""The floor for bench/intent_throughput.py: a bare Bolt app doing only what `/intent <title>`
visibly does (one draft row stored, the root message and the first question in its thread
posted), served with exactly the bot's gunicorn configuration.

It runs as its own process, configured like `chatbot serve` through the environment
(PORT, DATABASE_URL, SLACK_API_URL, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, WEB_CONCURRENCY,
WEB_THREADS, LISTENER_THREADS). Its database engine is a plain SQLAlchemy one with the SQLite
settings the bot had when this floor was set (WAL, synchronous=NORMAL, a 30 s busy timeout,
each transaction taking the write lock at BEGIN), written out here so that tuning the bot's
own engine cannot move the floor.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
)
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatbot.server import ThroughlineServer  # noqa: E402
from chatbot.settings import Settings  # noqa: E402

metadata = MetaData()
draft = Table(
    "bare_draft",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("channel_id", String(40), nullable=False),
    Column("created_by", String(40), nullable=False),
    Column("thread_ts", String(40)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def floor_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def bare_app(settings: Settings) -> Callable[..., Iterable[bytes]]:
    engine = floor_engine(settings.database_url)
    metadata.create_all(engine)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=10)
    app = App(
        client=client,
        signing_secret=secret,
        token_verification_enabled=False,
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(max_workers=settings.listener_threads),
    )

    @app.command("/intent")
    def intent(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        channel, title = body["channel_id"], body["text"]
        with engine.begin() as conn:
            conn.execute(
                insert(draft).values(
                    title=title,
                    channel_id=channel,
                    created_by=body["user_id"],
                    created_at=datetime.now(UTC),
                )
            )
        root = client.chat_postMessage(channel=channel, text=f"Intent: {title}")
        client.chat_postMessage(
            channel=channel, thread_ts=root["ts"], text="What outcome should this change have?"
        )

    slack = SlackRequestHandler(app)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"ok": true}']
        return slack(environ, start_response)

    return wsgi


class BareServer(ThroughlineServer):
    """`chatbot serve`'s gunicorn configuration (load_config), serving the bare app."""

    def load(self) -> Any:
        return bare_app(self.settings)


if __name__ == "__main__":
    settings = Settings()
    BareServer(settings, host="127.0.0.1", embedded_clock=False).run()
