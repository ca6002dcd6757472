"""Digest render time for one team: the channel message's blocks, the leaders' DM and the
8-week trend PNG, from the demo team's digest. Target: under 1 s together.

    .venv/bin/python bench/digest_render.py [--runs 10] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import publish  # noqa: E402
from chatbot.demo.cli import run_demo  # noqa: E402
from chatbot.digest.chart import render_chart  # noqa: E402
from chatbot.prompts import Prompts  # noqa: E402
from chatbot.settings import DEFAULT_PROMPTS_DIR  # noqa: E402
from chatbot.slack.blocks.digest import (  # noqa: E402
    digest_blocks,
    digest_fallback,
    leader_dm_blocks,
)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--write-docs",
        "--write-readme",
        action="store_true",
        help="put the table in docs/performance.md",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        digest = run_demo(Path(tmp), Path(tmp) / "demo.db", now=now).digest
    prompts = Prompts(DEFAULT_PROMPTS_DIR)
    render_chart(digest)  # first call loads fonts; a running bot has paid that already

    def blocks() -> None:
        digest_blocks(digest, prompts)
        digest_fallback(digest, prompts)
        leader_dm_blocks(digest, prompts, "C1")

    def everything() -> None:
        blocks()
        render_chart(digest)

    rows = [
        ("message + leaders' DM blocks", timed(blocks, args.runs)),
        ("trend chart PNG", timed(lambda: render_chart(digest), args.runs)),
        ("both (one team's digest)", timed(everything, args.runs)),
    ]
    size = len(render_chart(digest)) / 1024
    lines = [
        f"One team's digest (the demo team), {args.runs} runs each, after a warm-up. "
        f"Target: blocks + PNG under 1 s. PNG: {size:.0f} KB, 880×770 px. "
        f"Load average during the run: {os.getloadavg()[0]:.1f} (2 cores).",
        "",
        "| render | p50 | max |",
        "|---|---|---|",
    ]
    for name, times in rows:
        lines.append(f"| {name} | {statistics.median(times):.1f} ms | {max(times):.1f} ms |")
    table = "\n".join(lines)
    publish("digest_render", table, args.write_docs)


if __name__ == "__main__":
    main()
