"""Weekly digest speed over years of history, on SQLite and PostgreSQL.

    .venv/bin/python bench/metrics_digest.py [--scales 1,4,16] [--runs 5] [--before REV]
        [--write-docs]

For each scale, generates a team's history (bench/generate_history.py: at scale 1 two years
with 20,000 work items, 200,000 changes, 10,000 PRs (about a fifth AI-assisted), 30,000
reviews, 80,000 commits, 3,000 deployments; the team has its own AI agent and marker and two
goals; scale k covers k times as many years at the same rate) into a SQLite file and a
dedicated PostgreSQL schema (kept under --data-dir / as `bench_metrics_<scale>` and reused by
the next run unless --fresh, or unless they were made by an older generator), then times
`weekly_digest_for` for the last complete week (all metrics including the AI ones and the
goals, previous week, baseline, 8-week trend), without and with the data-health warnings:
one warm-up, then the median of the runs, with the client's CPU time beside the wall time
(the machine may be shared). Prints a Markdown table, the time per metric, and the query
plan of the slowest statement.

`--before REV` also times the same digest, on the same histories and in the same run, with
the `chatbot` package of git revision REV (extracted to a temporary directory and run in a
child process), so the table shows before and after side by side.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# A `--before` child process runs an older `chatbot` package, extracted here; imported
# first, so no later import (bench.generate_history puts the checkout first) finds this one.
if os.environ.get("BENCH_CHATBOT_CODE"):
    sys.path.insert(0, os.environ["BENCH_CHATBOT_CODE"])
    import chatbot  # noqa: F401

from bench._readme import write_section  # noqa: E402
from bench.generate_history import END, VERSION, generate  # noqa: E402
from chatbot.db.engine import Database, make_engine  # noqa: E402
from chatbot.db.migrate import upgrade  # noqa: E402
from chatbot.metrics.base import TeamScope  # noqa: E402
from chatbot.metrics.data_health import data_health  # noqa: E402
from chatbot.metrics.engine import METRICS, baseline_week, team_row, weekly_digest_for  # noqa: E402
from chatbot.metrics.week import Week  # noqa: E402
from chatbot.schema import metadata  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = END + timedelta(hours=10)


def pg_url(name: str, fresh: bool) -> tuple[str, bool]:
    """A dedicated schema; (url, whether it must be filled)."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = 'bench_done'",
            (name,),
        ).fetchone()
        current = bool(
            exists
            and conn.execute(
                f'SELECT 1 FROM "{name}".bench_done WHERE ok = %s', (VERSION,)
            ).fetchone()
        )
        if fresh or not current:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{name}"')
    base = PG_ADMIN.replace("postgresql://", "postgresql+psycopg://")
    return f"{base}?options=-csearch_path%3D{name}", bool(fresh or not current)


def sqlite_url(directory: Path, scale: int, fresh: bool) -> tuple[str, bool]:
    path = directory / f"history_x{scale}.db"
    done = directory / f"history_x{scale}.done"
    current = done.exists() and done.read_text() == str(VERSION)
    if fresh or not current:
        for stale in directory.glob(f"history_x{scale}.db*"):
            stale.unlink()
        done.unlink(missing_ok=True)
        return f"sqlite:///{path}", True
    return f"sqlite:///{path}", False


def mark_done(engine: Engine, directory: Path, scale: int) -> None:
    """Generation finished: the next run reuses this history (while the generator's VERSION
    is the same)."""
    if engine.dialect.name == "sqlite":
        (directory / f"history_x{scale}.done").write_text(str(VERSION))
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE bench_done (ok int)")
            conn.exec_driver_sql(f"INSERT INTO bench_done VALUES ({VERSION})")


class Statements:
    """Times every SQL statement, to find the slowest one."""

    def __init__(self, engine: Engine) -> None:
        self.seen: list[tuple[float, str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        elapsed = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        self.seen.append((elapsed, statement, params))


def _plan(engine: Engine, statement: str, params: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, params).all()
    if engine.dialect.name == "sqlite":
        return "\n".join(str(r[-1]) for r in rows)
    return "\n".join(str(r[0]) for r in rows)


def time_digest(db: Database, runs: int) -> dict[str, list[float]]:
    """The digest without warnings, `runs` times after a warm-up: wall and CPU seconds."""
    weekly_digest_for(db, "payments", None, NOW)  # warm-up; chooses and stores the baseline
    times, cpu = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        weekly_digest_for(db, "payments", None, NOW, with_warnings=False)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return {"times": times, "cpu": cpu}


def time_before(code: Path, url: str, runs: int) -> dict[str, list[float]]:
    """`time_digest` in a child process running the `chatbot` package extracted to `code`."""
    env = {**os.environ, "BENCH_CHATBOT_CODE": str(code)}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child-url", url, "--runs", str(runs)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def extract(rev: str) -> Path:
    """The `chatbot` package and prompts of git revision `rev`, in a temporary directory."""
    target = Path(tempfile.mkdtemp(prefix="bench-before-"))
    archive = subprocess.run(
        ["git", "archive", rev, "chatbot", "prompts"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def measure(
    url: str, fill: bool, scale: int, runs: int, directory: Path, before: Path | None
) -> dict[str, Any]:
    from chatbot.db.engine import DatabaseLimits  # a --before child's package may lack it
    from chatbot.metrics.base import Reading  # only this version's engine has it

    # Loading 32 years of history takes longer than the bot's 15 s statement limit allows.
    engine = make_engine(url, DatabaseLimits(statement_seconds=3600))
    if fill:
        made = generate(engine, scale)
        mark_done(engine, directory, scale)
    else:
        upgrade(engine)  # a kept history gets the indexes added since it was made
        made = {"counts": _counts(engine), "generate_s": 0.0, "write_s": 0.0}
    db = Database(engine)
    # The old code runs before and after this one, so both see the machine's load alike.
    old: dict[str, list[float]] = {"times": [], "cpu": []}
    if before is not None:
        for key, values in time_before(before, url, max(1, runs // 2)).items():
            old[key] += values
    timed = time_digest(db, runs)
    if before is not None:
        for key, values in time_before(before, url, max(1, runs - runs // 2)).items():
            old[key] += values
    full = []
    for _ in range(runs):
        began = time.perf_counter()
        digest = weekly_digest_for(db, "payments", None, NOW)
        full.append(time.perf_counter() - began)
    row = team_row(db, "payments")
    scope = TeamScope.of(row)
    week = Week.last_complete(NOW, scope.tz)
    asked = [*week.trend(8)]
    base = baseline_week(db, row, scope, NOW)
    if base is not None and base not in asked:
        asked.append(base)
    # Each metric as the digest computes it: in order, sharing one Reading.
    per_metric: dict[str, list[float]] = {metric.name: [] for metric in METRICS}
    for _ in range(runs):
        reading = Reading(detailed=frozenset({week.label}))
        for metric in METRICS:
            began = time.perf_counter()
            reading.figures(metric, db, scope, asked)
            per_metric[metric.name].append(time.perf_counter() - began)
    health = []
    for _ in range(runs):
        began = time.perf_counter()
        data_health(db, row, NOW)
        health.append(time.perf_counter() - began)
    warnings_s = statistics.median(health)
    recorder = Statements(engine)
    weekly_digest_for(db, "payments", None, NOW, with_warnings=False)
    slowest = max(recorder.seen, key=lambda s: s[0])
    plan = _plan(engine, slowest[1], slowest[2])
    engine.dispose()
    ai = digest["metrics"]["ai_share"]
    return {
        "scale": scale,
        "counts": made["counts"],
        "load_s": made["generate_s"] + made["write_s"],
        "digest_ms": statistics.median(timed["times"]) * 1000,
        "digest_cpu_ms": statistics.median(timed["cpu"]) * 1000,
        "before_ms": statistics.median(old["times"]) * 1000 if old["times"] else None,
        "before_cpu_ms": statistics.median(old["cpu"]) * 1000 if old["cpu"] else None,
        "with_warnings_ms": statistics.median(full) * 1000,
        "per_metric_ms": {k: statistics.median(v) * 1000 for k, v in per_metric.items()},
        "warnings_ms": warnings_s * 1000,
        "statements": len(recorder.seen),
        "slowest_ms": slowest[0] * 1000,
        "slowest_sql": slowest[1],
        "plan": plan,
        "week": week.label,
        "baseline": base.label if base else None,
        # Proof the AI metrics and goals had work to do.
        "ai": {
            "ai": ai["ai"],
            "total": ai["total"],
            "signals": ai["signals"],
            "unreviewed": digest["metrics"]["unreviewed_ai"]["count"],
            "goals": sorted(digest["goals"]),
        },
    }


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar_one()
            for t in ("work_item", "work_item_change", "pull_request", "deployment")
        }


TABLES = set(metadata.tables)


def index_use(plan: str, sql: str) -> tuple[list[str], list[str]]:
    """(indexes the plan reads, tables it reads whole) from SQLite's or PostgreSQL's plan;
    scans of the statement's own CTEs and subqueries are not table reads."""
    used = re.findall(
        r"(?:USING (?:COVERING |AUTOMATIC COVERING |AUTOMATIC )?INDEX|Index Scan using|"
        r"Index Only Scan using|Bitmap Index Scan on) (\w+)",
        plan,
    )
    if "INTEGER PRIMARY KEY" in plan:  # SQLite's rowid; PostgreSQL names its `_pkey` index
        used.append("primary key")
    table_of = {t: t for t in TABLES}
    table_of |= {alias: t for t, alias in re.findall(r"\b(\w+) AS (\w+)", sql) if t in TABLES}
    scanned = re.findall(r"(?:^|\n)[\s>-]*(?:SCAN|Seq Scan on) (\w+)(?! USING)", plan)
    return sorted(set(used)), sorted({table_of[n] for n in scanned if n in table_of})


def table(results: dict[str, list[dict[str, Any]]], before: str | None = None) -> str:
    compare = before is not None
    head = "| database | history | work items | changes | PRs | deployments | digest (median) "
    head += "| × scale 1 | client CPU |"
    rule = "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    if compare:
        head += " before (median) | before × scale 1 | before CPU | before ÷ after |"
        rule += "---:|---:|---:|---:|"
    head += " slowest statement | data health | with warnings |"
    rule += "---:|---:|---:|"
    lines = [head, rule]
    for name, rows in results.items():
        first = rows[0]["digest_ms"]
        first_before = rows[0]["before_ms"]
        for r in rows:
            c = r["counts"]
            line = (
                f"| {name} | {2 * r['scale']} years | {c['work_item']:,} | "
                f"{c['work_item_change']:,} | {c['pull_request']:,} | {c['deployment']:,} | "
                f"{r['digest_ms']:.0f} ms | {r['digest_ms'] / first:.2f} | "
                f"{r['digest_cpu_ms']:.0f} ms |"
            )
            if compare:
                line += (
                    f" {r['before_ms']:.0f} ms | {r['before_ms'] / first_before:.2f} | "
                    f"{r['before_cpu_ms']:.0f} ms | {r['before_ms'] / r['digest_ms']:.1f}× |"
                )
            line += (
                f" {r['slowest_ms']:.0f} ms | {r['warnings_ms']:.0f} ms | "
                f"{r['with_warnings_ms']:.0f} ms |"
            )
            lines.append(line)
    for name, rows in results.items():
        largest = rows[-1]
        used, scanned = index_use(largest["plan"], largest["slowest_sql"])
        first_line = " ".join(largest["slowest_sql"].split())[:40]
        lines += [
            "",
            f"Slowest statement on {name} with {2 * largest['scale']} years of history "
            f"({largest['slowest_ms']:.0f} ms, `{first_line} …`): its plan reads the indexes "
            + ", ".join(f"`{u}`" for u in used)
            + (
                "; no table is read whole."
                if not scanned
                else "; it reads whole: " + ", ".join(f"`{t}`" for t in scanned) + "."
            ),
        ]
    ai = next(iter(results.values()))[0]["ai"]
    signals = ", ".join(f"{kind} {n}" for kind, n in ai["signals"].items())
    lines += [
        "",
        "Digest = `weekly_digest_for` without the data-health warnings (all metrics including "
        "the AI ones, previous week, baseline, 8-week trend, goals); *data health* is "
        "`chatbot team doctor`'s checks alone (the digest's `warnings`, median of the runs); "
        "*with warnings* is the digest with them. Client CPU is the benchmark process's CPU "
        "time (it includes SQLite's work, not PostgreSQL's). Wall times depend on the "
        "machine's load; history k× longer at the same rate. In the reported week "
        f"{ai['ai']} of {ai['total']} merged PRs are AI-assisted ({signals}), "
        f"{ai['unreviewed']} of them unreviewed; goals on {', '.join(ai['goals'])}.",
    ]
    if compare:
        lines += [
            "",
            f"*Before* is the same digest with the code of `{before}` (the AI metrics as "
            "they first landed), run in a child process on the same histories, half its runs "
            "just before and half just after the current code's, in the same run.",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,4,16")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--write-docs",
        "--write-readme",
        action="store_true",
        help="put the table in docs/performance.md",
    )
    parser.add_argument(
        "--data-dir", default=str(Path(tempfile.gettempdir()) / "throughline-bench-metrics")
    )
    parser.add_argument("--fresh", action="store_true", help="generate the histories again")
    parser.add_argument(
        "--before", metavar="REV", help="also time the digest with the code of git revision REV"
    )
    parser.add_argument("--child-url", help=argparse.SUPPRESS)  # a --before child process
    args = parser.parse_args()
    if args.child_url:
        engine = make_engine(args.child_url)
        print(json.dumps(time_digest(Database(engine), args.runs)))
        engine.dispose()
        return
    scales = [int(s) for s in args.scales.split(",")]
    directory = Path(args.data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    before = extract(args.before) if args.before else None
    results: dict[str, list[dict[str, Any]]] = {}
    for name in args.databases.split(","):
        results[name] = []
        for scale in scales:
            if name == "sqlite":
                url, fill = sqlite_url(directory, scale, args.fresh)
            else:
                url, fill = pg_url(f"bench_metrics_{scale}", args.fresh)
            r = measure(url, fill, scale, args.runs, directory, before)
            results[name].append(r)
            was = f"; before {r['before_ms']:.0f} ms" if r["before_ms"] is not None else ""
            print(
                f"{name} scale {scale}: digest {r['digest_ms']:.0f} ms "
                f"(client CPU {r['digest_cpu_ms']:.0f} ms; with warnings "
                f"{r['with_warnings_ms']:.0f} ms{was}) "
                f"(loaded in {r['load_s']:.0f} s; week {r['week']}, baseline {r['baseline']}, "
                f"{r['statements']} statements; AI {r['ai']})",
                flush=True,
            )
            for metric, ms in r["per_metric_ms"].items():
                print(f"    {metric:26} {ms:7.1f} ms")
            print(f"    {'warnings (team doctor)':26} {r['warnings_ms']:7.1f} ms")
            print(f"  slowest statement {r['slowest_ms']:.1f} ms:\n{r['slowest_sql']}\n")
            print("  plan:\n" + "\n".join("    " + line for line in r["plan"].splitlines()))
    if before is not None:
        shutil.rmtree(before, ignore_errors=True)
    markdown = table(results, args.before)
    print()
    print(markdown)
    if args.write_docs:
        write_section("metrics_digest", markdown)


if __name__ == "__main__":
    main()
