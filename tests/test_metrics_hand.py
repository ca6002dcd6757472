"""Hand-computed digests, on both databases; each also equals the reference implementation.

Unless a test says otherwise the team is in Europe/Berlin and the week is 2026-W46:
Monday 2026-11-09 00:00 CET = 2026-11-08T23:00Z → 2026-11-15T23:00Z; the digest is
computed on 2026-11-18 (week 47 under way).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.deploys.service import record_deployment
from chatbot.metrics.engine import explain, weekly_digest_for
from chatbot.teams.models import Team
from tests.metrics_reference import MY_METRICS, load, reference_digest

NOW = datetime(2026, 11, 18, 10, tzinfo=UTC)
REPO = "acme/pay"
STATUSES = [
    {"id": "1", "name": "To Do", "category": "new"},
    {"id": "3", "name": "In Progress", "category": "indeterminate"},
    {"id": "5", "name": "Done", "category": "done"},
]


def at(day: int, hour: float = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC) + timedelta(hours=hour)


def history(**team: Any) -> dict[str, Any]:
    settings = {"name": "pay", "tz": "Europe/Berlin", "repos": [REPO], "services": ["pay-api"]}
    settings.update(team)
    return {"team": settings, "statuses": STATUSES}


def pr(number: int, created: datetime, merged: datetime | None = None, **kw: Any) -> dict:
    return {
        "repo": REPO,
        "number": number,
        "created_at": created,
        "merged_at": merged,
        "author_login": kw.pop("author", "ann"),
        "head_branch": f"feature-{number}",
        "head_sha": f"head{number}",
        "merge_commit_sha": f"merge{number}",
        **kw,
    }


def commit(sha: str, authored: datetime, *branches: str) -> dict:
    return {"repo": REPO, "sha": sha, "authored_at": authored, "branches": list(branches)}


def deploy(ext: str, deployed: datetime, *changes: tuple[str, str], **kw: Any) -> dict:
    return {
        "external_id": ext,
        "service": "pay-api",
        "environment": kw.pop("env", "production"),
        "status": kw.pop("status", "success"),
        "deployed_at": deployed,
        "changes": list(changes),
        **kw,
    }


def ships(number: int) -> tuple[str, str]:
    return ("pr", f"{REPO}#{number}")


def review(rid: int, number: int, login: str, state: str, submitted: datetime, **kw: Any) -> dict:
    return {
        "review_id": rid,
        "repo": REPO,
        "number": number,
        "reviewer_login": login,
        "state": state,
        "submitted_at": submitted,
        **kw,
    }


def digest(db: Database, h: dict[str, Any], week: str = "2026-W46", now: datetime = NOW) -> dict:
    """Loads the history, computes the digest, checks it against the reference, returns it."""
    load(db, h)
    got = weekly_digest_for(db, h["team"]["name"], week, now)
    expected = reference_digest(h, week, now)
    for key in ("team", "week", "time_zone", "start", "end"):
        assert got[key] == expected[key]
    for name in MY_METRICS:
        assert got["metrics"][name] == expected["metrics"][name], name
    return got


def test_no_data_is_null_never_zero(db: Database) -> None:
    metrics = digest(db, history())["metrics"]
    cycle = metrics["cycle_time"]
    assert (cycle["median_hours"], cycle["p85_hours"], cycle["n"]) == (None, None, 0)
    assert cycle["source"] == "jira"  # no production deployment on record at all
    assert metrics["review_time"]["median_hours"] is None
    assert metrics["review_rounds"]["median"] is None and metrics["review_rounds"]["mean"] is None
    assert metrics["wip"]["mean"] is None and metrics["wip"]["daily"] == [None] * 7
    assert metrics["defect_escape_rate"]["value"] is None
    assert metrics["defect_escape_rate"]["total"] == 0
    assert metrics["change_failure_rate"]["value"] is None
    # a comparison: no headline, so no trend (docs/ai-signals.md)
    split = metrics.pop("ai_vs_other")
    assert "trend" not in split and split["ai"]["review_time_median_hours"] is None
    assert split["other"]["cycle_n"] == 0 and split["other"]["pr_size_median_lines"] is None
    for figure in metrics.values():
        assert figure["trend"] == [None] * 8 or figure["trend"] == [0.0] * 8
        assert figure["baseline"] in (None, 0.0) and "excluded" in figure and "n" in figure


def test_one_pr_every_field_of_the_json(db: Database) -> None:
    h = history()
    h["prs"] = [pr(1, at(9, 12), at(10, 12))]
    h["commits"] = [commit("c1", at(9, 10), "feature-1")]
    h["deployments"] = [deploy("d1", at(11, 10), ships(1))]
    got = digest(db, h)
    assert got["start"] == "2026-11-08T23:00:00Z" and got["end"] == "2026-11-15T23:00:00Z"
    cycle = got["metrics"]["cycle_time"]
    assert cycle["median_hours"] == cycle["p85_hours"] == 48.0
    assert (cycle["n"], cycle["fallback"], cycle["source"]) == (1, 0, "git+deploy")
    assert cycle["trend"] == [None] * 7 + [48.0] and cycle["previous"] is None
    # No baseline set: the first complete week with data is W46 itself.
    assert cycle["baseline"] == 48.0
    split = got["metrics"].pop("ai_vs_other")
    assert set(split) == {"ai", "other"} and split["other"]["cycle_n"] == 1
    for name, figure in got["metrics"].items():
        assert {"n", "excluded", "previous", "baseline", "trend"} <= set(figure), name
        assert len(figure["trend"]) == 8 and figure["previous"] == figure["trend"][-2]


def test_baseline_is_the_first_complete_week_with_data_stored_once(db: Database) -> None:
    h = history()
    h["prs"] = [pr(1, at(20, 12, month=10), at(21, 12, month=10)), pr(2, at(9, 12), at(10, 12))]
    h["deployments"] = [
        deploy("d0", at(22, 12, month=10), ships(1)),
        deploy("d1", at(11, 12), ships(2)),
    ]
    got = digest(db, h)
    # PR 1 was created in W43 (Mon 19 Oct local): 2 days to its deployment.
    assert got["metrics"]["cycle_time"]["baseline"] == 48.0
    with db.session() as s:
        team = s.query(Team).one()
        assert team.baseline_week_chosen == "2026-W43"
    # Earlier data arriving later does not move a chosen baseline.
    with db.session() as s:
        s.query(Team).one().repos = [REPO, "acme/other"]
    again = weekly_digest_for(db, "pay", "2026-W46", NOW)
    assert again["metrics"]["cycle_time"]["baseline"] == 48.0


def test_set_baseline_week_wins(db: Database) -> None:
    h = history(baseline_week="2026-W45")
    h["prs"] = [pr(1, at(3, 12), at(4, 12))]
    h["deployments"] = [deploy("d0", at(5, 12), ships(1))]
    got = digest(db, h)
    assert got["metrics"]["cycle_time"]["baseline"] == 48.0
    assert got["metrics"]["cycle_time"]["previous"] == 48.0


def test_even_n_median_is_the_mean_of_the_middle_two_and_p85_interpolates(db: Database) -> None:
    h = history()
    spans = [1, 2, 3, 10]
    h["prs"] = [pr(n, at(10) - timedelta(hours=s), at(10)) for n, s in enumerate(spans, 1)]
    h["deployments"] = [deploy("d1", at(10), *(ships(n) for n in range(1, 5)))]
    cycle = digest(db, h)["metrics"]["cycle_time"]
    assert cycle["median_hours"] == 2.5
    assert cycle["p85_hours"] == 6.85  # position 1 + 0.85 × 3 = 3.55: 3 + 0.55 × (10 − 3)
    assert (cycle["n"], cycle["fallback"]) == (4, 4)


def test_squash_merge_and_commits_pushed_before_the_pr_was_opened(db: Database) -> None:
    h = history()
    h["prs"] = [
        pr(1, at(9, 12), at(10, 12), merge_commit_sha="squash1"),
        pr(2, at(10, 0), at(10, 12)),
    ]
    h["commits"] = [
        commit("a1", at(9, 8), "feature-1"),
        commit("a2", at(9, 9), "feature-1"),
        # The squash commit lands on main with a later author time: not the start.
        commit("squash1", at(10, 12), "main"),
        # Pushed (and authored) two days before PR 2 was opened.
        commit("b1", at(8, 20), "feature-2"),
    ]
    h["deployments"] = [deploy("d1", at(11, 8), ("commit", "squash1"), ("commit", "head2"))]
    got = digest(db, h)
    cycle = got["metrics"]["cycle_time"]
    assert (cycle["n"], cycle["fallback"]) == (2, 0)
    assert cycle["median_hours"] == (48 + 60) / 2
    items = {i.ref: i for i in explain(db, "pay", "2026-W46", "cycle_time", now=NOW)}
    assert items[f"{REPO}#1"].times["first_commit"] == "2026-11-09T08:00:00Z"
    assert items[f"{REPO}#2"].times["first_commit"] == "2026-11-08T20:00:00Z"
    assert items[f"{REPO}#1"].detail == "shipped by deployment d1"


def test_no_commit_data_starts_at_pr_creation_and_counts_as_fallback(db: Database) -> None:
    h = history()
    h["prs"] = [pr(1, at(10), at(10, 6))]
    h["deployments"] = [deploy("d1", at(11), ships(1))]
    cycle = digest(db, h)["metrics"]["cycle_time"]
    assert (cycle["median_hours"], cycle["n"], cycle["fallback"]) == (24.0, 1, 1)
    item = explain(db, "pay", "2026-W46", "cycle_time", now=NOW)[0]
    assert item.counted and item.reason == "fallback"


def test_negative_span_from_clock_skew_is_excluded(db: Database) -> None:
    h = history()
    h["prs"] = [pr(1, at(10), at(10, 6)), pr(2, at(10), at(10, 6))]
    h["commits"] = [commit("c1", at(12), "feature-1"), commit("c2", at(10, 1), "feature-2")]
    h["deployments"] = [deploy("d1", at(11), ships(1), ships(2))]
    cycle = digest(db, h)["metrics"]["cycle_time"]
    assert cycle["excluded"] == {"negative_span": 1}
    assert (cycle["n"], cycle["median_hours"]) == (1, 23.0)


def test_a_pr_shipped_by_two_deployments_counts_at_the_first_successful_one(db: Database) -> None:
    h = history()
    h["prs"] = [pr(1, at(10), at(10, 6)), pr(2, at(4), at(5))]
    h["commits"] = [commit("c1", at(10), "feature-1"), commit("c2", at(4), "feature-2")]
    h["deployments"] = [
        deploy("d0", at(6), ships(2)),  # W45: PR 2 belongs there
        deploy("d1", at(10, 12), ships(1)),
        deploy("d2", at(12), ships(1), ships(2)),
    ]
    cycle = digest(db, h)["metrics"]["cycle_time"]
    assert (cycle["n"], cycle["median_hours"]) == (1, 12.0)
    assert cycle["previous"] == 48.0


def test_failed_attempt_then_successful_retry(db: Database) -> None:
    h = history()
    h["prs"] = [pr(1, at(10), at(10, 6))]
    h["commits"] = [commit("c1", at(10, 9), "feature-1")]
    h["deployments"] = [
        deploy("d1", at(10, 10), ships(1), status="failure"),
        deploy("d2", at(10, 11), ships(1)),
    ]
    metrics = digest(db, h)["metrics"]
    assert metrics["cycle_time"]["median_hours"] == 2.0
    cfr = metrics["change_failure_rate"]
    assert (cfr["value"], cfr["failed"], cfr["total"], cfr["n"]) == (0.5, 1, 2, 2)


def test_same_deployment_id_twice_with_a_status_change_is_one_deployment(db: Database) -> None:
    h = history()
    h["prs"] = [pr(1, at(10), at(10, 6))]
    load(db, h)
    clock = FrozenClock(NOW)
    common = {"source": "webhook", "external_id": "d-1", "environment": "production"}
    record_deployment(db, clock, **common, status="in_progress", at=at(10, 10), service="pay-api")
    record_deployment(
        db, clock, **common, status="success", at=at(10, 12), service="pay-api", prs=[f"{REPO}#1"]
    )
    record_deployment(db, clock, **common, status="inactive", at=at(13), service="pay-api")
    got = weekly_digest_for(db, "pay", "2026-W46", NOW)["metrics"]
    assert got["change_failure_rate"]["total"] == 1 and got["change_failure_rate"]["failed"] == 0
    assert got["cycle_time"]["median_hours"] == 12.0  # created 00:00 → success at 12:00


def test_one_deployment_ships_several_prs_by_pr_commit_and_jira_key(db: Database) -> None:
    h = history()
    h["prs"] = [
        pr(1, at(10), at(10, 1)),
        pr(2, at(10), at(10, 2)),
        pr(3, at(10), at(10, 3)),
        pr(4, at(10), at(11, 12)),  # names PAY-3 too, but merged after the deployment
        pr(5, at(10)),  # in another team's repo
    ]
    h["prs"][4]["repo"] = "acme/other"
    h["pr_keys"] = [
        {"repo": REPO, "number": 3, "jira_key": "PAY-3"},
        {"repo": REPO, "number": 4, "jira_key": "PAY-3"},
    ]
    h["deployments"] = [
        deploy(
            "d1", at(11), ships(1), ("commit", "head2"), ("issue", "PAY-3"), ("pr", "acme/other#5")
        )
    ]
    cycle = digest(db, h)["metrics"]["cycle_time"]
    assert (cycle["n"], cycle["median_hours"]) == (3, 24.0)


def test_staging_is_not_production_until_the_team_says_so(db: Database) -> None:
    h = history()
    h["prs"] = [pr(1, at(9), at(9, 6))]
    h["deployments"] = [
        deploy("s1", at(9, 12), ships(1), env="staging"),
        deploy("s2", at(9, 13), env="Staging", status="failure"),
        deploy("p1", at(11), ships(1), env="PROD"),
    ]
    metrics = digest(db, h)["metrics"]
    assert metrics["cycle_time"]["median_hours"] == 48.0
    assert metrics["change_failure_rate"]["total"] == 1
    with db.session() as s:
        s.query(Team).one().production_envs = ["production", "prod", "staging"]
    h["team"]["production_envs"] = ["production", "prod", "staging"]
    again = weekly_digest_for(db, "pay", "2026-W46", NOW)["metrics"]
    assert again == {**again, **{}}  # computed afresh from the stored history
    assert again["cycle_time"]["median_hours"] == 12.0
    assert again["change_failure_rate"]["total"] == 3
    assert again["change_failure_rate"]["failed"] == 1
    assert again["cycle_time"] == reference_digest(h, "2026-W46", NOW)["metrics"]["cycle_time"]


def test_rollback_and_hotfix_restate_the_week_of_the_deployment_they_name(db: Database) -> None:
    h = history()
    h["deployments"] = [
        # The hotfix arrives before the deployment it names.
        deploy("h1", at(11, 14), hotfix_of="d2"),
        deploy("d1", at(10)),
        deploy("d2", at(11)),
        deploy("d3", at(12)),
        # W47: a rollback of d1 restates W46; it is no failure itself.
        deploy("r1", at(17), rollback_of="d1"),
        # A rollback that never finished names nothing.
        deploy("r2", at(17, 1), rollback_of="d3", status="pending"),
    ]
    metrics = digest(db, h, now=at(25))["metrics"]
    cfr = metrics["change_failure_rate"]
    assert (cfr["failed"], cfr["total"], cfr["value"]) == (2, 4, 0.5)
    assert digest_week(db, "2026-W47")["change_failure_rate"]["failed"] == 0
    items = {i.ref: i for i in explain(db, "pay", "2026-W46", "change_failure_rate", now=NOW)}
    assert items["deployment d1"].detail == "rolled back by r1"
    assert items["deployment d2"].detail == "hotfixed by h1"
    assert items["deployment d3"].value == 0.0


def digest_week(db: Database, week: str) -> dict[str, Any]:
    return weekly_digest_for(db, "pay", week, at(25))["metrics"]


def test_review_time_counts_only_a_valid_human_approval(db: Database) -> None:
    h = history(bots=["ci-helper"])
    merged = at(10, 12)
    h["prs"] = [
        pr(1, at(10, 8), merged),  # no review at all
        pr(2, at(10, 8), merged),  # approved only by bots
        pr(3, at(10, 8), merged),  # dismissed approval, then a valid one
        pr(4, at(10, 8), merged),  # approved after the merge
        pr(5, at(9, 8), merged, opened_as_draft=True),  # draft → ready → draft → ready
        pr(6, at(10, 8), merged, author="renovate[bot]"),
        pr(7, at(10, 8), merged, author="Ann"),  # approved by its own author only
    ]
    h["events"] = [
        {"repo": REPO, "number": 5, "kind": "ready_for_review", "at": at(9, 10)},
        {"repo": REPO, "number": 5, "kind": "converted_to_draft", "at": at(9, 12)},
        {"repo": REPO, "number": 5, "kind": "ready_for_review", "at": at(10, 9)},
    ]
    h["reviews"] = [
        review(1, 2, "dependabot[bot]", "approved", at(10, 9)),
        review(2, 2, "ci", "approved", at(10, 9), reviewer_is_bot=True),
        review(3, 2, "CI-Helper", "approved", at(10, 9)),
        review(4, 3, "bob", "approved", at(10, 10), dismissed_at=at(10, 11)),
        review(
            5,
            3,
            "carol",
            "approved",
            at(
                10,
                11,
            )
            + timedelta(minutes=30),
        ),
        review(6, 4, "bob", "approved", at(10, 13)),
        review(7, 5, "bob", "approved", at(10, 10)),
        review(8, 6, "bob", "approved", at(10, 10)),
        review(9, 7, "ann", "approved", at(10, 10)),
    ]
    figure = digest(db, h)["metrics"]["review_time"]
    assert figure["n"] == 2
    assert figure["median_hours"] == (3.5 + 24) / 2
    assert figure["excluded"] == {"no_approval": 4, "bot_author": 1}
    items = {i.ref: i for i in explain(db, "pay", "2026-W46", "review_time", now=NOW)}
    assert items[f"{REPO}#3"].detail == "approved by carol"
    assert items[f"{REPO}#5"].times["ready_for_review"] == "2026-11-09T10:00:00Z"


def test_review_explanations_list_prs_by_repo_and_number_whatever_the_stored_order(
    db: Database,
) -> None:
    h = history(repos=[REPO, "acme/admin"])
    h["prs"] = [
        pr(12, at(10, 8), at(10, 12)),
        pr(3, at(10, 8), at(11, 12)),
        pr(7, at(10, 8), at(12, 12), repo="acme/admin"),
    ]
    digest(db, h)
    for metric in ("review_time", "review_rounds"):
        refs = [i.ref for i in explain(db, "pay", "2026-W46", metric, now=NOW)]
        assert refs == ["acme/admin#7", f"{REPO}#3", f"{REPO}#12"], metric


def test_review_rounds_count_every_human_change_request_before_the_merge(db: Database) -> None:
    h = history()
    merged = at(11)
    h["prs"] = [
        pr(1, at(9), merged),
        pr(2, at(9), merged),
        pr(3, at(9), merged),
        pr(4, at(9), merged),
    ]
    h["reviews"] = [
        review(1, 1, "bob", "changes_requested", at(9, 2)),
        review(2, 1, "carol", "changes_requested", at(9, 3)),
        review(3, 1, "bob", "changes_requested", at(9, 4), dismissed_at=at(9, 5)),
        review(4, 1, "lint[bot]", "changes_requested", at(9, 4)),
        review(5, 1, "ann", "commented", at(9, 6)),
        review(6, 1, "bob", "approved", at(10)),
        review(7, 2, "carol", "commented", at(9, 2)),
        review(8, 4, "carol", "approved", at(10)),
        review(9, 4, "carol", "changes_requested", at(12)),
    ]
    figure = digest(db, h)["metrics"]["review_rounds"]
    assert (figure["n"], figure["median"], figure["mean"]) == (3, 1, 2.0)
    assert figure["excluded"] == {"no_review": 1}


def status(key: str, when: datetime, old: str | None, new: str) -> dict:
    return {"key": key, "field": "status", "at": when, "from_value": old, "to_value": new}


def assignee(key: str, when: datetime, old: str | None, new: str | None) -> dict:
    return {
        "key": key,
        "field": "assignee",
        "at": when,
        "from_id": old and f"acc-{old.lower()}",
        "from_value": old,
        "to_id": new and f"acc-{new.lower()}",
        "to_value": new,
    }


def item(key: str, created: datetime, now_status: str, who: str | None, **kw: Any) -> dict:
    return {
        "key": key,
        "issue_type": kw.pop("issue_type", "Story"),
        "created_at": created,
        "status": now_status,
        "assignee_id": who and f"acc-{who.lower()}",
        "assignee_name": who,
        **kw,
    }


def wip_history(**team: Any) -> dict[str, Any]:
    h = history(wip_limit=1, **team)
    h["work_items"] = [
        item("PAY-1", at(1), "Done", "Ann"),  # in progress across the week's end
        item("PAY-2", at(1), "In Progress", "Dan"),  # Ann's at the end, Dan's since
        item("PAY-3", at(1), "In Progress", None),  # no assignee
        item("PAY-4", at(1), "Done", "Bob"),  # done within the week
        item("PAY-5", at(1), "In Progress", "Bob"),  # reopened in the week
        item("PAY-6", at(16), "In Progress", "Bob"),  # created after the week
        item("PAY-7", at(1), "In Progress", "Carol"),  # never changed
    ]
    h["changes"] = [
        status("PAY-1", at(12), "To Do", "In Progress"),
        assignee("PAY-1", at(2), None, "Ann"),
        status("PAY-1", at(17), "In Progress", "Done"),
        status("PAY-2", at(10), "To Do", "In Progress"),
        assignee("PAY-2", at(10), None, "Ann"),
        assignee("PAY-2", at(16), "Ann", "Dan"),
        status("PAY-3", at(10), "To Do", "In Progress"),
        status("PAY-4", at(10), "To Do", "In Progress"),
        status("PAY-4", at(13), "In Progress", "Done"),
        status("PAY-5", at(5), "To Do", "Done"),
        status("PAY-5", at(14), "Done", "In Progress"),
    ]
    return h


def test_wip_at_the_week_end_and_each_day(db: Database) -> None:
    figure = digest(db, wip_history())["metrics"]["wip"]
    assert figure["by_person"] == {"Ann": 2, "Bob": 1, "Carol": 1}
    assert figure["mean"] == round(4 / 3, 4)
    assert figure["over_limit"] == ["Ann"] and figure["limit"] == 1
    assert figure["excluded"] == {"unassigned": 1} and figure["n"] == 4
    # Day ends (local midnight): Mon Nov 9: Carol only; Tue: + Ann (PAY-2), Bob (PAY-4) ...
    assert figure["daily"][0] == 1.0
    assert figure["daily"][1] == 1.0  # Ann 1, Bob 1, Carol 1
    assert figure["daily"][-1] == figure["mean"]


def test_wip_with_members_counts_members_only(db: Database) -> None:
    figure = digest(db, wip_history(members=["Ann", "acc-bob"]))["metrics"]["wip"]
    assert figure["by_person"] == {"Ann": 2, "Bob": 1}
    assert figure["excluded"] == {"non_member": 1, "unassigned": 1}
    assert figure["mean"] == 1.5


# WIP reads whichever side of the history is shorter: the changes since the weeks asked
# (here when an old item makes the history long) or the items created before their end.
@pytest.mark.parametrize("first_item", [at(1), datetime(2024, 1, 8, tzinfo=UTC)])
def test_wip_changes_at_one_instant_clock_skew_spelling_and_items_changed_since(
    db: Database, first_item: datetime
) -> None:
    h = history()
    h["statuses"] = [*STATUSES, {"id": "7", "name": "En révision", "category": "indeterminate"}]
    h["work_items"] = [
        item("PAY-0", first_item, "Done", "Ann"),
        item("PAY-1", at(1), "In Progress", "Bob"),  # status and assignee set at one instant
        item("PAY-2", at(12), "In Progress", "Carol"),  # a change stamped before its creation
        item("PAY-3", at(1), "IN PROGRESS", "Dan"),  # spelled otherwise than the catalogue
        item("PAY-4", at(1), "In Progress", "Eve"),  # in progress all along, handed over
        item("PAY-5", at(1), "In Progress", "Ann"),  # in progress now, not at the week's end
        item("PAY-6", at(1), "Done", "Ann"),  # in progress only from Wednesday's end
        item("PAY-7", at(12, 23), "In Progress", "Carol"),  # created at Thursday's end
        item("PAY-8", at(1), "EN RÉVISION", "Fay"),  # SQLite's lower() folds ASCII only
        item("PAY-9", at(1), "Done", "Gus"),  # done at the week's end instant, to the second
    ]
    h["changes"] = [
        status("PAY-1", at(11), "To Do", "In Progress"),
        assignee("PAY-1", at(11), "Ann", "Bob"),
        status("PAY-2", at(11), "To Do", "In Progress"),
        assignee("PAY-4", at(11), "Dan", "Eve"),
        status("PAY-5", at(14), "In Progress", "Done"),
        status("PAY-5", at(17), "Done", "In Progress"),
        status("PAY-6", at(11, 23), "To Do", "In Progress"),  # Wednesday's end, to the second
        status("PAY-6", at(12, 2), "In Progress", "Done"),
        status("PAY-9", at(10), "To Do", "In Progress"),
        status("PAY-9", at(15, 23), "In Progress", "Done"),
    ]
    figure = digest(db, h)["metrics"]["wip"]
    assert figure["by_person"] == {"Bob": 1, "Carol": 2, "Dan": 1, "Eve": 1, "Fay": 1, "Gus": 1}
    # Monday's end (23:00 UTC): Dan holds PAY-3 and PAY-4, Ann PAY-5, Fay PAY-8.
    assert figure["daily"][0] == round(4 / 3, 4)
    # Wednesday's end: Bob, Dan, Eve, Ann, Fay, Gus one each (PAY-6 moves at that very
    # instant, so it counts from the next one); Thursday's: Carol's PAY-2 too, and Ann's PAY-6
    # is done. PAY-7, created at Thursday's end, counts from Friday's.
    assert figure["daily"][2:5] == [1.0, 1.0, round(8 / 7, 4)]
    held = {(i.ref, i.detail) for i in explain(db, "pay", "2026-W46", "wip", now=NOW)}
    assert held == {
        ("PAY-1", "In Progress, Bob"),
        ("PAY-2", "In Progress, Carol"),
        ("PAY-3", "IN PROGRESS, Dan"),
        ("PAY-4", "In Progress, Eve"),
        ("PAY-7", "In Progress, Carol"),
        ("PAY-8", "EN RÉVISION, Fay"),
        ("PAY-9", "In Progress, Gus"),
    }


def test_wip_of_items_in_progress_since_long_before_the_trend(db: Database) -> None:
    """Items in progress for a year and more: one never changed, one only handed over in
    the trend (it counts for whoever held it at each week's end), one whose only change is
    old, one done and reopened in the trend; the trend, the baseline and the week agree."""
    long_ago = datetime(2025, 6, 1, tzinfo=UTC)
    h = history()
    h["work_items"] = [
        item("PAY-10", long_ago, "In Progress", "Ann"),
        item("PAY-11", long_ago, "In Progress", "Ann"),
        item("PAY-12", long_ago, "In Progress", "Dan"),
        item("PAY-13", long_ago, "In Progress", "Eve"),
    ]
    h["changes"] = [
        status("PAY-12", datetime(2025, 7, 1, tzinfo=UTC), "To Do", "In Progress"),
        assignee("PAY-11", at(20, month=10), "Bob", "Ann"),
        status("PAY-13", at(10, month=10), "In Progress", "Done"),
        status("PAY-13", at(30, month=10), "Done", "In Progress"),
    ]
    figure = digest(db, h)["metrics"]["wip"]
    assert figure["by_person"] == {"Ann": 2, "Dan": 1, "Eve": 1}
    # Week ends W39..W46: Bob holds PAY-11 until 20 Oct; PAY-13 is done 10-30 Oct.
    third = round(4 / 3, 4)
    assert figure["trend"] == [1.0, 1.0, 1.0, 1.0, 1.5, third, third, third]
    # The baseline (2025-W22, the week of their creation): PAY-12 was still to do.
    assert figure["baseline"] == 1.0
    held = {(i.ref, i.detail) for i in explain(db, "pay", "2026-W43", "wip", now=NOW)}
    assert held == {
        ("PAY-10", "In Progress, Ann"),
        ("PAY-11", "In Progress, Ann"),
        ("PAY-12", "In Progress, Dan"),
    }
    held = {(i.ref, i.detail) for i in explain(db, "pay", "2026-W42", "wip", now=NOW)}
    assert ("PAY-11", "In Progress, Bob") in held


def test_defect_escape_window_edges_reopened_and_deleted_bugs(db: Database) -> None:
    start = datetime(2026, 11, 1, 23, tzinfo=UTC)  # Monday 2 Nov 00:00 CET, 14 days back
    h = history()
    h["work_items"] = [
        item("PAY-1", start, "Done", None, issue_type="Bug", labels=["escaped"]),
        item(
            "PAY-2",
            start - timedelta(seconds=1),
            "Done",
            None,
            issue_type="Bug",
            labels=["escaped"],
        ),
        item("PAY-3", at(15, 22), "Done", None, issue_type="Bug"),
        item("PAY-4", at(10), "In Progress", None, issue_type="Bug", labels=["Escaped"]),
        item("PAY-5", at(10), "Done", None, issue_type="Story", labels=["escaped"]),
        item("PAY-6", at(10), "Done", None, issue_type="Bug", labels=["escaped"], deleted=True),
        item("PAY-7", at(15, 23), "Done", None, issue_type="Bug", labels=["escaped"]),
    ]
    h["changes"] = [
        status("PAY-4", at(11), "To Do", "Done"),
        status("PAY-4", at(12), "Done", "In Progress"),  # reopened: still one bug
    ]
    figure = digest(db, h)["metrics"]["defect_escape_rate"]
    assert (figure["escaped"], figure["total"], figure["window_days"]) == (2, 3, 14)
    assert figure["value"] == 0.6667


@pytest.mark.parametrize(
    "rule",
    [
        {"field": "customfield_1", "value": "Production"},
        {"jql": "labels = prod-bug"},
    ],
)
def test_defect_escape_field_and_jql_rules(db: Database, rule: dict[str, str]) -> None:
    h = history(escape_rule=rule)
    h["work_items"] = [
        item(
            "PAY-1",
            at(10),
            "Done",
            None,
            issue_type="Bug",
            fields={"customfield_1": {"value": "production"}},
            escaped=True,
        ),
        item("PAY-2", at(10), "Done", None, issue_type="Bug", fields={"customfield_1": "Staging"}),
    ]
    figure = digest(db, h)["metrics"]["defect_escape_rate"]
    assert (figure["escaped"], figure["total"], figure["value"]) == (1, 2, 0.5)


def test_cycle_time_from_jira_only_without_any_production_deployment(db: Database) -> None:
    h = history()
    h["work_items"] = [item("PAY-1", at(1), "Done", "Ann"), item("PAY-2", at(1), "Done", "Ann")]
    h["changes"] = [
        status("PAY-1", at(3), "To Do", "In Progress"),
        status("PAY-1", at(5), "In Progress", "Done"),
        status("PAY-1", at(9), "Done", "In Progress"),  # reopened
        status("PAY-1", at(11), "In Progress", "Done"),
        status("PAY-2", at(10), "To Do", "Done"),  # never in progress
    ]
    h["deployments"] = [deploy("s1", at(10), env="staging")]
    cycle = digest(db, h)["metrics"]["cycle_time"]
    assert cycle["source"] == "jira"
    assert (cycle["median_hours"], cycle["n"]) == (192.0, 1)
    assert cycle["excluded"] == {"never_started": 1}


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Pacific/Auckland"])
def test_sunday_2330_and_monday_0030_local_fall_in_different_weeks(db: Database, tz: str) -> None:
    from zoneinfo import ZoneInfo

    local = ZoneInfo(tz)
    sunday = datetime(2026, 11, 15, 23, 30, tzinfo=local).astimezone(UTC)
    monday = datetime(2026, 11, 16, 0, 30, tzinfo=local).astimezone(UTC)
    h = history(tz=tz)
    h["deployments"] = [deploy("d1", sunday), deploy("d2", monday, status="failure")]
    got = digest(db, h, week="2026-W47", now=at(25))
    cfr = got["metrics"]["change_failure_rate"]
    assert cfr["trend"][-2:] == [0.0, 1.0]
    assert (cfr["total"], cfr["failed"]) == (1, 1)


@pytest.mark.parametrize(
    ("tz", "week", "start", "end", "hours_long"),
    [
        ("America/Los_Angeles", "2026-W10", "2026-03-02T08:00:00Z", "2026-03-09T07:00:00Z", 167),
        ("Europe/Berlin", "2026-W43", "2026-10-18T22:00:00Z", "2026-10-25T23:00:00Z", 169),
    ],
)
def test_daylight_saving_weeks(
    db: Database, tz: str, week: str, start: str, end: str, hours_long: int
) -> None:
    last_hour = datetime.fromisoformat(end) - timedelta(minutes=30)
    h = history(tz=tz)
    h["deployments"] = [
        deploy("first", datetime.fromisoformat(start)),
        deploy("last", last_hour, status="failure"),
        deploy("next", datetime.fromisoformat(end)),
    ]
    got = digest(db, h, week=week, now=at(25))
    assert (got["start"], got["end"]) == (start, end)
    span = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    assert span == timedelta(hours=hours_long)
    assert got["metrics"]["change_failure_rate"]["total"] == 2
    assert got["metrics"]["wip"]["daily"] == [None] * 7


def test_explain_lists_every_item_counted_and_left_out(db: Database) -> None:
    h = history()
    h["prs"] = [pr(1, at(10), at(10, 6)), pr(2, at(10), at(10, 6))]
    h["commits"] = [commit("c2", at(12), "feature-2")]
    h["deployments"] = [deploy("d1", at(11), ships(1), ships(2))]
    load(db, h)
    items = explain(db, "pay", "2026-W46", "cycle_time", now=NOW)
    assert [(i.ref, i.counted, i.reason) for i in items] == [
        (f"{REPO}#1", True, "fallback"),
        (f"{REPO}#2", False, "negative_span"),
    ]
    assert items[0].times == {
        "first_commit": None,
        "created": "2026-11-10T00:00:00Z",
        "deployed": "2026-11-11T00:00:00Z",
    }


def test_explain_wip_rounds_and_escapes_show_every_item(db: Database) -> None:
    h = wip_history()
    h["work_items"].append(
        item("PAY-9", at(10), "Done", None, issue_type="Bug", labels=["escaped"])
    )
    h["prs"] = [pr(1, at(9), at(11)), pr(2, at(9), at(11))]
    h["reviews"] = [review(1, 1, "bob", "changes_requested", at(10))]
    load(db, h)
    wip = {(i.ref, i.reason) for i in explain(db, "pay", "2026-W46", "wip", now=NOW)}
    assert wip == {
        ("PAY-1", None),
        ("PAY-2", None),
        ("PAY-3", "unassigned"),
        ("PAY-5", None),
        ("PAY-7", None),
    }
    rounds = explain(db, "pay", "2026-W46", "review_rounds", now=NOW)
    assert [(i.ref, i.value, i.reason) for i in rounds] == [
        (f"{REPO}#1", 2, None),
        (f"{REPO}#2", None, "no_review"),
    ]
    escapes = explain(db, "pay", "2026-W46", "defect_escape_rate", now=NOW)
    assert [(i.ref, i.value) for i in escapes] == [("PAY-9", 1.0)]
