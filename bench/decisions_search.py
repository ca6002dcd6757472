"""Decision search and pack speed with 100,000 decisions, on SQLite and PostgreSQL.

    .venv/bin/python bench/decisions_search.py [--rows 100000] [--queries 200]

Fills a fresh SQLite file and a dedicated PostgreSQL schema (database `test`, dropped
afterwards) with realistic varied decisions, then times, in-process, what `/context <words>`
runs (decision + intent search, privacy filter on) and the render of a pack for a Jira key
linked to 200 decisions. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import percentile, pg_schema, publish  # noqa: E402
from chatbot.db.engine import Database, make_engine  # noqa: E402
from chatbot.db.migrate import upgrade  # noqa: E402
from chatbot.decisions.models import Decision, DecisionJiraLink  # noqa: E402
from chatbot.decisions.pack import PackScope, build_pack  # noqa: E402
from chatbot.decisions.search import DecisionSearch  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PACK_KEY = "PAY-4242"
PACK_DECISIONS = 200

VERBS = [
    "use",
    "adopt",
    "drop",
    "keep",
    "move",
    "replace",
    "split",
    "merge",
    "cache",
    "retry",
    "limit",
    "pin",
    "freeze",
    "rotate",
]
TECH = [
    "postgres",
    "redis",
    "kafka",
    "rabbitmq",
    "grpc",
    "rest",
    "graphql",
    "stripe",
    "adyen",
    "braintree",
    "terraform",
    "helm",
    "kubernetes",
    "lambda",
    "s3",
    "cloudfront",
    "nginx",
    "envoy",
    "sentry",
    "datadog",
    "prometheus",
    "grafana",
    "vault",
    "okta",
    "auth0",
    "celery",
    "airflow",
    "dbt",
    "snowflake",
    "bigquery",
    "elasticsearch",
    "opensearch",
    "websocket",
    "webhooks",
    "feature-flags",
    "canary",
    "blue-green",
    "monorepo",
    "trunk",
    "semver",
    "protobuf",
    "avro",
    "json-schema",
    "openapi",
]
PARTS = [
    "ledger",
    "refunds",
    "invoices",
    "checkout",
    "payouts",
    "onboarding",
    "search",
    "notifications",
    "billing",
    "reports",
    "audit-log",
    "sessions",
    "login",
    "signup",
    "pricing",
    "catalog",
    "cart",
    "inventory",
    "shipping",
    "returns",
    "disputes",
    "fraud",
    "kyc",
    "exports",
    "imports",
    "dashboard",
    "mobile-app",
    "admin-console",
    "public-api",
    "partner-api",
]
REASONS = [
    "we need row level locks",
    "p95 latency must stay under 300 ms",
    "the vendor contract ends in March",
    "on-call load doubled last quarter",
    "compliance requires an audit trail",
    "the team already knows it",
    "it halves the cloud bill",
    "retries were causing duplicate charges",
    "the old library is unmaintained",
    "customers asked for it in every review",
    "security review flagged the current setup",
    "it keeps deploys under ten minutes",
]
ALTERNATIVES = ["do nothing", "build it ourselves", "buy a managed service", "wait a quarter"]


def _filler(rng: random.Random) -> str:
    # A Zipf-like tail of rarer words so queries hit anything from a few rows to thousands.
    return " ".join(f"term{int(rng.paretovariate(1.1)) % 5000}" for _ in range(rng.randint(2, 8)))


def make_rows(n: int, rng: random.Random) -> list[dict[str, object]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(1, n + 1):
        verb, tech, part = rng.choice(VERBS), rng.choice(TECH), rng.choice(PARTS)
        title = f"{verb.capitalize()} {tech} for {part}"
        body = f"{title} in {rng.choice(PARTS)}. {_filler(rng)}"
        at = start + timedelta(minutes=i * 7)
        private = rng.random() < 0.1
        keys = [PACK_KEY] if i % (n // PACK_DECISIONS) == 0 else [f"PAY-{rng.randint(1, 4000)}"]
        rows.append(
            {
                "id": i,
                "title": title,
                "decision": body,
                "why": rng.choice(REASONS),
                "alternatives": rng.choice(ALTERNATIVES),
                "consequences": _filler(rng),
                "status": "accepted" if rng.random() < 0.9 else "proposed",
                "tags": [part],
                "jira_keys": keys,
                "keywords": " ".join([part, *keys]),
                "author": f"U{rng.randint(1, 300):04d}",
                "logged_by": f"U{rng.randint(1, 300):04d}",
                "channel_id": f"C{rng.randint(1, 60):04d}",
                "is_private": private,
                "permalink": f"https://x.slack.com/archives/C1/p{i}",
                "source": "command",
                "created_at": at,
                "updated_at": at,
                "revision": 1,
            }
        )
    return rows


def fill(db: Database, rows: list[dict[str, object]]) -> float:
    started = time.perf_counter()
    decision, link = Decision.__table__, DecisionJiraLink.__table__  # type: ignore[attr-defined]
    with db.engine.begin() as conn:
        for chunk in range(0, len(rows), 5000):
            batch = rows[chunk : chunk + 5000]
            conn.execute(decision.insert(), batch)
            conn.execute(
                link.insert(),
                [
                    {"decision_id": r["id"], "jira_key": k, "project": "PAY"}
                    for r in batch
                    for k in r["jira_keys"]  # type: ignore[attr-defined]
                ],
            )
        if db.dialect == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def make_queries(count: int, rng: random.Random) -> list[str]:
    vocab = VERBS + TECH + PARTS + [w for r in REASONS for w in r.split() if len(w) > 3]
    queries = []
    for n in range(count):
        kind = n % 5
        if kind == 0:
            queries.append(rng.choice(TECH))
        elif kind == 1:
            queries.append(f"{rng.choice(TECH)} {rng.choice(PARTS)}")
        elif kind == 2:
            queries.append(" ".join(rng.sample(vocab, 3)))
        elif kind == 3:
            queries.append(f"term{rng.randint(1, 4000)} {rng.choice(PARTS)}")
        else:
            queries.append(f"\"{rng.choice(TECH)}* NEAR -{rng.choice(PARTS)}: 'x")
    return queries


def measure(db: Database, queries: list[str]) -> dict[str, float]:
    search = DecisionSearch(db)
    for q in queries[:20]:  # warm caches
        search.decisions(q, "C0001")
    times = []
    for q in queries:
        started = time.perf_counter()
        search.decisions(q, "C0001", limit=10)
        search.intents(q, "C0001", limit=3)
        times.append((time.perf_counter() - started) * 1000)
    pack_times = []
    scope = PackScope(PACK_KEY, key=PACK_KEY)
    size = 0
    for _ in range(10):
        started = time.perf_counter()
        size = len(build_pack(db, scope))
        pack_times.append((time.perf_counter() - started) * 1000)
    return {
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
        "max": max(times),
        "pack_p50": statistics.median(pack_times),
        "pack_max": max(pack_times),
        "pack_kb": size / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--write-docs",
        "--write-readme",
        action="store_true",
        help="put the table in docs/performance.md",
    )
    args = parser.parse_args()
    rng = random.Random(42)
    rows = make_rows(args.rows, rng)
    queries = make_queries(args.queries, random.Random(7))
    results = {}

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(make_engine(f"sqlite:///{tmp}/bench.db"))
        upgrade(db.engine)
        load = fill(db, rows)
        results["SQLite (FTS5)"] = {**measure(db, queries), "load": load}
        db.engine.dispose()

    with pg_schema("bench_decisions", PG_ADMIN) as (url, _schema):
        db = Database(make_engine(url))
        upgrade(db.engine)
        load = fill(db, rows)
        results["PostgreSQL (tsvector + GIN)"] = {**measure(db, queries), "load": load}
        db.engine.dispose()

    lines = [
        f"{args.rows:,} decisions, {len(queries)} queries (decision + intent search, privacy "
        f"filter on), pack for a key with {PACK_DECISIONS} decisions. Targets: search p95 "
        "≤ 50 ms, pack ≤ 200 ms.",
        "",
        "| database | search p50 | search p95 | search max | pack render p50 | pack max "
        "| pack size | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['max']:.1f} ms | "
            f"{r['pack_p50']:.1f} ms | {r['pack_max']:.1f} ms | {r['pack_kb']:.0f} KB | "
            f"{r['load']:.0f} s |"
        )
    table = "\n".join(lines)
    print()
    publish("decisions_search", table, args.write_docs)


if __name__ == "__main__":
    main()
