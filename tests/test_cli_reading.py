"""What a person reads from the command line: every listing printed whole into a narrow pipe,
and the one-line answers to mistakes (in-process, typer's runner)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chatbot.clock import SystemClock
from chatbot.db.engine import Database, make_engine
from chatbot.db.migrate import upgrade
from chatbot.demo.data import build_demo
from chatbot.metrics.cli import digest_listing, explain_listing
from chatbot.metrics.engine import BY_NAME, explain, weekly_digest_for
from chatbot.prompts import Prompts
from chatbot.settings import DEFAULT_PROMPTS_DIR
from chatbot.teams.cli import team_listing
from chatbot.teams.service import TeamService
from tests.cli_helpers import Invoked, invoke_chatbot, run_chatbot

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo's team with weeks of history: items for every metric, long references."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    build_demo(Database(engine), NOW, weeks=9, seed=7)
    engine.dispose()
    return f"sqlite:///{path}"


def _words(cell: str) -> list[str]:
    return cell.split()


def _printed_whole(listing_rows: list[tuple[str, ...]], output: str) -> None:
    """No "…" anywhere, and every word of every cell printed unbroken."""
    assert "…" not in output
    printed = set(output.split())
    for row in listing_rows:
        for cell in row:
            missing = [w for w in _words(cell) if w not in printed]
            assert not missing, (cell, missing, output[:2000])


def _run(db_url: str, tmp_path: Path, columns: int, *args: str) -> Invoked:
    done = invoke_chatbot(
        *args, cwd=tmp_path, env={"DATABASE_URL": db_url, "COLUMNS": str(columns)}
    )
    assert done.returncode == 0, (done.stderr, done.exception)
    return done


@pytest.mark.parametrize("columns", [80, 120])
def test_every_table_is_printed_whole_into_a_pipe(
    demo_db: str, tmp_path: Path, columns: int
) -> None:
    db = Database(make_engine(demo_db))
    prompts = Prompts(DEFAULT_PROMPTS_DIR)
    teams = TeamService(db, SystemClock()).all()
    listed = _run(demo_db, tmp_path, columns, "team", "list")
    _printed_whole(team_listing(teams, prompts).rows, listed.stdout)
    # the digest (the demo's week: the last complete one before now)
    week = weekly_digest_for(db, "payments", None, datetime.now(UTC))["week"]
    table = _run(demo_db, tmp_path, columns, "digest", "--team", "payments", "--week", week)
    _printed_whole(
        digest_listing(weekly_digest_for(db, "payments", week, datetime.now(UTC)), prompts).rows,
        table.stdout,
    )
    # every metric's explanation
    for metric in BY_NAME:
        items = [i.as_dict() for i in explain(db, "payments", week, metric)]
        shown = _run(
            demo_db,
            tmp_path,
            columns,
            "digest",
            "--team",
            "payments",
            "--week",
            week,
            "--explain",
            metric,
        )
        listing = explain_listing(metric, items)
        _printed_whole(listing.rows, shown.stdout)
        assert shown.stdout.startswith(f"{metric}: {len(items)} item")
        if metric in {"cycle_time", "review_time"}:
            assert items, metric  # the demo has PRs in every week
            unit = " d" if metric == "cycle_time" else " h"
            assert all(row[2].endswith(unit) for row in listing.rows if row[2] != "—")
        for row in listing.rows:
            assert row[3], row  # a reason for every row
            assert not any("T" in word and word.endswith("Z") for word in row[4].split()), row
        for line in shown.stdout.splitlines():
            assert len(line) <= columns, line
    db.engine.dispose()


def test_tsv_and_json_print_one_row_per_line(demo_db: str, tmp_path: Path) -> None:
    week = "2026-W47"
    tsv = _run(
        demo_db,
        tmp_path,
        80,
        "digest",
        "--team",
        "payments",
        "--week",
        week,
        "--explain",
        "cycle_time",
        "--format",
        "tsv",
    )
    header, *rows = tsv.stdout.splitlines()
    assert header.split("\t") == ["item", "counted", "value", "reason", "times", "detail"]
    assert rows and all(len(r.split("\t")) == 6 for r in rows)
    as_json = _run(
        demo_db,
        tmp_path,
        80,
        "digest",
        "--team",
        "payments",
        "--week",
        week,
        "--explain",
        "cycle_time",
        "--format",
        "json",
    )
    assert len(json.loads(as_json.stdout)) == len(rows)
    digest_json = _run(
        demo_db, tmp_path, 80, "digest", "--team", "payments", "--week", week, "--json"
    )
    assert json.loads(digest_json.stdout)["week"] == week


def _one_line(done: Invoked, *words: str) -> str:
    err = done.stderr.strip()
    assert done.returncode == 2, (done.returncode, err, done.exception)
    assert len(err.splitlines()) == 1, err
    for word in words:
        assert word in err, (word, err)
    return err


def test_json_is_a_plain_flag(demo_db: str, tmp_path: Path) -> None:
    helped = _run(demo_db, tmp_path, 120, "digest", "--help")
    for flag in ("--json", "--post", "--again"):
        [line] = [line for line in helped.stdout.splitlines() if f"{flag} " in line]
        assert "<bool>" not in line and "BOOLEAN" not in line, line
    assert "--explain" in helped.stdout and "METRIC" in helped.stdout


def test_again_without_post_is_refused(demo_db: str, tmp_path: Path) -> None:
    done = invoke_chatbot(
        "digest", "--team", "payments", "--again", cwd=tmp_path, env={"DATABASE_URL": demo_db}
    )
    _one_line(done, "--again only repeats a post: add --post")
    assert done.stdout == ""


def test_context_pack_of_an_unknown_team(demo_db: str, tmp_path: Path) -> None:
    done = invoke_chatbot(
        "context", "pack", "--team", "nope", cwd=tmp_path, env={"DATABASE_URL": demo_db}
    )
    _one_line(done, "No team named 'nope'", "chatbot team list")


def test_jira_check_of_an_unreachable_url(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/j.db",
        "JIRA_URL": f"http://127.0.0.1:{port}",
        "JIRA_PAT": "pat-secret-value",
    }
    done = invoke_chatbot("jira", "check", cwd=tmp_path, env=env)
    line = _one_line(done, f"Jira at http://127.0.0.1:{port} did not answer", "Check JIRA_URL")
    assert "pat-secret-value" not in line


def test_version(tmp_path: Path) -> None:
    from chatbot import __version__

    done = invoke_chatbot("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"chatbot (Throughline) {__version__}"


def test_the_default_database_is_named_when_created(tmp_path: Path) -> None:
    first = invoke_chatbot("team", "list", cwd=tmp_path)  # DATABASE_URL unset
    assert first.returncode == 0, (first.stderr, first.exception)
    assert (tmp_path / "chatbot.db").exists()
    assert first.stderr.strip() == (
        f"Created a new SQLite database at {tmp_path / 'chatbot.db'} because DATABASE_URL is "
        "not set. Set DATABASE_URL (sqlite:///PATH or postgresql+psycopg://…) to use another "
        "one, or run `chatbot demo` to explore a demo team."
    )
    assert "chatbot team add" in first.stdout
    again = invoke_chatbot("team", "list", cwd=tmp_path)
    assert again.returncode == 0 and again.stderr == ""  # said once, when created
    chosen = invoke_chatbot(
        "team", "list", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path}/mine.db"}
    )
    assert chosen.returncode == 0 and chosen.stderr == ""  # the operator's own choice


@pytest.mark.drill
def test_help_imports_no_database_metrics_or_web_code() -> None:
    # Lazy imports keep `chatbot --help` and short commands fast; this pins what they skip.
    heavy = [
        "sqlalchemy",
        "sqlmodel",
        "pydantic_settings",
        "chatbot.metrics.engine",
        "chatbot.server",
        "slack_sdk",
        "jira",
        "rich.progress",
    ]
    script = (
        "import sys\n"
        "from chatbot.cli import app\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_alembic_says_nothing_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.INFO):
        done = invoke_chatbot(
            "team", "list", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
        )
    assert done.returncode == 0
    assert not [r for r in caplog.records if r.name.startswith("alembic")]
    assert logging.getLogger("alembic").level == logging.NOTSET  # restored after the upgrade


def test_the_demo_says_how_to_explore_its_own_database(tmp_path: Path) -> None:
    done = invoke_chatbot(
        "demo",
        "--out",
        str(tmp_path),
        "--db",
        str(tmp_path / "demo.db"),
        "--weeks",
        "9",
        cwd=tmp_path,
        env={"COLUMNS": "80"},
    )
    assert done.returncode == 0, (done.stderr, done.exception)
    next_line = done.stdout[done.stdout.index("Next:") :].replace("\n", " ")
    assert (
        f"DATABASE_URL=sqlite:///{tmp_path / 'demo.db'} chatbot digest --team payments "
        "--explain cycle_time" in next_line
    )


@pytest.mark.drill
def test_help_and_version_in_a_real_process(tmp_path: Path) -> None:
    # One real start of the interpreter: the entry point, not only the command functions.
    done = run_chatbot("--help", cwd=tmp_path, env={"COLUMNS": "100"})
    assert done.returncode == 0, done.stderr
    for command in ("serve", "digest", "team", "deploy", "demo"):
        assert command in done.stdout
    assert run_chatbot("--version", cwd=tmp_path).stdout.startswith("chatbot (Throughline) ")
