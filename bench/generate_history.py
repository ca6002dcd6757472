"""Generates a team's history for the metrics benchmark and writes it fast.

    .venv/bin/python bench/generate_history.py --url sqlite:////tmp/h.db [--scale 1]

At scale 1: two years ending on the given day, with 20,000 work items and 200,000 status and
assignee changes, 10,000 pull requests with 80,000 commits (each on its PR's head branch)
and 30,000 reviews, and 3,000 deployments (each shipping the PRs merged since the previous
one; a few failures, rollbacks, hotfixes and staging runs). About a fifth of the PRs are
AI-assisted (docs/ai-signals.md): opened by a coding agent (built in, or the team's own),
with an AI `Co-authored-by:` trailer or marker in a commit, a "Generated with Claude Code"
body or an AI label; agents' commits often name the human who prompted them, and every PR
has a size. The team adds an agent, a marker and goals. Scale k keeps the same rate
over k times as many years, so the recent weeks look the same whatever the scale.
Rows are written with `executemany` in one transaction on SQLite and with COPY on
PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import Engine  # noqa: E402

from chatbot.db.engine import make_engine  # noqa: E402
from chatbot.db.migrate import upgrade  # noqa: E402

# Bumped whenever the generated history changes: the benchmark makes older histories again.
VERSION = 2
END = datetime(2026, 11, 18, tzinfo=UTC)
REPOS = ["acme/pay", "acme/api"]
SERVICE = "pay-api"
PEOPLE = [(f"acc-{n}", f"Engineer {n}") for n in range(12)]
REVIEWERS = [f"dev{n}" for n in range(12)] + ["dependabot[bot]"]
# Coding agents: two built in (GitHub flags Copilot's a bot) and the team's own.
AGENTS = [
    ("copilot-swe-agent[bot]", True),
    ("devin-ai-integration[bot]", True),
    ("robo-dev", False),
]
TEAM_AI = {
    "ai_agents": ["robo-dev"],
    "ai_markers": [r"^ai-tool:"],
    "goals": {"cycle_time": {"relative": -0.4}, "review_time": {"absolute": 8.0}},
}
AI_MESSAGES = [
    "Add retries\n\nCo-Authored-By: Claude <noreply@anthropic.com>",
    "Port the client\n\nMade-with: Cursor",
    "Scaffold the handler\n\nai-tool: gen",
]
CLAUDE_BODY = (
    "Retries for the client.\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)"
)
PER_SCALE = {
    "work_items": 20_000,
    "changes": 200_000,
    "prs": 10_000,
    "reviews": 30_000,
    "commits": 80_000,
    "deployments": 3_000,
}
STATUSES = [
    ("1", "To Do", "new"),
    ("3", "In Progress", "indeterminate"),
    ("4", "In Review", "indeterminate"),
    ("5", "Done", "done"),
]


def _rows(scale: int, team_id: int, seed: int) -> dict[str, list[tuple[Any, ...]]]:
    rnd = random.Random(seed)
    start = END - timedelta(days=730 * scale)
    span = (END - start).total_seconds()

    def moment() -> datetime:
        return start + timedelta(seconds=rnd.random() * span)

    out: dict[str, list[tuple[Any, ...]]] = {
        k: []
        for k in (
            "work_item",
            "work_item_change",
            "pull_request",
            "pull_request_key",
            "pull_request_event",
            "git_commit",
            "branch_commit",
            "pull_request_review",
            "deployment",
            "deployment_change",
        )
    }
    # Work items: ~10 changes each (status chain plus assignee moves).
    items = PER_SCALE["work_items"] * scale
    per_item = PER_SCALE["changes"] // PER_SCALE["work_items"]
    history_id = 0
    for n in range(1, items + 1):
        created = moment()
        kind = "Bug" if rnd.random() < 0.15 else "Story"
        labels = ["escaped"] if kind == "Bug" and rnd.random() < 0.2 else []
        status, person = "To Do", None
        at = created
        stale = rnd.random() < 0.005  # left in progress, never finished
        path = ["In Progress", "In Review", "In Progress", "In Review", "Done"]
        assignments = per_item - len(path)
        steps: list[tuple[str, Any]] = [("status", s) for s in path]
        for _ in range(assignments):
            steps.insert(rnd.randrange(len(steps)), ("assignee", rnd.choice(PEOPLE)))
        for field, value in steps:
            if stale and field == "status" and value == "Done":
                value = "In Progress"
            at = at + timedelta(hours=rnd.expovariate(1 / 30))
            if at >= END:
                break
            history_id += 1
            if field == "status":
                out["work_item_change"].append(
                    (team_id, n, str(history_id), "status", None, status, None, value, at)
                )
                status = value
            else:
                old = person or (None, None)
                out["work_item_change"].append(
                    (
                        team_id,
                        n,
                        str(history_id),
                        "assignee",
                        old[0],
                        old[1],
                        value[0],
                        value[1],
                        at,
                    )
                )
                person = value
        who = person or (None, None)
        out["work_item"].append(
            (
                n,
                team_id,
                str(n),
                f"PAY-{n}",
                "PAY",
                kind,
                "",
                status,
                None,
                who[0],
                who[1],
                json.dumps(labels),
                "{}",
                False,
                False,
                created,
                max(at, created),
                END,
            )
        )
    # Pull requests with commits, events, keys and reviews.
    prs = PER_SCALE["prs"] * scale
    per_pr_commits = PER_SCALE["commits"] // PER_SCALE["prs"]
    per_pr_reviews = PER_SCALE["reviews"] // PER_SCALE["prs"]
    merged_prs: list[tuple[datetime, str, int, str]] = []
    review_id = 0
    # AI attributes draw from their own stream: the rest of the history stays as it was.
    ai_rnd = random.Random(seed + 1)
    for n in range(1, prs + 1):
        repo = REPOS[n % 2]
        created = moment()
        merged = created + timedelta(hours=rnd.expovariate(1 / 30)) if rnd.random() < 0.9 else None
        merged = merged if merged is not None and merged < END else None
        draft = rnd.random() < 0.2
        branch = f"feature/{n}"
        human = rnd.choice(REVIEWERS[:12])
        ai = _ai_pr(ai_rnd, human)
        out["pull_request"].append(
            (
                repo,
                n,
                f"PAY-{rnd.randint(1, items)} change {n}",
                ai["body"],
                branch,
                "main",
                f"h{n:039d}",
                f"m{n:039d}" if merged else None,
                ai["author"],
                ai["author_is_bot"],
                draft,
                False,
                "merged" if merged else "open",
                created,
                merged,
                merged,
                created,
                json.dumps(ai["labels"]),
                ai["additions"],
                ai["deletions"],
            )
        )
        if rnd.random() < 0.5:
            out["pull_request_key"].append((repo, n, f"PAY-{rnd.randint(1, items)}"))
        if draft:
            out["pull_request_event"].append(
                (repo, n, "ready_for_review", created + timedelta(hours=rnd.random() * 5))
            )
        for c in range(per_pr_commits):
            sha = f"c{n:030d}{c:09d}"
            authored = created - timedelta(hours=rnd.random() * 72) + timedelta(hours=c)
            message, coauthors = (
                ai["commits"][c] if c < len(ai["commits"]) else (f"Change {c}", None)
            )
            out["git_commit"].append((repo, sha, authored, ai["committer"], message, coauthors))
            out["branch_commit"].append((repo, branch, sha))
        settled = merged or created + timedelta(days=2)
        for _ in range(per_pr_reviews):
            review_id += 1
            login = rnd.choice(REVIEWERS)
            state = rnd.choice(["approved", "changes_requested", "commented"])
            submitted = created + (settled - created) * rnd.random()
            out["pull_request_review"].append(
                (review_id, repo, n, login, login.endswith("[bot]"), state, submitted, None)
            )
        if merged:
            merged_prs.append((merged, repo, n, f"m{n:039d}"))
    # Deployments: each ships the PRs merged since the previous one.
    merged_prs.sort()
    deployments = PER_SCALE["deployments"] * scale
    times = sorted(moment() for _ in range(deployments))
    cursor = 0
    dep_id = 0
    for k, at in enumerate(times):
        dep_id += 1
        env = "staging" if rnd.random() < 0.1 else "production"
        status = "failure" if rnd.random() < 0.05 else "success"
        rollback = f"d{k - 1}" if k and rnd.random() < 0.02 else None
        hotfix = f"d{k - 2}" if k > 1 and rnd.random() < 0.02 else None
        out["deployment"].append(
            (dep_id, "webhook", f"d{k}", SERVICE, None, env, status, at, rollback, hotfix, at, at)
        )
        if env != "production" or status != "success":
            continue
        while cursor < len(merged_prs) and merged_prs[cursor][0] <= at:
            _, repo, number, merge_sha = merged_prs[cursor]
            cursor += 1
            if rnd.random() < 0.5:
                out["deployment_change"].append((dep_id, "pr", f"{repo}#{number}"))
            else:
                out["deployment_change"].append((dep_id, "commit", merge_sha))
    return out


def _ai_pr(rnd: random.Random, human: str) -> dict[str, Any]:
    """One PR's author, labels, body, size and special commit messages: about 8 % opened by
    a coding agent (half of those with a commit the prompting human co-wrote, whose approval
    then does not count), 6 % with an AI trailer or marker in a commit, 4 % with a Claude
    Code body and 4 % with an AI label; the signals overlap now and then."""
    author, is_bot, committer = human, False, human
    commits: list[tuple[str, str | None]] = []
    if rnd.random() < 0.08:
        author, is_bot = rnd.choice(AGENTS)
        committer = author.removesuffix("[bot]")
        if rnd.random() < 0.5:
            number = int(human.removeprefix("dev"))
            commits.append(
                (
                    f"Agent work\n\nCo-authored-by: {human} "
                    f"<{100 + number}+{human}@users.noreply.github.com>",
                    f" {human} ",
                )
            )
    if rnd.random() < 0.06:
        commits.append((rnd.choice(AI_MESSAGES), None))
    labels = ["backend"] if rnd.random() < 0.3 else []
    if rnd.random() < 0.04:
        labels.append(rnd.choice(["ai-assisted", "AI-Generated", "claude-code-assisted"]))
    return {
        "author": author,
        "author_is_bot": is_bot,
        "committer": committer,
        "commits": commits,
        "labels": labels,
        "body": CLAUDE_BODY if rnd.random() < 0.04 else "",
        "additions": int(rnd.expovariate(1 / 120)),
        "deletions": int(rnd.expovariate(1 / 40)),
    }


COLUMNS = {
    "work_item": (
        "id, team_id, jira_id, key, project_key, issue_type, summary, status, status_id, "
        "assignee_id, assignee_name, labels, fields, escaped, deleted, created_at, updated_at, "
        "synced_at"
    ),
    "work_item_change": (
        "team_id, work_item_id, history_id, field, from_id, from_value, to_id, to_value, at"
    ),
    "pull_request": (
        "repo, number, title, body, head_branch, base_branch, head_sha, merge_commit_sha, "
        "author_login, author_is_bot, opened_as_draft, draft, state, created_at, merged_at, "
        "closed_at, updated_at, labels, additions, deletions"
    ),
    "pull_request_key": "repo, number, jira_key",
    "pull_request_event": "repo, number, kind, at",
    "git_commit": "repo, sha, authored_at, author_login, message, coauthors",
    "branch_commit": "repo, branch, sha",
    "pull_request_review": (
        "review_id, repo, number, reviewer_login, reviewer_is_bot, state, submitted_at, "
        "dismissed_at"
    ),
    "deployment": (
        "id, source, external_id, service, repo, environment, status, deployed_at, "
        "rollback_of, hotfix_of, first_seen_at, updated_at"
    ),
    "deployment_change": "deployment_id, kind, value",
}


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):  # the stored form of UTCDateTime on SQLite
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _pg_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def write(engine: Engine, team_id: int, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("BEGIN")  # the engine's connections run in autocommit mode
            for table, columns in COLUMNS.items():
                marks = ", ".join("?" for _ in columns.split(","))
                cursor.executemany(
                    f'INSERT INTO "{table}" ({columns}) VALUES ({marks})',
                    ([_sqlite_value(v) for v in row] for row in rows[table]),
                )
        else:
            for table, columns in COLUMNS.items():
                with cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                    for row in rows[table]:
                        copy.write_row([_pg_value(v) for v in row])
            for table in ("work_item", "deployment"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f'(SELECT max(id) FROM "{table}"))'
                )
        raw.commit()
        if engine.dialect.name == "sqlite":
            cursor.execute("ANALYZE")
            raw.commit()
        else:
            # As autovacuum would leave a settled database: statistics, and the visibility
            # map that lets index-only scans skip the table.
            raw.driver_connection.autocommit = True  # VACUUM runs outside a transaction
            raw.driver_connection.execute("VACUUM ANALYZE")
            raw.driver_connection.autocommit = False
    finally:
        raw.close()


def add_team(engine: Engine) -> int:
    from chatbot.db.engine import Database
    from chatbot.jira.models import JiraStatus
    from chatbot.teams.models import Team

    db = Database(engine)
    with db.session() as s:
        team = Team(
            name="payments",
            channel_id="C1",
            tz="Europe/Berlin",
            repos=REPOS,
            services=[SERVICE],
            wip_limit=3,
            created_at=END - timedelta(days=1),
            **TEAM_AI,
        )
        s.add(team)
        for sid, name, category in STATUSES:
            s.add(JiraStatus(status_id=sid, name=name, category=category, updated_at=END))
        s.flush()
        assert team.id is not None
        return team.id


def generate(engine: Engine, scale: int, seed: int = 7) -> dict[str, Any]:
    """Migrates, adds the team and its history; returns row counts and timings."""
    upgrade(engine)
    team_id = add_team(engine)
    began = time.perf_counter()
    rows = _rows(scale, team_id, seed)
    built = time.perf_counter()
    write(engine, team_id, rows)
    done = time.perf_counter()
    counts = {table: len(r) for table, r in rows.items()}
    return {"counts": counts, "generate_s": built - began, "write_s": done - built}


def _iter_summary(result: dict[str, Any]) -> Iterator[str]:
    for table, n in result["counts"].items():
        yield f"{table:22} {n:>10,}"
    yield f"generated in {result['generate_s']:.1f} s, written in {result['write_s']:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="an empty database")
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    from chatbot.db.engine import DatabaseLimits  # a --before child's package may lack it

    # Loading 32 years of history takes longer than the bot's 15 s statement limit allows.
    result = generate(make_engine(args.url, DatabaseLimits(statement_seconds=3600)), args.scale)
    print("\n".join(_iter_summary(result)))


if __name__ == "__main__":
    main()
