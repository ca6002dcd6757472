"""Jira history sync: the real `jira` client, through the gateway, against the local fake
Jira in both flavours, storing into both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from chatbot.clock import FrozenClock
from chatbot.db.core_models import SyncState
from chatbot.db.engine import Database
from chatbot.jira.errors import JiraUnavailable
from chatbot.jira.gateway import JiraGateway, gateway_from_settings
from chatbot.jira.history import JiraHistoryError, JiraHistorySync, jql_time, team_jql
from chatbot.jira.models import JiraStatus, WorkItem, WorkItemChange
from chatbot.jira.store import SyncCursor
from chatbot.settings import Settings
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService
from tests.fakes.jira_api import FakeJira, FakeJiraServer
from tests.jira_fixtures import (  # noqa: F401  (fixtures)
    fake_jira_fixture,
    flavour_fixture,
    jira_server_fixture,
    jira_settings,
)

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
ALICE = ("acc-alice", "Alice")
BOB = ("acc-bob", "Bob")


def _gateway(server: FakeJiraServer, flavour: str, sleeps: list[float]) -> JiraGateway:
    settings = Settings(_env_file=None, **jira_settings(server.url, flavour))  # type: ignore[call-arg]
    gateway = gateway_from_settings(settings)
    gateway._sleep = sleeps.append
    return gateway


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def sync(
    db: Database,
    clock: FrozenClock,
    jira_server: FakeJiraServer,
    fake_jira: FakeJira,
    flavour: str,
    sleeps: list[float],
) -> JiraHistorySync:
    return JiraHistorySync(db, clock, _gateway(jira_server, flavour, sleeps))


def _team(db: Database, clock: FrozenClock, **fields: object) -> Team:
    fields.setdefault("jira_project", "PAY")
    rule = fields.pop("escape_rule", None)
    team = TeamService(db, clock).add("payments", "C0PAY1", **fields)
    if rule is not None:
        with db.session() as s:
            stored = s.get(Team, team.id)
            assert stored is not None
            stored.escape_rule = rule  # type: ignore[assignment]
            s.add(stored)
        team.escape_rule = rule  # type: ignore[assignment]
    return team


def _items(db: Database) -> dict[str, WorkItem]:
    with db.session() as s:
        return {w.key: w for w in s.exec(select(WorkItem)).all()}


def _changes(db: Database, key: str | None = None) -> list[WorkItemChange]:
    with db.session() as s:
        query = select(WorkItemChange).order_by(col(WorkItemChange.at), col(WorkItemChange.id))
        if key is not None:
            item = s.exec(select(WorkItem).where(WorkItem.key == key)).one()
            query = query.where(WorkItemChange.work_item_id == item.id)
        return list(s.exec(query).all())


def _story(fake: FakeJira, key: str, start: datetime, steps: int = 2, **kw: object) -> None:
    """An issue created at `start` that moves To Do → In Progress → … once a minute."""
    fake.add_issue(key, f"Work {key}", created=start, **kw)  # type: ignore[arg-type]
    names = ["In Progress", "In Review", "Done"]
    for n in range(steps):
        fake.transition(key, names[n % len(names)], at=start + timedelta(minutes=n + 1))


def test_sync_stores_items_transitions_and_statuses(
    db: Database, clock: FrozenClock, fake_jira: FakeJira, sync: JiraHistorySync, flavour: str
) -> None:
    team = _team(db, clock)
    _story(fake_jira, "PAY-1", T0, steps=3, issue_type="Bug", labels=["api"])
    fake_jira.assign("PAY-1", ALICE, at=T0 + timedelta(minutes=10))
    fake_jira.assign("PAY-1", BOB, at=T0 + timedelta(minutes=11))
    _story(fake_jira, "PAY-2", T0 + timedelta(hours=1), steps=1)
    fake_jira.add_issue("OPS-1", created=T0)  # another project: not the team's

    result = sync.sync_team(team)
    assert (result.issues, result.changes) == (2, 6)
    items = _items(db)
    assert set(items) == {"PAY-1", "PAY-2"}
    one = items["PAY-1"]
    assert (one.issue_type, one.status, one.labels, one.project_key) == (
        "Bug",
        "Done",
        ["api"],
        "PAY",
    )
    assert (one.assignee_id, one.assignee_name) == (
        ("acc-bob" if flavour == "cloud" else "acc-bob"),
        "Bob",
    )
    assert one.created_at == T0 and one.updated_at == T0 + timedelta(minutes=11)
    status = [
        (c.from_value, c.to_value, c.to_id) for c in _changes(db, "PAY-1") if c.field == "status"
    ]
    assert status == [
        ("To Do", "In Progress", "3"),
        ("In Progress", "In Review", "10001"),
        ("In Review", "Done", "10002"),
    ]
    assignee = [
        (c.from_id, c.to_id, c.to_value) for c in _changes(db, "PAY-1") if c.field == "assignee"
    ]
    assert assignee == [(None, "acc-alice", "Alice"), ("acc-alice", "acc-bob", "Bob")]
    with db.session() as s:
        categories = {r.name: r.category for r in s.exec(select(JiraStatus)).all()}
    assert categories["In Review"] == "indeterminate" and categories["Done"] == "done"
    searches = fake_jira.of("POST", "search")
    path = "/rest/api/3/search/jql" if flavour == "cloud" else "/rest/api/2/search"
    assert {r.path for r in searches} == {path}
    assert searches[0].body["expand"] in ("changelog", ["changelog"])
    assert "ORDER BY updated ASC" in searches[0].body["jql"]
    with db.session() as s:
        state = s.get(SyncState, f"jira:{team.id}")
    assert state is not None and state.watermark == T0 + timedelta(hours=1, minutes=1)


def test_nothing_changed_is_one_request_and_changes_are_picked_up(
    db: Database, clock: FrozenClock, fake_jira: FakeJira, sync: JiraHistorySync
) -> None:
    team = _team(db, clock)
    for n in range(1, 6):
        _story(fake_jira, f"PAY-{n}", T0 + timedelta(hours=n))
    sync.sync_team(team)
    before = len(fake_jira.requests)
    again = sync.sync_team(team)
    assert len(fake_jira.requests) - before == 1 and again.requests == 1
    assert again.changes == 0
    jql = fake_jira.requests[-1].body["jql"]
    # from the watermark (PAY-5's last change, 13:02) minus the five-minute overlap
    assert 'updated >= "2026/10/01 12:57"' in jql

    fake_jira.transition("PAY-2", "Done", at=T0 + timedelta(days=1))
    third = sync.sync_team(team)
    assert third.changes == 1 and third.requests == 1
    assert len(_changes(db)) == 11
    assert _items(db)["PAY-2"].status == "Done"


def test_a_long_changelog_is_read_in_full(
    db: Database, clock: FrozenClock, fake_jira: FakeJira, sync: JiraHistorySync, flavour: str
) -> None:
    team = _team(db, clock)
    _story(fake_jira, "PAY-1", T0, steps=250)
    _story(fake_jira, "PAY-2", T0, steps=3)
    result = sync.sync_team(team)
    assert result.changes == 253
    assert len(_changes(db, "PAY-1")) == 250
    if flavour == "cloud":  # the newest 100 came embedded, the rest in one bulk fetch
        bulk = fake_jira.of("POST", "changelog/bulkfetch")
        assert len(bulk) == 1
        assert bulk[0].body["fieldIds"] == ["status", "assignee"]
        assert bulk[0].body["issueIdsOrKeys"] == [fake_jira.issues["PAY-1"].id]
    else:  # Data Center embeds the whole changelog
        assert not fake_jira.of("GET", "/changelog")


def test_changelog_pages_when_bulk_fetch_is_missing(
    db: Database, clock: FrozenClock, fake_jira: FakeJira, sync: JiraHistorySync, flavour: str
) -> None:
    team = _team(db, clock)
    fake_jira.embed_limit = 100  # a Data Center that embeds only part, as Cloud does
    fake_jira.fail_next(404, path_contains="bulkfetch")
    _story(fake_jira, "PAY-1", T0, steps=250)
    result = sync.sync_team(team)
    assert result.changes == 250
    pages = fake_jira.of("GET", "/changelog$")
    # 150 older entries than the embedded 100: two pages from the start, and no more
    assert sorted(int(r.query["startAt"]) for r in pages) == [0, 100]
    ats = [c.at for c in _changes(db, "PAY-1")]
    assert ats == sorted(ats) and len(set(ats)) == 250


def test_interrupted_sync_resumes_without_gaps_or_duplicates(
    db: Database, clock: FrozenClock, fake_jira: FakeJira, sync: JiraHistorySync
) -> None:
    team = _team(db, clock)
    for n in range(1, 251):
        _story(fake_jira, f"PAY-{n}", T0 + timedelta(minutes=10 * n))
    sync.gateway.read_attempts = 2
    # the third search page fails for good (a 503, and again on the retry)
    fake_jira.fail_next(503, times=2, path_contains="search", skip=2)
    with pytest.raises(JiraUnavailable):
        sync.sync_team(team)
    stored = _items(db)
    assert 150 <= len(stored) < 250
    with db.session() as s:
        state = s.get(SyncState, f"jira:{team.id}")
    assert state is not None and state.watermark == max(w.updated_at for w in stored.values())

    before = len(fake_jira.requests)
    resumed = sync.sync_team(team)
    assert len(_items(db)) == 250
    assert len(_changes(db)) == 500  # two transitions each, none twice
    first = next(r for r in fake_jira.requests[before:] if "search" in r.path)
    # from the watermark minus the overlap, not from the start
    expected = jql_time(state.watermark - timedelta(minutes=5), "UTC")
    assert f'updated >= "{expected}"' in first.body["jql"]
    assert resumed.issues < 250


def test_rate_limit_and_server_errors_back_off_as_asked(
    db: Database,
    clock: FrozenClock,
    fake_jira: FakeJira,
    sync: JiraHistorySync,
    sleeps: list[float],
) -> None:
    team = _team(db, clock)
    _story(fake_jira, "PAY-1", T0)
    fake_jira.fail_next(429, retry_after=7, path_contains="search")
    fake_jira.fail_next(502, times=2, path_contains="search")
    result = sync.sync_team(team)
    assert result.issues == 1
    assert sleeps == [7.0, 2.0, 4.0]  # Retry-After as given, then 2**try seconds


def test_full_sync_marks_deleted_and_a_moved_issue_keeps_its_row(
    db: Database, clock: FrozenClock, fake_jira: FakeJira, sync: JiraHistorySync
) -> None:
    team = _team(db, clock, jira_jql="project in (PAY, OPS)")
    for n in range(1, 4):
        _story(fake_jira, f"PAY-{n}", T0 + timedelta(hours=n))
    sync.sync_team(team)
    moved_id = fake_jira.issues["PAY-2"].id
    fake_jira.move("PAY-2", "OPS-9", at=T0 + timedelta(days=1))
    fake_jira.delete("PAY-3")
    clock.advance(minutes=10)
    sync.sync_team(team)
    items = _items(db)
    assert "PAY-2" not in items and items["OPS-9"].jira_id == moved_id
    assert len(_changes(db, "OPS-9")) == 2  # its history stayed with it
    assert not items["PAY-3"].deleted  # an incremental sync cannot see a deletion

    clock.advance(minutes=10)
    result = sync.sync_team(team, full=True)
    assert result.deleted == 1
    items = _items(db)
    assert items["PAY-3"].deleted and not items["PAY-1"].deleted and not items["OPS-9"].deleted


def test_jql_escape_rule_is_evaluated_at_sync_time(
    db: Database, clock: FrozenClock, fake_jira: FakeJira, sync: JiraHistorySync
) -> None:
    team = _team(db, clock, escape_rule={"jql": "labels = prod-bug OR labels = hotfix"})
    _story(fake_jira, "PAY-1", T0, issue_type="Bug", labels=["prod-bug"])
    _story(fake_jira, "PAY-2", T0, issue_type="Bug")
    _story(fake_jira, "PAY-3", T0, issue_type="Story", labels=["hotfix"])
    sync.sync_team(team)
    items = _items(db)
    assert [k for k, w in sorted(items.items()) if w.escaped] == ["PAY-1"]
    escape_search = fake_jira.of("POST", "search")[-1].body["jql"]
    assert "issuetype = Bug" in escape_search and "labels = prod-bug" in escape_search

    before = len(fake_jira.requests)
    sync.sync_team(team)  # nothing changed: no escape search either
    assert len(fake_jira.requests) - before == 1

    fake_jira.touch("PAY-2", at=T0 + timedelta(days=2), labels=["hotfix"])
    fake_jira.touch("PAY-1", at=T0 + timedelta(days=2), labels=[])
    sync.sync_team(team)
    items = _items(db)
    assert [k for k, w in sorted(items.items()) if w.escaped] == ["PAY-2"]


def test_field_escape_rule_stores_the_field(
    db: Database, clock: FrozenClock, fake_jira: FakeJira, sync: JiraHistorySync
) -> None:
    team = _team(db, clock, escape_rule={"field": "customfield_10050", "value": "Production"})
    fake_jira.add_issue(
        "PAY-1", issue_type="Bug", created=T0, extra={"customfield_10050": {"value": "Production"}}
    )
    sync.sync_team(team)
    assert _items(db)["PAY-1"].fields == {"customfield_10050": {"value": "Production"}}
    assert "customfield_10050" in fake_jira.of("POST", "search")[0].body["fields"]


def test_jql_dates_are_in_the_accounts_zone(
    db: Database, clock: FrozenClock, fake_jira: FakeJira, sync: JiraHistorySync
) -> None:
    fake_jira.user_tz = "America/New_York"
    team = _team(db, clock)
    _story(fake_jira, "PAY-1", T0)
    sync.sync_team(team)
    fake_jira.user_tz = "UTC"  # the zone is remembered, not asked every run
    sync.sync_team(team)
    # watermark 08:02 UTC, minus 5 minutes, is 03:57 in New York (EDT)
    assert 'updated >= "2026/10/01 03:57"' in fake_jira.requests[-1].body["jql"]
    assert len(fake_jira.of("GET", "myself$")) == 1


def test_the_teams_jql_loses_its_order_by() -> None:
    team = Team(
        name="t", channel_id="C1", jira_jql="project = PAY order by rank ASC", created_at=T0
    )
    assert team_jql(team) == "project = PAY"
    assert team_jql(Team(name="t", channel_id="C1", jira_project="OPS", created_at=T0)) == (
        "project = OPS"
    )
    with pytest.raises(JiraHistoryError, match="jira_project"):
        team_jql(Team(name="t", channel_id="C1", created_at=T0))


def test_jql_time_goes_back_an_hour_when_the_local_minute_is_ambiguous() -> None:
    # 2026-11-01 05:30 UTC is 01:30 EDT, a minute New York lives twice that night
    at = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert jql_time(at, "America/New_York") == "2026/11/01 00:30"
    assert jql_time(at, "UTC") == "2026/11/01 05:30"
    assert jql_time(at, "Not/AZone") == "2026/11/01 05:30"


def test_many_issues_in_one_minute_page_by_token(
    db: Database, clock: FrozenClock, fake_jira: FakeJira, sync: JiraHistorySync
) -> None:
    team = _team(db, clock)
    sync.page_size = 10
    for n in range(1, 26):  # a bulk edit: 25 issues updated in the same minute
        fake_jira.add_issue(f"PAY-{n}", created=T0)
    for n in range(26, 31):
        fake_jira.add_issue(f"PAY-{n}", created=T0 + timedelta(minutes=n))
    result = sync.sync_team(team)
    assert len(_items(db)) == 30
    assert result.requests <= 1 + 4 + 1  # the zone, 3 pages in the minute, then the rest


@pytest.mark.parametrize(
    "stored",
    [
        {},
        {"tz": "Europe/Paris"},
        {"tz": "UTC", "escape_pending": True, "escape_from": None},
        {"tz": "UTC", "escape_pending": True, "escape_from": "2026-10-01T08:00:00+00:00"},
        {
            "full_started": "2026-10-01T08:00:00+00:00",
            "escape_pending": True,
            "escape_from": None,
        },
    ],
)
def test_the_cursor_reads_and_writes_the_json_earlier_runs_stored(
    stored: dict[str, object],
) -> None:
    """Rows saved before the cursor was a dataclass hold these shapes; they must read back."""
    cursor = SyncCursor.from_json(stored)
    assert cursor.to_json() == stored
    if "escape_from" in stored and stored["escape_from"]:
        assert cursor.escape_from == T0


KNOWN = ["In Progress", "In Review", "Done"]  # statuses in the catalogue: no /status read


@pytest.mark.parametrize("bulk_fetch", [True, False], ids=["bulk", "pages"])
def test_the_overlap_does_not_fetch_stored_changelogs_again(
    db: Database,
    clock: FrozenClock,
    fake_jira: FakeJira,
    sync: JiraHistorySync,
    bulk_fetch: bool,
) -> None:
    team = _team(db, clock)
    fake_jira.embed_limit = 100  # both flavours embed the newest 100 entries only
    if not bulk_fetch:
        fake_jira.fail_next(404, times=1000, path_contains="bulkfetch")
    _story(fake_jira, "PAY-1", T0, steps=250)
    first = sync.sync_team(team)
    assert first.changes == 250

    before = len(fake_jira.requests)
    again = sync.sync_team(team)  # PAY-1 is in the overlap, unchanged
    assert [r.path for r in fake_jira.requests[before:]] == [
        f"/rest/api/{fake_jira.api}/search" + ("/jql" if fake_jira.api == "3" else "")
    ]
    assert (again.requests, again.changes) == (1, 0)

    # A few new entries all come embedded: still one request, and every change stored.
    for n in range(3):
        fake_jira.transition("PAY-1", KNOWN[n % 3], at=T0 + timedelta(days=1, minutes=n))
    third = sync.sync_team(team)
    assert (third.requests, third.changes) == (1, 3)

    # More new entries than Jira embeds: the older ones must be fetched, and are.
    for n in range(120):
        fake_jira.transition("PAY-1", KNOWN[n % 3], at=T0 + timedelta(days=2, minutes=n))
    fourth = sync.sync_team(team)
    assert fourth.changes == 120 and fourth.requests > 1
    assert len(_changes(db, "PAY-1")) == 373


def test_a_full_sync_reads_every_changelog_again(
    db: Database, clock: FrozenClock, fake_jira: FakeJira, sync: JiraHistorySync
) -> None:
    team = _team(db, clock)
    fake_jira.embed_limit = 100
    _story(fake_jira, "PAY-1", T0, steps=250)
    sync.sync_team(team)
    with db.session() as s:  # a change lost (say, by a webhook-only window): full repairs it
        s.delete(s.exec(select(WorkItemChange).order_by(col(WorkItemChange.at))).first())
    assert sync.sync_team(team).changes == 0
    assert sync.sync_team(team, full=True).changes == 1
