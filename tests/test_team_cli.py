"""Team settings as code: `chatbot team add / list / set / doctor` run in-process (typer's
runner), on both databases. Every refusal is one line, exit code 2, and changes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chatbot.clock import SystemClock
from chatbot.db.engine import Database
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService
from tests.cli_helpers import Invoked, invoke_chatbot


@pytest.fixture
def run(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    def _chatbot(*args: str) -> Invoked:
        # COLUMNS: one table row per line, whatever the terminal
        env = {"DATABASE_URL": db_url, "COLUMNS": "250"}
        return invoke_chatbot(*args, cwd=tmp_path, env=env)

    return _chatbot


def _table_rows(output: str) -> list[list[str]]:
    """The cells of each row of a table printed by `rich` (one list of stripped cells per row)."""
    return [
        [cell.strip() for cell in line.strip().strip("│┃").split("│" if "│" in line else "┃")]
        for line in output.splitlines()
        if line.strip().startswith(("│", "┃"))
    ]


def _names(flag: str, text: str) -> bool:
    """`flag` appears in `text` as a whole flag (`--bot`, not the start of `--bots`)."""
    return re.search(re.escape(flag) + r"(?![\w-])", text) is not None


def _stored_team(db: Database, name: str) -> Team:
    team = TeamService(db, SystemClock()).get(name)
    assert team is not None, f"no team {name!r} stored"
    return team


def _refused(done: Invoked, reason: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert reason in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_team_add_list_set(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    added = run(
        "team",
        "add",
        "payments",
        "--channel",
        "C0PAY1",
        "--jira-project",
        "PAY",
        "--tz",
        "Europe/Berlin",
        "--repo",
        "acme/payments",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "Team payments added (channel C0PAY1, tz Europe/Berlin)."
    _refused(run("team", "add", "payments", "--channel", "C0PAY1"), "exists already")
    changed = run("team", "set", "payments", "--wip-limit", "3", "--decision-reaction", "pushpin")
    assert changed.returncode == 0, changed.stderr
    listed = run("team", "list")
    assert listed.returncode == 0, listed.stderr
    header, *rows = _table_rows(listed.stdout)
    assert header == [
        "name",
        "channel",
        "tz",
        "jira",
        "wip limit",
        "digest",
        "check-in",
        "repos",
        "services",
        "production",
        "escape rule",
        "reaction",
    ]
    assert rows == [
        [
            "payments",
            "C0PAY1",
            "Europe/Berlin",
            "PAY",
            "3",
            "mon 09:00",
            "fri 15:00",
            "acme/payments",
            "—",
            "production, prod",
            "label:escaped",
            "pushpin",
        ]
    ]
    team = _stored_team(db, "payments")
    assert team.decision_reaction == "pushpin" and team.wip_limit == 3
    assert team.repos == ["acme/payments"]


def test_team_add_takes_every_setting(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    added = run(
        "team",
        "add",
        "web",
        "--channel",
        "C0WEB1",
        "--repo",
        "Acme/Web",
        "--repo",
        "https://github.com/acme/api.git",
        "--service",
        "web-frontend",
        "--prod-env",
        "prd",
        "--prod-env",
        "live",
        "--member",
        "Ann Lee",
        "--member",
        "Bo Chen",
        "--bot",
        "Renovate",
        "--orchestrator",
        "U0ORCH",
        "--senior",
        "<@U0SEN1>",
        "--leader",
        "U0LEAD",
        "--admin",
        "U0ADM",
        "--digest-day",
        "tue",
        "--digest-time",
        "8:30",
        "--checkin-day",
        "thursday",
        "--checkin-time",
        "16:00",
        "--wip-limit",
        "4",
        "--escape-rule",
        "field:customfield_10010=Production",
        "--status-category",
        "In Review=indeterminate",
        "--status-category",
        "Parked=to do",
        "--baseline-week",
        "2026-W40",
        "--decision-reaction",
        ":pushpin:",
    )
    assert added.returncode == 0, added.stderr
    team = _stored_team(db, "web")
    assert team.repos == ["acme/web", "acme/api"]
    assert team.services == ["web-frontend"] and team.production_envs == ["prd", "live"]
    assert team.members == ["Ann Lee", "Bo Chen"] and team.bots == ["renovate"]
    assert (team.orchestrators, team.senior_engineers, team.leaders, team.admins) == (
        ["U0ORCH"],
        ["U0SEN1"],
        ["U0LEAD"],
        ["U0ADM"],
    )
    assert (team.digest_weekday, team.digest_time) == (1, "08:30")
    assert (team.checkin_weekday, team.checkin_time) == (3, "16:00")
    assert team.wip_limit == 4 and team.baseline_week == "2026-W40"
    assert team.escape_rule == {"field": "customfield_10010", "value": "Production"}
    assert team.status_overrides == {"In Review": "indeterminate", "Parked": "new"}
    assert team.decision_reaction == "pushpin"


def test_team_set_lists_overrides_and_rename(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    assert run("team", "add", "web", "--channel", "C0WEB1").returncode == 0
    changed = run(
        "team",
        "set",
        "web",
        "--repos",
        "acme/a, acme/b",
        "--status-category",
        "In Review=indeterminate",
        "--escape-rule=jql:labels = escaped",
        "--prod-env",
        "production,prd",
    )
    assert changed.returncode == 0, changed.stderr
    assert run("team", "set", "web", "--status-category", "QA=done").returncode == 0
    assert run("team", "set", "web", "--status-category", "in review=").returncode == 0
    renamed = run("team", "set", "web", "--name", "frontend")
    assert renamed.returncode == 0, renamed.stderr
    assert TeamService(db, SystemClock()).get("web") is None
    team = _stored_team(db, "frontend")
    assert team.repos == ["acme/a", "acme/b"] and team.production_envs == ["production", "prd"]
    assert team.status_overrides == {"QA": "done"}
    assert team.escape_rule == {"jql": "labels = escaped"}


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--tz", ""), "--tz cannot be empty; e.g. --tz Europe/Berlin"),
        (("--decision-reaction", ""), "--decision-reaction cannot be empty"),
        (("--name", "x y"), "A team name uses letters"),
        (("--name", "other"), "A team named 'other' exists already"),
        (("--tz",), "--tz needs a value"),
        (("wip", "3"), "Expected --key value, got 'wip'"),
        (("--wip-limit", "3", "--wip-limit", "4"), "--wip-limit is given twice"),
        (("--escape-rule", "escaped"), "The escape rule must be label:NAME"),
    ],
)
def test_team_set_refuses_bad_values(run, db: Database, args: tuple[str, ...], reason: str) -> None:  # type: ignore[no-untyped-def]
    TeamService(db, SystemClock()).add("web", "C0WEB1", tz="Europe/Berlin")
    TeamService(db, SystemClock()).add("other", "C0OTH1")
    before = _stored_team(db, "web").model_dump()
    _refused(run("team", "set", "web", *args), reason)
    assert _stored_team(db, "web").model_dump() == before


def test_unknown_settings_and_help_list_the_valid_keys(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    TeamService(db, SystemClock()).add("web", "C0WEB1")
    unknown = run("team", "set", "web", "--colour", "blue")
    _refused(unknown, "Unknown setting --colour; valid settings: --name, --channel")
    helped = run("team", "set", "--help")
    assert helped.returncode == 0
    for key in ("--wip-limit", "--prod-env", "--escape-rule", "--status-category", "--bot"):
        assert _names(key, unknown.stderr) and _names(key, helped.stdout), key
    # The plural spellings still work (see test_plural_list_flags_are_hidden_aliases) but are
    # no longer offered.
    for plural in ("--repos", "--services", "--production-envs", "--members", "--bots"):
        assert not _names(plural, unknown.stderr) and not _names(plural, helped.stdout), plural
    _refused(run("team", "set", "nobody", "--wip-limit", "2"), "No team named 'nobody'")
    _refused(run("team", "set", "web"), "Nothing to change")
    _refused(run("team", "doctor", "nobody"), "No team named 'nobody'")


def test_team_add_refuses_bad_values(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    _refused(run("team", "add", "web", "--channel", "C0WEB1", "--tz", ""), "--tz cannot be")
    _refused(run("team", "add", "a b", "--channel", "C0WEB1"), "A team name uses letters")
    _refused(
        run("team", "add", "web", "--channel", "C0WEB1", "--escape-rule", "sql:x"),
        "The escape rule must be",
    )
    assert TeamService(db, SystemClock()).all() == []


def test_team_doctor_prints_the_warnings(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    TeamService(db, SystemClock()).add("web", "C0WEB1")
    doctor = run("team", "doctor", "web")
    assert doctor.returncode == 0, doctor.stderr
    lines = doctor.stdout.strip().splitlines()
    assert lines[0] == "Team web: 2 things the digest lacks:"
    assert lines[1].startswith("- No services or repos are set")
    assert lines[2].startswith("- No GitHub repos are set")


def test_list_flags_are_singular_and_repeatable_in_add_and_set(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    added = run("team", "add", "web", "--channel", "C0WEB1", "--repo", "acme/a", "--repo", "acme/b")
    assert added.returncode == 0, added.stderr
    assert _stored_team(db, "web").repos == ["acme/a", "acme/b"]
    changed = run(
        "team",
        "set",
        "web",
        "--repo",
        "acme/c",
        "--repo",
        "acme/d",
        "--service",
        "web-api",
        "--service",
        "web-ui",
        "--prod-env",
        "live",
        "--member",
        "Ann Lee",
        "--member",
        "Bo Chen",
    )
    assert changed.returncode == 0, changed.stderr
    team = _stored_team(db, "web")
    assert team.repos == ["acme/c", "acme/d"] and team.services == ["web-api", "web-ui"]
    assert team.production_envs == ["live"] and team.members == ["Ann Lee", "Bo Chen"]
    # A refusal names the flag as it is documented now.
    _refused(run("team", "set", "web", "--repo", "not a repo"), "--repo takes GitHub")


def test_plural_list_flags_are_hidden_aliases(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    added = run(
        "team",
        "add",
        "web",
        "--channel",
        "C0WEB1",
        "--repos",
        "acme/a,acme/b",
        "--services",
        "web-api",
        "--production-envs",
        "live",
        "--bots",
        "renovate",
    )
    assert added.returncode == 0, added.stderr
    team = _stored_team(db, "web")
    assert team.repos == ["acme/a", "acme/b"] and team.services == ["web-api"]
    assert team.production_envs == ["live"] and team.bots == ["renovate"]
    assert run("team", "set", "web", "--services", "a,b").returncode == 0
    assert _stored_team(db, "web").services == ["a", "b"]
    helped = run("team", "add", "--help")
    assert _names("--repo", helped.stdout) and not _names("--repos", helped.stdout)
    assert not _names("--production-envs", helped.stdout)


def test_an_empty_team_list_says_how_to_add_one(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    listed = run("team", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("No teams yet. Add one with `chatbot team add NAME --channel")
    assert "┃" not in listed.stdout and "│" not in listed.stdout


def test_team_list_formats(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    TeamService(db, SystemClock()).add(
        "web", "C0WEB1", repos=["acme/a", "acme/b"], services=["web-api"]
    )
    tsv = run("team", "list", "--format", "tsv")
    assert tsv.returncode == 0, tsv.stderr
    header, row = tsv.stdout.splitlines()
    assert header.split("\t")[:3] == ["name", "channel", "tz"]
    assert row.split("\t")[7] == "acme/a, acme/b"
    as_json = run("team", "list", "--format", "json")
    [record] = json.loads(as_json.stdout)
    assert record["repos"] == ["acme/a", "acme/b"] and record["wip_limit"] == 2
    assert record["digest_day"] == "monday" and record["escape_rule"] == "label:escaped"


def test_team_set_on_a_read_only_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "teams.db"
    writable = {"DATABASE_URL": f"sqlite:///{path}"}
    added = invoke_chatbot("team", "add", "web", "--channel", "C0WEB1", cwd=tmp_path, env=writable)
    assert added.returncode == 0, added.stderr
    # SQLite's read-only mode refuses writes even to root, who may write a chmod 444 file.
    read_only = {"DATABASE_URL": f"sqlite:///file:{path}?mode=ro&uri=true"}
    done = invoke_chatbot("team", "set", "web", "--wip-limit", "3", cwd=tmp_path, env=read_only)
    _refused(done, "The SQLite database (DATABASE_URL) is read-only")
    assert "Unexpected error" not in done.stderr and "writable" in done.stderr
    assert done.exception is None
