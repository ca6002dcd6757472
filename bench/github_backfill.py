"""`chatbot sync github` history backfill: requests made against the API's minimum, and time.

Serves 1,000 merged pull requests (5 reviews and 8 commits each, half opened as drafts)
from the local fake GitHub GraphQL API and runs the real backfill into a fresh database
(PostgreSQL by default, `--sqlite` for a file). GraphQL's minimum is one request per 100
pull requests (`first` is capped at 100), since every PR's commits, reviews and timeline
fit in the nested first pages. For comparison, REST would need 1 list request per 100 PRs
plus 3 per PR (commits, reviews, timeline).

Usage: .venv/bin/python bench/github_backfill.py [--prs 1000] [--sqlite]
       [--write-readme]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench._readme import write_section  # noqa: E402
from chatbot.clock import SystemClock  # noqa: E402
from chatbot.db.engine import Database, make_engine  # noqa: E402
from chatbot.db.migrate import upgrade  # noqa: E402
from chatbot.github.api import GitHubClient  # noqa: E402
from chatbot.github.backfill import GitHubBackfill  # noqa: E402
from tests.fakes.github_api import TOKEN, FakeGitHubServer, history  # noqa: E402

PG_ADMIN = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REPO = "acme/payments"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prs", type=int, default=1000)
    parser.add_argument("--reviews", type=int, default=5)
    parser.add_argument("--commits", type=int, default=8)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()

    schema = None
    tmp = tempfile.TemporaryDirectory()
    if args.sqlite:
        url = f"sqlite:///{tmp.name}/bench.db"
    else:
        schema = f"bench_ghb_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        base = PG_ADMIN.replace("postgresql://", "postgresql+psycopg://")
        url = f"{base}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        db = Database(engine)
        with FakeGitHubServer() as server:
            server.fake.add_repo(REPO, history(args.prs, args.reviews, args.commits))
            sleeps: list[float] = []
            client = GitHubClient(server.url, TOKEN, sleep=sleeps.append)
            started = time.perf_counter()
            result = GitHubBackfill(db, SystemClock(), client).sync_repo(REPO)
            wall = time.perf_counter() - started
            requests = server.fake.count()
            before = server.fake.count()
            started_again = time.perf_counter()
            GitHubBackfill(db, SystemClock(), client).sync_repo(REPO)
            incremental = server.fake.count() - before
            wall_again = time.perf_counter() - started_again
    finally:
        engine.dispose()
        if schema is not None:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        tmp.cleanup()

    minimum = math.ceil(args.prs / 100)
    rest = minimum + 3 * args.prs
    database = "SQLite" if args.sqlite else "PostgreSQL"
    rows = [
        (
            f"PRs stored ({args.reviews} reviews, {args.commits} commits each)",
            f"{result.pull_requests} PRs, {result.commits} commits, {result.reviews} reviews",
            "",
        ),
        ("GraphQL requests made", str(requests), f"minimum {minimum} (100 PRs per page)"),
        ("the same history over REST (for comparison)", f"{rest} requests", ""),
        (f"wall time, local fake GitHub, {database}", f"{wall:.1f} s", ""),
        ("incremental run with nothing changed", f"{incremental} request, {wall_again:.2f} s", ""),
    ]
    table = "| measure | result | note |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows
    )
    print(table)
    if args.write_readme:
        write_section("github_backfill", table)


if __name__ == "__main__":
    main()
