"""The engine equals the reference implementation on generated histories, on both databases.

Each history spreads work items with their status and assignee changes, pull requests with
their events, commits and reviews, and deployments (with rollbacks, hotfixes, retries and
several environments) over the ten weeks before the reported week's end, in one of four
time zones, around daylight-saving changes too. Times are whole minutes, so no figure sits
exactly on a rounding boundary. `METRICS_EXAMPLES=500` runs a longer search.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from chatbot.db.engine import Database
from chatbot.metrics.engine import METRICS, TREND_WEEKS, explain, weekly_digest_for
from chatbot.metrics.goals import headline_value
from chatbot.metrics.week import Week
from tests.conftest import _empty
from tests.metrics_reference import (
    MY_METRICS,
    _co_writers,
    _is_agent,
    _ships,
    _team_settings,
    ai_signals,
    baseline_label,
    load,
    reference_digest,
    shift_label,
    week_bounds,
)

EXAMPLES = int(os.environ.get("METRICS_EXAMPLES", "30"))
ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Pacific/Auckland"]
# W46: an ordinary autumn week; W14 and W12: trends across the spring DST changes.
WEEKS = ["2026-W46", "2026-W14", "2026-W12"]
STATUS_NAMES = ["To Do", "In Progress", "Review", "Done", "Blocked"]
PEOPLE = [("acc-ann", "Ann"), ("acc-bob", "Bob"), ("acc-cy", "Cy"), (None, None)]
LOGINS = ["ann", "bob", "Carol", "dependabot[bot]", "helper"]
# Coding agents: two built in (one also flagged a bot by GitHub), one the team may add.
AGENTS = ["copilot-swe-agent[bot]", "devin-ai-integration[bot]", "robo-dev"]
MESSAGES = [
    "Fix the retry",
    "Add retries\n\nCo-Authored-By: Claude <noreply@anthropic.com>",
    None,  # no event carried it
    "Tidy\n\nCo-authored-by: Ann <12+ann@users.noreply.github.com>",
    "Port\n\nMade-with: Cursor",
    "Scaffold\n\nai-tool: gen",  # only the team's own marker finds this one
    "Agent work\n\nCo-authored-by: Bob <7+bob@users.noreply.github.com>",
]
BODIES = ["", "Retries for the client.", "🤖 Generated with [Claude Code](https://claude.com)"]
LABEL_SETS = [[], [], ["backend"], ["ai-assisted"], ["AI-Generated", "x"], ["claude-code-assisted"]]
SPAN_MINUTES = 10 * 7 * 24 * 60


@st.composite
def histories(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    tz = draw(st.sampled_from(ZONES))
    week = draw(st.sampled_from(WEEKS))
    _, end = week_bounds(week, tz)

    def when() -> datetime:
        # Counted back from the week's end, week by week (Hypothesis favours small numbers,
        # so most events land in the reported week; some reach ten weeks back).
        weeks_back = draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3, 5, 7, 9]))
        minute = draw(st.integers(1, 7 * 24 * 60))
        return end - timedelta(weeks=weeks_back, minutes=minute)

    team: dict[str, Any] = {
        "name": "t",
        "tz": tz,
        "repos": ["acme/a"],
        "services": ["svc"],
        "production_envs": draw(st.sampled_from([["production", "prod"], ["production"]])),
        "bots": draw(st.sampled_from([[], ["helper"]])),
        "members": draw(st.sampled_from([[], ["Ann", "acc-bob"]])),
        "wip_limit": draw(st.integers(1, 3)),
        "escape_rule": draw(
            st.sampled_from([{"label": "escaped"}, {"field": "cf", "value": "Prod"}, {"jql": "x"}])
        ),
        "status_overrides": draw(st.sampled_from([{}, {"review": "indeterminate"}])),
        "ai_agents": draw(st.sampled_from([[], ["robo-dev"]])),
        "ai_markers": draw(st.sampled_from([[], [r"^ai-tool:"]])),
        "ai_labels": draw(st.sampled_from([["ai-assisted", "ai-generated"], ["ai-generated"]])),
    }
    # A team may call a built-in agent a bot: then it is one.
    team["bots"] = team["bots"] + draw(st.sampled_from([[], ["devin-ai-integration[bot]"]]))
    if draw(st.booleans()):
        team["baseline_week"] = draw(st.sampled_from(["2026-W01", "2026-W40", week]))
    h: dict[str, Any] = {
        "team": team,
        "statuses": [
            {"id": "1", "name": "To Do", "category": "new"},
            {"id": "3", "name": "In Progress", "category": "indeterminate"},
            {"id": "4", "name": "Review", "category": "new"},
            {"id": "5", "name": "Done", "category": "done"},
        ],
        "work_items": [],
        "changes": [],
    }
    for n in range(draw(st.integers(0, 8))):
        key = f"T-{n + 1}"
        created = when()
        status = draw(st.sampled_from(STATUS_NAMES))
        person = draw(st.sampled_from(PEOPLE))
        moves = sorted(set(draw(st.lists(st.integers(1, 20000), max_size=5))))
        for offset in moves:
            field = draw(st.sampled_from(["status", "assignee"]))
            at = created + timedelta(minutes=offset)
            # Now and then the changelog misses a transition (the item still moves): the
            # next change's `from` is not the previous `to`, or the current value is not.
            recorded = draw(st.integers(0, 5)) > 0
            if field == "status":
                new = draw(st.sampled_from(STATUS_NAMES))
                if recorded:
                    h["changes"].append(
                        {
                            "key": key,
                            "field": "status",
                            "at": at,
                            "from_value": status,
                            "to_value": new,
                        }
                    )
                status = new
            else:
                new_person = draw(st.sampled_from(PEOPLE))
                if recorded:
                    h["changes"].append(
                        {
                            "key": key,
                            "field": "assignee",
                            "at": at,
                            "from_id": person[0],
                            "from_value": person[1],
                            "to_id": new_person[0],
                            "to_value": new_person[1],
                        }
                    )
                person = new_person
        h["work_items"].append(
            {
                "key": key,
                "issue_type": draw(st.sampled_from(["Bug", "Story"])),
                "created_at": created,
                "status": status,
                "assignee_id": person[0],
                "assignee_name": person[1],
                "labels": draw(st.sampled_from([[], ["escaped"], ["Escaped", "x"]])),
                "fields": draw(st.sampled_from([{}, {"cf": "prod"}, {"cf": [{"value": "Prod"}]}])),
                "escaped": draw(st.booleans()),
                "deleted": draw(st.booleans()) and draw(st.booleans()),
            }
        )
    # Pull requests, their timeline, commits and reviews.
    h["prs"], h["events"], h["commits"], h["reviews"], h["pr_keys"] = [], [], [], [], []
    pr_count = draw(st.integers(0, 8))
    for number in range(1, pr_count + 1):
        created = when()
        merged = (
            created + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
            if draw(st.booleans()) or draw(st.booleans())
            else None
        )
        author = draw(st.sampled_from([*LOGINS, "ann", "bob", *AGENTS]))
        h["prs"].append(
            {
                "repo": draw(st.sampled_from(["acme/a", "acme/a", "acme/b"])),
                "number": number,
                "created_at": created,
                "merged_at": merged,
                "author_login": author,
                "author_is_bot": draw(st.booleans()) and draw(st.booleans()),
                "opened_as_draft": draw(st.booleans()) and draw(st.booleans()),
                "head_branch": draw(st.sampled_from([f"f{number}", f"f{number}", "fix", ""])),
                "head_sha": f"h{number}",
                "merge_commit_sha": f"m{number}" if merged else None,
                "labels": draw(st.sampled_from(LABEL_SETS)),
                "body": draw(st.sampled_from(BODIES)),
                "additions": draw(st.sampled_from([None, 0, 5, 40, 300])),
                "deletions": draw(st.sampled_from([0, 3, 90])),
            }
        )
        for key in draw(st.sets(st.sampled_from(["T-1", "T-2", "T-3"]), max_size=2)):
            h["pr_keys"].append({"repo": h["prs"][-1]["repo"], "number": number, "jira_key": key})
        for kind in draw(
            st.lists(st.sampled_from(["ready_for_review", "converted_to_draft"]), max_size=3)
        ):
            moment = created + timedelta(minutes=draw(st.integers(0, 24 * 60)))
            event = {"repo": h["prs"][-1]["repo"], "number": number, "kind": kind, "at": moment}
            if (event["kind"], event["at"]) not in {
                (e["kind"], e["at"]) for e in h["events"] if e["number"] == number
            }:
                h["events"].append(event)
    branches = [f"f{n}" for n in range(1, pr_count + 1)] + ["fix", "main"]
    for j in range(draw(st.integers(0, 10))):
        on = sorted(draw(st.sets(st.sampled_from(branches), max_size=2)))
        owner = next((p for p in h["prs"] if on and p["head_branch"] == on[0]), None)
        if owner is not None:  # mostly authored around its PR's opening, skew included
            authored = owner["created_at"] - timedelta(minutes=draw(st.integers(-600, 4320)))
        else:
            authored = when()
        h["commits"].append(
            {
                "repo": draw(st.sampled_from(["acme/a", "acme/a", "acme/b"])),
                "sha": f"c{j}",
                "authored_at": authored,
                "branches": on,
                "author_login": draw(st.sampled_from([None, "ann", "bob", "copilot-swe-agent"])),
                "message": draw(st.sampled_from(MESSAGES)),
            }
        )
    # An agent's PR often carries a commit a human co-wrote (whose approval then does not
    # count); the human is the one the approvals below usually come from.
    for p in h["prs"]:
        if p["author_login"] in AGENTS and p["head_branch"] and draw(st.booleans()):
            h["commits"].append(
                {
                    "repo": p["repo"],
                    "sha": f"a{p['number']}",
                    "authored_at": p["created_at"] - timedelta(hours=1),
                    "branches": [p["head_branch"]],
                    "author_login": draw(st.sampled_from(["copilot-swe-agent", "bob"])),
                    # The human co-writer's trailer, or Claude's (an AI co-author).
                    "message": draw(st.sampled_from([MESSAGES[-1], MESSAGES[1]])),
                }
            )
    for rid in range(draw(st.integers(0, 12)) if pr_count else 0):
        target = h["prs"][draw(st.integers(0, pr_count - 1))]
        # Mostly between opening and merge; some after the merge or before the PR was ready.
        settled = target["merged_at"] or target["created_at"] + timedelta(days=1)
        open_minutes = int((settled - target["created_at"]).total_seconds() // 60)
        offset = draw(st.integers(-60, open_minutes + 120))
        submitted = target["created_at"] + timedelta(minutes=offset)
        h["reviews"].append(
            {
                "review_id": rid + 1,
                "repo": target["repo"],
                "number": target["number"],
                "reviewer_login": draw(st.sampled_from([*LOGINS, *LOGINS, *AGENTS])),
                "reviewer_is_bot": draw(st.booleans()) and draw(st.booleans()),
                "state": draw(st.sampled_from(["approved", "changes_requested", "commented"])),
                "submitted_at": submitted,
                "dismissed_at": submitted + timedelta(minutes=draw(st.integers(0, 3000)))
                if draw(st.booleans()) and draw(st.booleans())
                else None,
            }
        )
    # Many merged PRs get a human approval while open, so review time has figures.
    for p in h["prs"]:
        if p["merged_at"] is not None and draw(st.booleans()):
            open_minutes = int((p["merged_at"] - p["created_at"]).total_seconds() // 60)
            h["reviews"].append(
                {
                    "review_id": 1000 + p["number"],
                    "repo": p["repo"],
                    "number": p["number"],
                    "reviewer_login": "bob" if p["author_login"] != "bob" else "ann",
                    "reviewer_is_bot": False,
                    "state": "approved",
                    "submitted_at": p["created_at"]
                    + timedelta(minutes=draw(st.integers(0, open_minutes))),
                    "dismissed_at": None,
                }
            )
    # Deployments: most follow a merge and list its PR (by PR, commit or Jira key); others
    # are retries, failures, staging runs, rollbacks and hotfixes at any time.
    listable = [("pr", f"{p['repo']}#{p['number']}") for p in h["prs"]]
    listable += [("commit", f"m{n}") for n in range(1, pr_count + 1)]
    listable += [("commit", f"h{n}") for n in range(1, pr_count + 1)]
    listable += [("issue", k) for k in ("T-1", "T-2", "T-3")]
    plans: list[tuple[datetime, list[tuple[str, str]]]] = []
    for p in h["prs"]:
        if p["merged_at"] is not None and draw(st.booleans()):
            delay = timedelta(minutes=draw(st.integers(0, 5 * 24 * 60)))
            way = draw(st.sampled_from(["pr", "merge", "head", "issue"]))
            listed = {
                "pr": ("pr", f"{p['repo']}#{p['number']}"),
                "merge": ("commit", f"m{p['number']}"),
                "head": ("commit", f"h{p['number']}"),
                "issue": ("issue", "T-1"),
            }[way]
            plans.append((p["merged_at"] + delay, [listed]))
    for _ in range(draw(st.integers(0, 4))):
        plans.append((when(), sorted(draw(st.sets(st.sampled_from(listable), max_size=3)))))
    ids = [f"d{k}" for k in range(len(plans))]
    h["deployments"] = []
    for ext, (deployed, listed) in zip(ids, plans, strict=True):
        h["deployments"].append(
            {
                "external_id": ext,
                "service": draw(st.sampled_from(["svc", "svc", "other", None])),
                "repo": draw(st.sampled_from([None, None, "acme/a"])),
                "environment": draw(
                    st.sampled_from(["production", "prod", "Production", "staging"])
                ),
                "status": draw(st.sampled_from(["success", "success", "failure", "pending"])),
                "deployed_at": deployed,
                "rollback_of": draw(st.sampled_from([None, None, *ids])),
                "hotfix_of": draw(st.sampled_from([None, None, *ids])),
                "changes": listed,
            }
        )
    return h, week


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=histories())
def test_engine_equals_reference(
    _engines: dict[str, tuple[str, Engine]], which: str, case: tuple[dict[str, Any], str]
) -> None:
    h, week = case
    _, engine = _engines[which]
    _empty(engine)
    db = Database(engine)
    load(db, h)
    now = week_bounds(week, h["team"]["tz"])[1] + timedelta(days=4)
    got = weekly_digest_for(db, "t", week, now)
    expected = reference_digest(h, week, now)
    for key in ("week", "time_zone", "start", "end", "partial"):
        assert got[key] == expected[key]
    for name in MY_METRICS:
        assert got["metrics"][name] == expected["metrics"][name], name
    # WIP's explanation finds its items another way (item by item at the week's end): it
    # lists exactly what the counts hold.
    wip, items = got["metrics"]["wip"], explain(db, "t", week, "wip", now=now)
    assert sum(i.counted for i in items) == wip["n"]
    assert dict(Counter(i.reason for i in items if not i.counted)) == wip["excluded"]


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
@settings(
    # Ten digests per example: a few examples here, more with METRICS_EXAMPLES.
    max_examples=max(EXAMPLES // 6, 4),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=histories())
def test_a_week_reads_the_same_however_it_is_asked_for(
    _engines: dict[str, tuple[str, Engine]], which: str, case: tuple[dict[str, Any], str]
) -> None:
    """Spec 6.2: the digest of week W alone, `previous` in W+1's digest, W's entry in any
    later `trend` and the baseline agree exactly, for every metric."""
    h, week = case
    _, engine = _engines[which]
    _empty(engine)
    db = Database(engine)
    load(db, h)
    tz = h["team"]["tz"]
    now = week_bounds(week, tz)[1] + timedelta(days=4)
    digest = weekly_digest_for(db, "t", week, now, with_warnings=False)
    trend = [w.label for w in Week.parse(week, tz).trend(TREND_WEEKS)]
    baseline = baseline_label(h, now)
    if baseline is not None and week_bounds(baseline, tz)[0] > now:
        baseline = None  # a baseline set in the future has no digest of its own to compare
    alone = {
        label: weekly_digest_for(db, "t", label, now, with_warnings=False)["metrics"]
        for label in {*trend, *([baseline] if baseline else [])}
    }
    for metric in METRICS:
        if metric.headline is None:  # AI vs other: a comparison, no headline and no trend
            continue
        restated = digest["metrics"][metric.name]
        own = {
            label: headline_value(figures[metric.name], metric.headline)
            for label, figures in alone.items()
        }
        assert restated["trend"] == [own[label] for label in trend], metric.name
        assert restated["previous"] == own[trend[-2]], metric.name
        if baseline is not None:
            assert restated["baseline"] == own[baseline], metric.name


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
@settings(
    max_examples=max(EXAMPLES // 2, 5),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=histories())
def test_show_the_work_lists_exactly_what_each_figure_counts(
    _engines: dict[str, tuple[str, Engine]], which: str, case: tuple[dict[str, Any], str]
) -> None:
    """For every metric, the `--explain` list (the "Show the work" modal) counts as many
    items as the figure's sample size, and leaves out as many per reason as `excluded`."""
    h, week = case
    _, engine = _engines[which]
    _empty(engine)
    db = Database(engine)
    load(db, h)
    now = week_bounds(week, h["team"]["tz"])[1] + timedelta(days=4)
    digest = weekly_digest_for(db, "t", week, now, with_warnings=False)
    for metric in METRICS:
        if metric.headline is None:  # AI vs other: two sides, each with its own n
            continue
        figure = digest["metrics"][metric.name]
        items = explain(db, "t", week, metric.name, now=now)
        counted = sum(1 for item in items if item.counted)
        if metric.name == "ai_change_failure":  # both sides' deployments are listed
            assert counted == figure["ai"]["total"] + figure["other"]["total"], metric.name
            continue
        assert counted == figure["n"], metric.name
        left_out = Counter(item.reason for item in items if not item.counted)
        assert dict(left_out) == figure.get("excluded", {}), metric.name


def test_the_generator_reaches_the_interesting_cases() -> None:
    """A guard on the strategy itself: across a sample, every metric has figures."""
    seen = {"cycle": 0, "approval": 0, "wip": 0, "rollback": 0}
    seen |= {"ai": 0, "agent": 0, "co_author": 0, "marker": 0, "label": 0, "unreviewed_ai": 0}
    seen |= {"ai_deploy": 0, "both_sides": 0, "co_writer_approval": 0}

    @settings(max_examples=150, deadline=None, database=None, derandomize=True)
    @given(case=histories())
    def look(case: tuple[dict[str, Any], str]) -> None:
        h, week = case
        ref = reference_digest(h, week, datetime(2027, 1, 1, tzinfo=UTC))["metrics"]
        seen["cycle"] += any(ref["cycle_time"]["trend"])
        seen["approval"] += ref["review_time"]["n"] > 0 or any(ref["review_time"]["trend"])
        seen["wip"] += any(v for v in ref["wip"]["trend"])
        seen["rollback"] += any(d.get("rollback_of") for d in h["deployments"])
        seen["ai"] += any(ref["ai_share"]["trend"])
        for kind in ("agent", "co_author", "marker", "label"):
            seen[kind] += any(kind in ai_signals(h, p) for p in h["prs"])
        seen["unreviewed_ai"] += any(ref["unreviewed_ai"]["trend"])
        ships_ai = [
            any(ai_signals(h, p) and _ships(h, d, p) for p in h["prs"]) for d in h["deployments"]
        ]
        seen["ai_deploy"] += any(ships_ai)
        seen["both_sides"] += any(ships_ai) and not all(ships_ai)
        # An agent's PR whose only approver co-wrote its commits: that approval is dropped.
        seen["co_writer_approval"] += any(
            _is_agent(_team_settings(h), p["author_login"])
            and any(
                r["number"] == p["number"] and r["reviewer_login"] in _co_writers(h, p)
                for r in h["reviews"]
            )
            for p in h["prs"]
        )

    look()
    assert all(seen.values()), {k: v for k, v in seen.items() if not v}


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
@settings(
    max_examples=max(4, EXAMPLES // 6),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=histories())
def test_restated_ai_figures_equal_their_own_weeks_digest(
    _engines: dict[str, tuple[str, Engine]], which: str, case: tuple[dict[str, Any], str]
) -> None:
    """`previous` and every `trend` entry of the AI metrics are what that week's own digest
    says, while the data is unchanged (docs/metrics.md)."""
    h, week = case
    _, engine = _engines[which]
    _empty(engine)
    db = Database(engine)
    load(db, h)
    now = week_bounds(week, h["team"]["tz"])[1] + timedelta(days=4)
    got = weekly_digest_for(db, "t", week, now, with_warnings=False)["metrics"]
    labels = [shift_label(week, -k) for k in range(7, -1, -1)]
    for back in (1, 4):
        own = weekly_digest_for(db, "t", labels[-1 - back], now, with_warnings=False)["metrics"]
        for name, headline in (("ai_share", "value"), ("unreviewed_ai", "count")):
            assert got[name]["trend"][-1 - back] == own[name][headline], (name, back)
        assert (
            got["ai_change_failure"]["trend"][-1 - back] == own["ai_change_failure"]["ai"]["value"]
        )
        if back == 1:
            for name in ("ai_share", "unreviewed_ai", "ai_change_failure"):
                assert got[name]["previous"] == own[name]["trend"][-1], name
        own_review = own["review_time"]
        assert (
            got["review_time"]["pr_size_median_lines_trend"][-1 - back]
            == own_review["pr_size_median_lines"]
        )
