"""`chatbot sync github` history backfill: requests made against the API's minimum, and time.

Serves 1,000 merged pull requests (5 reviews and 8 commits each, half opened as drafts)
from the local fake GitHub GraphQL API and runs the real backfill into a fresh database
(PostgreSQL by default, `--sqlite` for a file). GraphQL's minimum is one request per 100
pull requests (`first` is capped at 100), since every PR's commits, reviews and timeline
fit in the nested first pages. For comparison, REST would need 1 list request per 100 PRs
plus 3 per PR (commits, reviews, timeline).

Usage: .venv/bin/python bench/github_backfill.py [--prs 1000] [--sqlite]
       [--write-docs]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.support import markdown_table, pg_schema, publish  # noqa: E402
from chatbot.clock import SystemClock  # noqa: E402
from chatbot.db.engine import Database, make_engine  # noqa: E402
from chatbot.db.migrate import upgrade  # noqa: E402
from chatbot.github.api import GitHubClient  # noqa: E402
from chatbot.github.backfill import GitHubBackfill, RepoResult  # noqa: E402
from tests.fakes.github_api import TOKEN, FakeGitHubServer, history  # noqa: E402

REPO = "acme/payments"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prs", type=int, default=1000)
    parser.add_argument("--reviews", type=int, default=5)
    parser.add_argument("--commits", type=int, default=8)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument(
        "--write-docs",
        "--write-readme",
        action="store_true",
        help="put the table in docs/performance.md",
    )
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.sqlite:
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite:///{tmp}/bench.db"
        else:
            url, _schema = stack.enter_context(pg_schema("bench_ghb"))
        result, requests, wall, incremental, wall_again = _backfill_twice(url, args)

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
    publish("github_backfill", markdown_table(("measure", "result", "note"), rows), args.write_docs)


def _backfill_twice(
    url: str, args: argparse.Namespace
) -> tuple[RepoResult, int, float, int, float]:
    """A full backfill, then an incremental one with nothing changed: the first's result,
    requests and wall time, the second's requests and wall time."""
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
    return result, requests, wall, incremental, wall_again


if __name__ == "__main__":
    main()
