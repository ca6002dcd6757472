"""TeamService and the setting rules `chatbot team` and `/digest setup` share: every value
checked and normalised, a refusal names the setting and changes nothing (both databases)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.teams.escape import describe_escape_rule, is_escaped, parse_escape_rule
from chatbot.teams.service import TeamError, TeamService, check_setting


def test_defaults(db: Database, clock: FrozenClock) -> None:
    team = TeamService(db, clock).add("payments", "C0PAY1")
    stored = TeamService(db, clock).get("payments")
    assert stored is not None and stored.id == team.id
    assert (stored.tz, stored.digest_weekday, stored.digest_time) == ("UTC", 0, "09:00")
    assert (stored.checkin_weekday, stored.checkin_time) == (4, "15:00")
    assert stored.production_envs == ["production", "prod"]
    assert stored.escape_rule == {"label": "escaped"} and stored.status_overrides == {}
    assert stored.members == [] and stored.bots == [] and stored.created_at == clock.now()


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("digest-day", "Wednesday", 2),
        ("digest_weekday", "6", 6),
        ("checkin-day", "fri", 4),
        ("digest-time", "7:05", "07:05"),
        ("checkin_time", "23:59", "23:59"),
        ("wip-limit", "50", 50),
        ("tz", " America/New_York ", "America/New_York"),
        ("channel", "<#C0NEW1|general>", "C0NEW1"),
        ("jira-project", "pay", "PAY"),
        ("jira-jql", "", None),
        ("baseline-week", "2026w07", "2026-W07"),
        ("baseline_week", "", None),
        ("decision-reaction", ":White_Check_Mark:", "white_check_mark"),
        (
            "repos",
            ["Acme/Payments", "acme/payments", "https://github.com/acme/web"],
            ["acme/payments", "acme/web"],
        ),
        ("repo", "", []),
        ("services", "payments-api, billing", ["payments-api", "billing"]),
        ("prod-env", "prd live", ["prd", "live"]),
        ("production_envs", " , ", ["production", "prod"]),
        ("members", "Ann Lee, Bo Chen,Ann Lee", ["Ann Lee", "Bo Chen"]),
        ("bots", ["Dependabot-Preview", "ci-user"], ["dependabot-preview", "ci-user"]),
        ("orchestrators", "<@U0ORCH|ann>, U0TWO", ["U0ORCH", "U0TWO"]),
        ("senior_engineers", ["U0SEN"], ["U0SEN"]),
        ("leaders", "", []),
        ("escape-rule", "label:found-in-prod", {"label": "found-in-prod"}),
        ("escape_rule", {"jql": "labels = x"}, {"jql": "labels = x"}),
        (
            "escape-rule",
            "FIELD: customfield_1 = Prod ",
            {"field": "customfield_1", "value": "Prod"},
        ),
    ],
)
def test_each_setting_is_normalised(
    db: Database, clock: FrozenClock, key: str, value: Any, stored: Any
) -> None:
    service = TeamService(db, clock)
    service.add("payments", "C0PAY1", repos=["acme/old"], leaders=["U0OLD"])
    team = service.update("payments", **{key: value})
    field = {
        "digest-day": "digest_weekday",
        "checkin-day": "checkin_weekday",
        "digest-time": "digest_time",
        "wip-limit": "wip_limit",
        "channel": "channel_id",
        "jira-project": "jira_project",
        "jira-jql": "jira_jql",
        "baseline-week": "baseline_week",
        "decision-reaction": "decision_reaction",
        "repo": "repos",
        "prod-env": "production_envs",
        "escape-rule": "escape_rule",
    }.get(key, key)
    assert getattr(team, field) == stored
    assert getattr(service.get("payments"), field) == stored
    assert check_setting(key, value) == stored  # what /digest setup checks before saving


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("tz", "", "--tz cannot be empty"),
        ("tz", None, "--tz cannot be empty"),
        ("decision_reaction", "", "--decision-reaction cannot be empty"),
        ("decision-reaction", "two words", "must be an emoji name"),
        ("digest_time", "", "--digest-time cannot be empty"),
        ("digest-time", "9am", "--digest-time must be a time like 09:00"),
        ("checkin-time", "24:00", "--checkin-time must be a time"),
        ("digest-day", "funday", "--digest-day must be a day"),
        ("digest-day", "7", "--digest-day must be a day"),
        ("checkin-day", "mo", "--checkin-day must be a day"),
        ("wip-limit", "51", "between 1 and 50"),
        ("wip-limit", "2.5", "whole number"),
        ("channel", "", "--channel cannot be empty"),
        ("channel", "#general", "Slack channel id"),
        ("jira-project", "PAY-1", "Jira project key"),
        ("jira-jql", "x" * 2001, "longer than 2000"),
        ("jira-issue-type", "", "cannot be empty"),
        ("baseline-week", "2026-W60", "ISO week"),
        ("repos", "acme", "GitHub repositories like acme/payments"),
        ("orchestrators", "ann", "Slack user ids like U0123ABCD"),
        ("escape-rule", "", "The escape rule must be"),
        ("escape-rule", "label:two words", "no spaces"),
        ("escape-rule", "field:=x", "field:customfield_10010=Production"),
        ("escape-rule", "jql:", "The escape rule must be"),
        ("status-category", "Review", "In Review=indeterminate"),
        ("status-category", "Review=blocked", "new, indeterminate or done"),
        ("name", "", "A team name uses"),
        ("colour", "blue", "Unknown setting --colour; valid settings: --name,"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(
    db: Database, clock: FrozenClock, key: str, value: Any, reason: str
) -> None:
    service = TeamService(db, clock)
    service.add("payments", "C0PAY1", tz="Europe/Berlin")
    before = service.get("payments")
    assert before is not None
    with pytest.raises(TeamError, match=re.escape(reason)):
        service.update("payments", wip_limit="3", **{key: value})
    with pytest.raises(TeamError, match=re.escape(reason)):
        check_setting(key, value)
    after = service.get("payments")
    assert after is not None and after.model_dump() == before.model_dump()


def test_rename_and_its_refusals(db: Database, clock: FrozenClock) -> None:
    service = TeamService(db, clock)
    service.add("payments", "C0PAY1")
    service.add("web", "C0WEB1")
    renamed = service.update("payments", name="billing", wip_limit="4")
    assert renamed.name == "billing" and service.get("payments") is None
    with pytest.raises(TeamError, match="A team named 'web' exists already"):
        service.update("billing", name="web")
    with pytest.raises(TeamError, match="No team named 'payments'"):
        service.update("payments", wip_limit="2")
    with pytest.raises(TeamError, match="A team named 'web' exists already"):
        service.add("web", "C0WEB2")


def test_status_overrides_add_replace_and_remove(db: Database, clock: FrozenClock) -> None:
    service = TeamService(db, clock)
    service.add("payments", "C0PAY1", status_category=["In Review=in progress", "QA=done"])
    assert service.get("payments").status_overrides == {  # type: ignore[union-attr]
        "In Review": "indeterminate",
        "QA": "done",
    }
    service.update("payments", status_category="Parked=todo")
    service.update("payments", status_category="in review=done")  # same status, any case
    service.update("payments", status_overrides={"QA": ""})  # removes
    assert service.get("payments").status_overrides == {  # type: ignore[union-attr]
        "Parked": "new",
        "in review": "done",
    }


def test_teams_are_listed_by_name_and_found_by_channel(db: Database, clock: FrozenClock) -> None:
    service = TeamService(db, clock)
    service.add("web", "C0WEB1")
    service.add("payments", "C0PAY1")
    service.add("billing", "C0WEB1")  # shares the channel with web, added later
    assert [t.name for t in service.all()] == ["billing", "payments", "web"]
    assert service.by_channel("C0WEB1").name == "web"  # type: ignore[union-attr]
    assert service.by_channel("C0NONE") is None


def test_add_treats_empty_values_as_defaults(db: Database, clock: FrozenClock) -> None:
    team = TeamService(db, clock).add(
        "payments", "C0PAY1", production_envs="", jira_project="", repos=[], tz=None
    )
    assert team.production_envs == ["production", "prod"] and team.tz == "UTC"
    assert team.jira_project is None and team.repos == []
    web = TeamService(db, clock).add(
        "web",
        "C0WEB1",
        tz="",
        jira_project="",
        wip_limit="3",
        status_category=["QA=done", "Parked=", "qa=todo"],
        name="ignored",  # the name is the first argument
    )
    stored = TeamService(db, clock).get("web")
    assert stored is not None and (stored.tz, stored.wip_limit) == ("UTC", 3)
    assert web.status_overrides == stored.status_overrides == {"qa": "new"}


def test_escape_rule_round_trip_and_matching() -> None:
    for text in ("label:escaped", "field:customfield_10010=Production", "jql:labels = x"):
        assert describe_escape_rule(parse_escape_rule(text)) == text
    assert describe_escape_rule({}) == "label:escaped"
    label = {"label": "escaped"}
    assert is_escaped(label, ["Escaped"], {}, False)
    assert not is_escaped(label, ["escaped-not"], {}, True)
    field = {"field": "customfield_1", "value": "Production"}
    assert is_escaped(field, [], {"customfield_1": "production"}, False)
    assert is_escaped(
        field, [], {"customfield_1": [{"value": "QA"}, {"value": "Production"}]}, False
    )
    assert is_escaped(field, [], {"customfield_1": {"name": "Production"}}, False)
    assert not is_escaped(field, [], {"customfield_1": None}, False)
    assert not is_escaped(field, ["Production"], {"customfield_2": "Production"}, False)
    jql = {"jql": "labels = x"}
    assert is_escaped(jql, [], {}, True) and not is_escaped(jql, ["x"], {}, False)
    assert is_escaped(None, ["escaped"], {}, False)
