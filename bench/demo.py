"""`chatbot demo` end to end, as a newcomer runs it: a fresh process building the demo team,
computing its digest and writing the JSON and PNG. Target: under 15 s.

    .venv/bin/python bench/demo.py [--runs 3] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import publish  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--write-docs",
        "--write-readme",
        action="store_true",
        help="put the table in docs/performance.md",
    )
    args = parser.parse_args()
    chatbot = Path(sys.executable).parent / "chatbot"
    walls: list[float] = []
    inner: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_"))}
        env.pop("DATABASE_URL", None)
        for _ in range(args.runs):
            started = time.perf_counter()
            done = subprocess.run(
                [str(chatbot), "demo"], cwd=tmp, env=env, capture_output=True, text=True
            )
            walls.append(time.perf_counter() - started)
            if done.returncode != 0:
                raise SystemExit(f"chatbot demo failed: {done.stderr.strip()[:500]}")
            line = [x for x in done.stdout.splitlines() if "chart:" in x]
            if line:
                inner.append(float(line[-1].rsplit("·", 1)[-1].strip().rstrip(" s")))
        files = sorted(p.name for p in Path(tmp).iterdir())
    lines = [
        f"`chatbot demo` in a fresh process, {args.runs} runs (14 weeks of history; writes "
        f"{', '.join(files)}). Target: under 15 s. "
        f"Load average during the run: {os.getloadavg()[0]:.1f} (2 cores).",
        "",
        "| | median | max |",
        "|---|---|---|",
        f"| whole command (process start to exit) | {statistics.median(walls):.1f} s "
        f"| {max(walls):.1f} s |",
    ]
    if inner:
        lines.append(
            f"| build + digest + files (as the command reports) | "
            f"{statistics.median(inner):.1f} s | {max(inner):.1f} s |"
        )
    table = "\n".join(lines)
    publish("demo", table, args.write_docs)


if __name__ == "__main__":
    main()
