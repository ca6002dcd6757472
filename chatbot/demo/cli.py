"""`chatbot demo`: builds the demo team in its own SQLite file, prints its Monday digest and
writes the Slack message (Block Kit JSON) and the trend chart (PNG) next to it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from chatbot.cli_support import console, err


@dataclass
class DemoResult:
    digest: dict[str, Any]
    payload: dict[str, Any]
    json_path: Path
    png_path: Path
    db_path: Path
    seconds: float
    counts: Any


def run_demo(
    out: Path, db_path: Path, now: datetime | None = None, weeks: int = 14, seed: int | None = None
) -> DemoResult:
    """Recreate `db_path`, fill it, compute the last complete week's digest and write
    `demo-digest.json` and `demo-digest.png` into `out`."""
    from chatbot.db.engine import Database, make_engine
    from chatbot.db.migrate import upgrade
    from chatbot.demo.data import DEMO_SEED, build_demo
    from chatbot.digest.chart import render_chart
    from chatbot.metrics.engine import weekly_digest_for
    from chatbot.prompts import Prompts
    from chatbot.settings import DEFAULT_PROMPTS_DIR
    from chatbot.slack.blockkit import message_problems
    from chatbot.slack.blocks.digest import digest_blocks, digest_fallback

    started = time.perf_counter()
    now = now or datetime.now(UTC)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db_path}")
    try:
        upgrade(engine)
        db = Database(engine)
        counts = build_demo(db, now, weeks=weeks, seed=DEMO_SEED if seed is None else seed)
        digest = weekly_digest_for(db, "payments", None, now)
    finally:
        engine.dispose()
    prompts = Prompts(DEFAULT_PROMPTS_DIR)
    text = digest_fallback(digest, prompts)
    blocks = digest_blocks(digest, prompts)
    problems = message_problems(text, blocks)
    if problems:  # a bug of ours; the demo must show a message Slack accepts
        raise RuntimeError(f"demo digest breaks Block Kit limits: {problems[:3]}")
    payload = {"channel": "C0DEMO001", "text": text, "blocks": blocks, "unfurl_links": False}
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "demo-digest.json", out / "demo-digest.png"
    json_path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")
    png_path.write_bytes(render_chart(digest))
    return DemoResult(
        digest, payload, json_path, png_path, db_path, time.perf_counter() - started, counts
    )


def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for demo-digest.json and demo-digest.png.")
    ] = Path("."),
    db: Annotated[
        Path, typer.Option("--db", help="The demo's own SQLite file (recreated each run).")
    ] = Path("demo.db"),
    weeks: Annotated[int, typer.Option("--weeks", min=9, max=52, help="Weeks of history.")] = 14,
    seed: Annotated[int | None, typer.Option("--seed", help="Another seed, another team.")] = None,
) -> None:
    """A realistic demo team's Monday digest, with no credentials and no network."""
    from sqlalchemy.exc import OperationalError

    from chatbot.digest.catalogue import default_prompts
    from chatbot.metrics.cli import _print_table

    try:
        result = run_demo(out, db, weeks=weeks, seed=seed)
    except OSError as exc:
        err.print(f"[red]Cannot write the demo files:[/red] {exc.strerror}: {exc.filename}")
        raise typer.Exit(2) from None
    except OperationalError as exc:
        err.print(f"[red]Cannot create the demo database {db}:[/red] {exc.orig}")
        raise typer.Exit(2) from None
    counts = result.counts
    console.print(
        f"Demo team [bold]payments[/bold]: {counts.weeks} weeks, {counts.work_items} Jira "
        f"items, {counts.pull_requests} pull requests, {counts.deployments} production "
        f"deployments, {counts.check_ins} check-ins → {result.db_path}"
    )
    _print_table(result.digest, default_prompts())
    console.print(
        f"Slack message (Block Kit): {result.json_path} · chart: {result.png_path} · "
        f"{result.seconds:.1f} s"
    )
    console.print(
        f"Next: explore the demo's own database with `DATABASE_URL=sqlite:///{result.db_path} "
        "chatbot digest --team payments --explain cycle_time`; set up your team with "
        "`chatbot team add NAME --channel C…`, then `chatbot digest --team NAME`.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
