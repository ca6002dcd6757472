"""A second, plain implementation of the digest's metrics (docs/metrics.md), for the tests.

It works over a *history*: plain lists of dicts (the team's settings, Jira statuses, work
items and their changes, pull requests, their events, commits and reviews, deployments and
what they list), written from the definitions' text without reading the engine's code: weeks are
computed here with zoneinfo, statistics by their textbook definitions, every rule by scanning
the whole history in Python. `load` writes the same history into a database so the engine's
answer can be compared with `reference_digest`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange
from chatbot.github.ai_signals import AGENT_LOGINS, CO_AUTHOR_PATTERNS, MARKER_PATTERNS
from chatbot.github.models import (
    BranchCommit,
    GitCommit,
    PullRequest,
    PullRequestEvent,
    PullRequestKey,
    PullRequestReview,
)
from chatbot.jira.models import JiraStatus, WorkItem, WorkItemChange
from chatbot.teams.models import Team

History = dict[str, Any]
MY_METRICS = (
    "cycle_time",
    "review_time",
    "review_rounds",
    "wip",
    "defect_escape_rate",
    "change_failure_rate",
    "ai_share",
    "ai_vs_other",
    "unreviewed_ai",
    "ai_change_failure",
)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


# ----------------------------------------------------------------------------- weeks


def week_bounds(label: str, tz: str) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 local time, as UTC instants."""
    year, number = int(label[:4]), int(label[6:])
    monday = date.fromisocalendar(year, number, 1)
    zone = ZoneInfo(tz)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    return midnight(monday), midnight(monday + timedelta(days=7))


def week_label_of(instant: datetime, tz: str) -> str:
    iso = instant.astimezone(ZoneInfo(tz)).date().isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def shift_label(label: str, weeks: int) -> str:
    monday = date.fromisocalendar(int(label[:4]), int(label[6:]), 1) + timedelta(weeks=weeks)
    iso = monday.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def day_ends(label: str, tz: str) -> list[datetime]:
    monday = date.fromisocalendar(int(label[:4]), int(label[6:]), 1)
    zone = ZoneInfo(tz)
    return [
        datetime.combine(monday + timedelta(days=d), time(0), tzinfo=zone).astimezone(UTC)
        for d in range(1, 8)
    ]


# ----------------------------------------------------------------------------- statistics


def median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    n = len(s)
    if n % 2:
        return s[n // 2]
    return (s[n // 2 - 1] + s[n // 2]) / 2


def p85(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    position = 1 + 0.85 * (len(s) - 1)  # 1-based
    below = int(position)
    frac = position - below
    low = s[below - 1]
    high = s[below] if below < len(s) else low
    return low + (high - low) * frac


def r4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _h(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


# ----------------------------------------------------------------------------- rules


def _team_settings(history: History) -> dict[str, Any]:
    team = dict(history["team"])
    team.setdefault("tz", "UTC")
    team.setdefault("repos", [])
    team.setdefault("services", [])
    team.setdefault("production_envs", ["production", "prod"])
    team.setdefault("bots", [])
    team.setdefault("members", [])
    team.setdefault("wip_limit", 2)
    team.setdefault("escape_rule", {"label": "escaped"})
    team.setdefault("status_overrides", {})
    team.setdefault("ai_agents", [])
    team.setdefault("ai_markers", [])
    team.setdefault("ai_labels", ["ai-assisted", "ai-generated"])
    team.setdefault("goals", {})
    return team


def _category(history: History, status: str | None) -> str | None:
    team = _team_settings(history)
    if status is None:
        return None
    for name, category in team["status_overrides"].items():
        if name.lower() == status.lower():
            return category
    for row in history.get("statuses", []):
        if row["name"].lower() == status.lower():
            return row["category"]
    return None


def _is_agent(team: dict[str, Any], login: str | None) -> bool:
    """A coding-agent account (built-in list or the team's), unless the team calls it a bot."""
    lowered = (login or "").lower()
    if lowered in [b.lower() for b in team["bots"]]:
        return False
    agents = [e.value for e in AGENT_LOGINS] + [a.lower() for a in team["ai_agents"]]
    return lowered in agents


def _is_bot(team: dict[str, Any], login: str, flagged: bool) -> bool:
    lowered = (login or "").lower()
    if lowered in [b.lower() for b in team["bots"]]:
        return True
    if _is_agent(team, login):
        return False
    return flagged or lowered.endswith("[bot]")


def _commits_of(history: History, pr: dict[str, Any]) -> list[dict[str, Any]]:
    """The commits seen on the PR's head branch."""
    return [
        c
        for c in history.get("commits", [])
        if c["repo"] == pr["repo"]
        and pr.get("head_branch")
        and pr["head_branch"] in c.get("branches", [])
    ]


def _trailers(message: str) -> list[str]:
    found = []
    for line in message.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() == "co-authored-by":
            found.append(value.strip())
    return found


def noreply_logins(message: str | None) -> list[str]:
    """Logins named by `Co-authored-by: Name <[id+]login@users.noreply.github.com>`."""
    logins = []
    for value in _trailers(message or ""):
        email = value.lower().rpartition("<")[2].rstrip(">")
        local, at, domain = email.partition("@")
        if at and domain == "users.noreply.github.com":
            login = local.split("+", 1)[1] if "+" in local else local
            if login not in logins:
                logins.append(login)
    return logins


def ai_signals(history: History, pr: dict[str, Any]) -> list[str]:
    """Which kinds of evidence make the PR AI-assisted (docs/ai-signals.md), in a fixed order."""
    team = _team_settings(history)
    if _is_bot(team, pr.get("author_login", ""), pr.get("author_is_bot", False)):
        return []
    messages = [c["message"] for c in _commits_of(history, pr) if c.get("message")]
    flags = re.IGNORECASE | re.MULTILINE
    found = []
    if _is_agent(team, pr.get("author_login")):
        found.append("agent")
    if any(
        re.search(e.value, trailer, flags)
        for m in messages
        for trailer in _trailers(m)
        for e in CO_AUTHOR_PATTERNS
    ):
        found.append("co_author")
    markers = [e.value for e in MARKER_PATTERNS] + list(team["ai_markers"])
    if any(re.search(p, text, flags) for p in markers for text in [*messages, pr.get("body", "")]):
        found.append("marker")
    labels = [x.lower() for x in [*team["ai_labels"], "claude-code-assisted"]]
    if any(label.lower() in labels for label in pr.get("labels", [])):
        found.append("label")
    return found


def _team_deployments(history: History) -> list[dict[str, Any]]:
    team = _team_settings(history)
    return [
        d
        for d in history.get("deployments", [])
        if (d.get("service") in team["services"] or d.get("repo") in team["repos"])
        and d["status"] in ("success", "failure")
        and d.get("deployed_at") is not None
    ]


def _is_production(history: History, deployment: dict[str, Any]) -> bool:
    envs = [e.lower() for e in _team_settings(history)["production_envs"]]
    return deployment["environment"].lower() in envs


def _ships(history: History, deployment: dict[str, Any], pr: dict[str, Any]) -> bool:
    listed = set(map(tuple, deployment.get("changes", [])))
    if ("pr", f"{pr['repo']}#{pr['number']}") in listed:
        return True
    for sha in (pr.get("merge_commit_sha"), pr.get("head_sha")):
        if sha and ("commit", sha) in listed:
            return True
    keys = {
        k["jira_key"]
        for k in history.get("pr_keys", [])
        if k["repo"] == pr["repo"] and k["number"] == pr["number"]
    }
    merged = pr.get("merged_at")
    return bool(
        merged is not None
        and merged <= deployment["deployed_at"]
        and any(("issue", key) in listed for key in keys)
    )


def _changes_of(history: History, key: str, field: str) -> list[dict[str, Any]]:
    rows = [c for c in history.get("changes", []) if c["key"] == key and c["field"] == field]
    return sorted(rows, key=lambda c: c["at"])  # stable: ties keep their recorded order


def _state_at(history: History, item: dict[str, Any], field: str, instant: datetime) -> Any:
    """The `from` of the item's first change at or after `instant`, else its current value:
    on a complete changelog the value last set before `instant`; on one that misses a
    transition, the item still ends in its current state."""
    later = [c for c in _changes_of(history, item["key"], field) if c["at"] >= instant]
    if field == "status":
        return later[0]["from_value"] if later else item.get("status")
    if later:
        return (later[0].get("from_id"), later[0].get("from_value"))
    return (item.get("assignee_id"), item.get("assignee_name"))


# ----------------------------------------------------------------------------- metrics


def _pr_cycle_spans(
    history: History, label: str
) -> list[tuple[dict[str, Any], float | None, str | None]]:
    """Per PR whose first successful production deployment falls in the week: (PR, span in
    hours, reason: None, "fallback" (no commit known), "no_start" or "negative_span")."""
    team = _team_settings(history)
    start_w, end_w = week_bounds(label, team["tz"])
    production = [d for d in _team_deployments(history) if _is_production(history, d)]
    successes = [d for d in production if d["status"] == "success"]
    found: list[tuple[dict[str, Any], float | None, str | None]] = []
    for pr in history.get("prs", []):
        if pr["repo"] not in team["repos"]:
            continue
        shipped = [d for d in successes if _ships(history, d, pr)]
        if not shipped:
            continue
        deployed = min(d["deployed_at"] for d in shipped)
        if not start_w <= deployed < end_w:
            continue
        authored = [
            c["authored_at"] for c in _commits_of(history, pr) if c.get("authored_at") is not None
        ]
        start = min(authored) if authored else pr.get("created_at")
        if start is None:
            found.append((pr, None, "no_start"))
            continue
        span = _h(start, deployed)
        if span < 0:
            found.append((pr, span, "negative_span"))
        else:
            found.append((pr, span, None if authored else "fallback"))
    return found


def cycle_time(history: History, label: str) -> dict[str, Any]:
    team = _team_settings(history)
    start_w, end_w = week_bounds(label, team["tz"])
    production = [d for d in _team_deployments(history) if _is_production(history, d)]
    values: list[float] = []
    excluded: dict[str, int] = {}
    fallback = 0
    if production:
        source = "git+deploy"
        for _pr, span, reason in _pr_cycle_spans(history, label):
            if reason in ("no_start", "negative_span"):
                excluded[reason] = excluded.get(reason, 0) + 1
                continue
            values.append(span)  # type: ignore[arg-type]
            fallback += reason == "fallback"
    else:
        source = "jira"
        for item in history.get("work_items", []):
            if item.get("deleted"):
                continue
            moves = _changes_of(history, item["key"], "status")
            done = [c["at"] for c in moves if _category(history, c["to_value"]) == "done"]
            if not done or not start_w <= max(done) < end_w:
                continue
            started = [
                c["at"] for c in moves if _category(history, c["to_value"]) == "indeterminate"
            ]
            if not started:
                excluded["never_started"] = excluded.get("never_started", 0) + 1
                continue
            span = _h(min(started), max(done))
            if span < 0:
                excluded["negative_span"] = excluded.get("negative_span", 0) + 1
                continue
            values.append(span)
    return {
        "median_hours": r4(median(values)),
        "p85_hours": r4(p85(values)),
        "n": len(values),
        "source": source,
        "fallback": fallback,
        "excluded": excluded,
    }


def _merged_in(history: History, label: str) -> list[dict[str, Any]]:
    team = _team_settings(history)
    start_w, end_w = week_bounds(label, team["tz"])
    return [
        pr
        for pr in history.get("prs", [])
        if pr["repo"] in team["repos"]
        and pr.get("merged_at") is not None
        and start_w <= pr["merged_at"] < end_w
    ]


def _human_reviews(history: History, pr: dict[str, Any]) -> list[dict[str, Any]]:
    team = _team_settings(history)
    return [
        r
        for r in history.get("reviews", [])
        if r["repo"] == pr["repo"]
        and r["number"] == pr["number"]
        and not _is_bot(team, r["reviewer_login"], r.get("reviewer_is_bot", False))
        and not _is_agent(team, r["reviewer_login"])
        and r["reviewer_login"].lower() != pr["author_login"].lower()
        and r.get("submitted_at") is not None
        and r["submitted_at"] <= pr["merged_at"]
    ]


def _co_writers(history: History, pr: dict[str, Any]) -> set[str]:
    """Who authored or co-authored the commits on the PR's branch (lower-case logins)."""
    found: set[str] = set()
    for c in _commits_of(history, pr):
        if c.get("author_login"):
            found.add(c["author_login"].lower())
        found.update(noreply_logins(c.get("message")))
    return found


def _approvals(history: History, pr: dict[str, Any]) -> list[datetime]:
    """Submission times of the approvals that count: by a human other than the author, by
    the merge, not dismissed before it; for an agent's PR, not by its commits' co-writers."""
    team = _team_settings(history)
    co_writers = _co_writers(history, pr) if _is_agent(team, pr["author_login"]) else set()
    return [
        r["submitted_at"]
        for r in _human_reviews(history, pr)
        if r["state"] == "approved"
        and (r.get("dismissed_at") is None or r["dismissed_at"] >= pr["merged_at"])
        and r["reviewer_login"].lower() not in co_writers
    ]


def _size(pr: dict[str, Any]) -> float | None:
    if pr.get("additions") is None or pr.get("deletions") is None:
        return None
    return float(pr["additions"] + pr["deletions"])


def _review_spans(history: History, label: str) -> list[tuple[dict[str, Any], float | None]]:
    """Per PR merged in the week: (PR, hours to its first counted approval) or (PR, None)
    when it is left out; `_review_reasons` says why."""
    return [(pr, span) for pr, span, _ in _review_samples(history, label)]


def _review_samples(
    history: History, label: str
) -> list[tuple[dict[str, Any], float | None, str | None]]:
    team = _team_settings(history)
    found: list[tuple[dict[str, Any], float | None, str | None]] = []
    for pr in _merged_in(history, label):
        if _is_bot(team, pr["author_login"], pr.get("author_is_bot", False)):
            found.append((pr, None, "bot_author"))
            continue
        if pr.get("opened_as_draft"):
            ready = [
                e["at"]
                for e in history.get("events", [])
                if e["repo"] == pr["repo"]
                and e["number"] == pr["number"]
                and e["kind"] == "ready_for_review"
            ]
            start = min(ready) if ready else None
        else:
            start = pr.get("created_at")
        approvals = _approvals(history, pr)
        if start is None:
            found.append((pr, None, "no_ready_for_review"))
        elif not approvals:
            found.append((pr, None, "no_approval"))
        else:
            span = _h(start, min(approvals))
            found.append((pr, None, "negative_span") if span < 0 else (pr, span, None))
    return found


def review_time(history: History, label: str) -> dict[str, Any]:
    team = _team_settings(history)
    excluded: dict[str, int] = {}
    sizes = [
        _size(pr)
        for pr in _merged_in(history, label)
        if _size(pr) is not None
        and not _is_bot(team, pr["author_login"], pr.get("author_is_bot", False))
    ]
    samples = _review_samples(history, label)
    values = [span for _, span, reason in samples if reason is None]
    for _, _, reason in samples:
        if reason:
            excluded[reason] = excluded.get(reason, 0) + 1
    return {
        "median_hours": r4(median(values)),  # type: ignore[arg-type]
        "n": len(values),
        "excluded": excluded,
        "pr_size_median_lines": r4(median(sizes)),  # type: ignore[arg-type]
        "pr_size_n": len(sizes),
    }


def _round_values(history: History, label: str) -> list[tuple[dict[str, Any], int]]:
    """Per non-bot PR merged in the week with a human review: (PR, its rounds)."""
    team = _team_settings(history)
    found = []
    for pr in _merged_in(history, label):
        if _is_bot(team, pr["author_login"], pr.get("author_is_bot", False)):
            continue
        reviews = _human_reviews(history, pr)
        if reviews:
            found.append((pr, 1 + sum(1 for r in reviews if r["state"] == "changes_requested")))
    return found


def review_rounds(history: History, label: str) -> dict[str, Any]:
    team = _team_settings(history)
    values: list[float] = []
    excluded: dict[str, int] = {}
    for pr in _merged_in(history, label):
        if _is_bot(team, pr["author_login"], pr.get("author_is_bot", False)):
            excluded["bot_author"] = excluded.get("bot_author", 0) + 1
            continue
        reviews = _human_reviews(history, pr)
        if not reviews:
            excluded["no_review"] = excluded.get("no_review", 0) + 1
            continue
        values.append(1 + sum(1 for r in reviews if r["state"] == "changes_requested"))
    mean = sum(values) / len(values) if values else None
    return {
        "median": r4(median(values)),
        "mean": r4(mean),
        "n": len(values),
        "excluded": excluded,
    }


def _wip_at(history: History, instant: datetime) -> dict[str, Any]:
    team = _team_settings(history)
    members = team["members"]
    by_person: dict[str, int] = {}
    excluded: dict[str, int] = {}
    for item in history.get("work_items", []):
        if item.get("deleted") or not item["created_at"] < instant:
            continue
        status = _state_at(history, item, "status", instant)
        if _category(history, status) != "indeterminate":
            continue
        account, name = _state_at(history, item, "assignee", instant)
        if account is None and name is None:
            excluded["unassigned"] = excluded.get("unassigned", 0) + 1
        elif members and name not in members and account not in members:
            excluded["non_member"] = excluded.get("non_member", 0) + 1
        else:
            person = name or account
            by_person[person] = by_person.get(person, 0) + 1
    people = len(members) if members else len(by_person)
    total = sum(by_person.values())
    return {
        "mean": total / people if people else None,
        "by_person": by_person,
        "excluded": excluded,
        "n": total,
    }


def wip(history: History, label: str) -> dict[str, Any]:
    team = _team_settings(history)
    ends = day_ends(label, team["tz"])
    at_end = _wip_at(history, ends[-1])
    return {
        "mean": r4(at_end["mean"]),
        "by_person": dict(sorted(at_end["by_person"].items())),
        "over_limit": sorted(p for p, n in at_end["by_person"].items() if n > team["wip_limit"]),
        "limit": team["wip_limit"],
        "daily": [r4(_wip_at(history, t)["mean"]) for t in ends],
        "n": at_end["n"],
        "excluded": dict(sorted(at_end["excluded"].items())),
    }


def _escaped(team: dict[str, Any], item: dict[str, Any]) -> bool:
    rule = team["escape_rule"] or {"label": "escaped"}
    if "jql" in rule:
        return bool(item.get("escaped"))
    if "field" in rule:
        raw = (item.get("fields") or {}).get(rule["field"])
        raws = raw if isinstance(raw, list) else [raw]
        found = []
        for value in raws:
            if isinstance(value, dict):
                value = value.get("value", value.get("name", value.get("key")))
            if value is not None:
                found.append(str(value).casefold())
        return str(rule.get("value", "")).casefold() in found
    return str(rule.get("label", "escaped")).casefold() in [
        str(x).casefold() for x in item.get("labels", [])
    ]


def defect_escape_rate(history: History, label: str) -> dict[str, Any]:
    team = _team_settings(history)
    start, _ = week_bounds(shift_label(label, -1), team["tz"])
    _, end = week_bounds(label, team["tz"])
    bugs = [
        i
        for i in history.get("work_items", [])
        if i.get("issue_type") == "Bug" and not i.get("deleted") and start <= i["created_at"] < end
    ]
    escaped = sum(1 for b in bugs if _escaped(team, b))
    return {
        "value": r4(escaped / len(bugs)) if bugs else None,
        "escaped": escaped,
        "total": len(bugs),
        "n": len(bugs),
        "window_days": 14,
        "excluded": {},
    }


def change_failure_rate(history: History, label: str) -> dict[str, Any]:
    team = _team_settings(history)
    start, end = week_bounds(label, team["tz"])
    everything = history.get("deployments", [])
    in_week = [
        d
        for d in _team_deployments(history)
        if _is_production(history, d) and start <= d["deployed_at"] < end
    ]
    failed = 0
    for d in in_week:
        named = any(
            o.get("source", "webhook") == d.get("source", "webhook")
            and o["status"] in ("success", "failure")
            and d["external_id"] in (o.get("rollback_of"), o.get("hotfix_of"))
            for o in everything
        )
        failed += d["status"] == "failure" or named
    return {
        "value": r4(failed / len(in_week)) if in_week else None,
        "failed": failed,
        "total": len(in_week),
        "n": len(in_week),
        "excluded": {},
    }


def ai_share(history: History, label: str) -> dict[str, Any]:
    team = _team_settings(history)
    merged = _merged_in(history, label)
    humans = [
        p for p in merged if not _is_bot(team, p["author_login"], p.get("author_is_bot", False))
    ]
    signals = {"agent": 0, "co_author": 0, "marker": 0, "label": 0}
    ai = 0
    for pr in humans:
        found = ai_signals(history, pr)
        ai += bool(found)
        for kind in found:
            signals[kind] += 1
    excluded = {"bot_author": len(merged) - len(humans)} if len(merged) > len(humans) else {}
    return {
        "value": r4(ai / len(humans)) if humans else None,
        "ai": ai,
        "total": len(humans),
        "n": len(humans),
        "signals": signals,
        "excluded": excluded,
    }


def ai_vs_other(history: History, label: str) -> dict[str, Any]:
    team = _team_settings(history)
    production = [d for d in _team_deployments(history) if _is_production(history, d)]
    cycles = [
        (pr, span)
        for pr, span, reason in (_pr_cycle_spans(history, label) if production else [])
        if reason in (None, "fallback")
    ]
    result = {}
    for side in ("ai", "other"):

        def mine(pr: dict[str, Any], side: str = side) -> bool:
            return bool(ai_signals(history, pr)) == (side == "ai")

        reviews = [s for pr, s in _review_spans(history, label) if s is not None and mine(pr)]
        rounds = [float(v) for pr, v in _round_values(history, label) if mine(pr)]
        cycle = [s for pr, s in cycles if mine(pr)]
        sizes = [
            _size(pr)
            for pr in _merged_in(history, label)
            if mine(pr)
            and _size(pr) is not None
            and not _is_bot(team, pr["author_login"], pr.get("author_is_bot", False))
        ]
        result[side] = {
            "review_time_median_hours": r4(median(reviews)),  # type: ignore[arg-type]
            "review_n": len(reviews),
            "review_rounds_mean": r4(sum(rounds) / len(rounds)) if rounds else None,
            "rounds_n": len(rounds),
            "cycle_time_median_hours": r4(median(cycle)),  # type: ignore[arg-type]
            "cycle_n": len(cycle),
            "pr_size_median_lines": r4(median(sizes)),  # type: ignore[arg-type]
            "pr_size_n": len(sizes),
        }
    return result


def unreviewed_ai(history: History, label: str) -> dict[str, Any]:
    ai = [pr for pr in _merged_in(history, label) if ai_signals(history, pr)]
    unreviewed = sorted(
        (pr for pr in ai if not _approvals(history, pr)), key=lambda p: (p["repo"], p["number"])
    )
    return {
        "count": len(unreviewed),
        "n": len(ai),
        "prs": [f"{p['repo']}#{p['number']}" for p in unreviewed],
        "excluded": {},
    }


def ai_change_failure(history: History, label: str) -> dict[str, Any]:
    team = _team_settings(history)
    start, end = week_bounds(label, team["tz"])
    everything = history.get("deployments", [])
    tally = {"ai": [0, 0], "other": [0, 0]}
    for d in _team_deployments(history):
        if not (_is_production(history, d) and start <= d["deployed_at"] < end):
            continue
        named = any(
            o.get("source", "webhook") == d.get("source", "webhook")
            and o["status"] in ("success", "failure")
            and d["external_id"] in (o.get("rollback_of"), o.get("hotfix_of"))
            for o in everything
        )
        shipped_ai = any(
            pr["repo"] in team["repos"] and _ships(history, d, pr) and ai_signals(history, pr)
            for pr in history.get("prs", [])
        )
        side = tally["ai" if shipped_ai else "other"]
        side[0] += d["status"] == "failure" or named
        side[1] += 1
    sides = {
        name: {"value": r4(f / t) if t else None, "failed": f, "total": t}
        for name, (f, t) in tally.items()
    }
    return {**sides, "n": sides["ai"]["total"], "excluded": {}}


REFERENCE = {
    "cycle_time": (cycle_time, "median_hours"),
    "review_time": (review_time, "median_hours"),
    "review_rounds": (review_rounds, "median"),
    "wip": (wip, "mean"),
    "defect_escape_rate": (defect_escape_rate, "value"),
    "change_failure_rate": (change_failure_rate, "value"),
    "ai_share": (ai_share, "value"),
    "unreviewed_ai": (unreviewed_ai, "count"),
    "ai_change_failure": (ai_change_failure, None),
}


def baseline_label(history: History, now: datetime) -> str | None:
    team = _team_settings(history)
    if team.get("baseline_week"):
        return team["baseline_week"]
    instants = [i["created_at"] for i in history.get("work_items", [])]
    instants += [
        p["created_at"]
        for p in history.get("prs", [])
        if p["repo"] in team["repos"] and p.get("created_at") is not None
    ]
    instants += [d["deployed_at"] for d in _team_deployments(history)]
    if not instants:
        return None
    label = week_label_of(min(instants), team["tz"])
    return label if week_bounds(label, team["tz"])[1] <= now else None


def reference_digest(history: History, label: str, now: datetime) -> dict[str, Any]:
    """The digest's JSON for the metrics above (warnings and the check-in / intent metrics
    are other modules' business)."""
    team = _team_settings(history)
    trend = [shift_label(label, -k) for k in range(7, -1, -1)]
    baseline = baseline_label(history, now)
    start, end = week_bounds(label, team["tz"])
    metrics = {}
    for name, (compute, headline) in REFERENCE.items():

        def value(week: str, compute: Any = compute, headline: str | None = headline) -> Any:
            figure = compute(history, week)
            # AI change failure's headline is the value of its `ai` side.
            return figure["ai"]["value"] if headline is None else figure[headline]

        figure = compute(history, label)
        values = [value(w) for w in trend]
        if name == "review_time":
            figure["pr_size_median_lines_trend"] = [
                review_time(history, w)["pr_size_median_lines"] for w in trend
            ]
        figure["previous"] = values[-2]
        figure["baseline"] = value(baseline) if baseline else None
        figure["trend"] = values
        figure["trend_n"] = [compute(history, w)["n"] for w in trend]
        metrics[name] = figure
    metrics["ai_vs_other"] = ai_vs_other(history, label)
    return {
        "team": team["name"],
        "week": label,
        "time_zone": team["tz"],
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": end.isoformat().replace("+00:00", "Z"),
        "partial": end > now,
        "metrics": metrics,
    }


# ----------------------------------------------------------------------------- loading


def _insert_all(conn: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` into `model`'s table, one executemany per set of columns given."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(sorted(row)), []).append(row)
    for batch in by_columns.values():
        conn.execute(insert(model.__table__), batch)


def load(db: Database, history: History) -> int:
    """Writes the history into the database; returns the team's id."""
    team = _team_settings(history)
    with db.session() as s:
        row = Team(
            name=team["name"],
            channel_id="C1",
            tz=team["tz"],
            repos=team["repos"],
            services=team["services"],
            production_envs=team["production_envs"],
            bots=team["bots"],
            members=team["members"],
            wip_limit=team["wip_limit"],
            escape_rule=team["escape_rule"],
            status_overrides=team["status_overrides"],
            ai_agents=team["ai_agents"],
            ai_markers=team["ai_markers"],
            ai_labels=team["ai_labels"],
            goals=team["goals"],
            baseline_week=team.get("baseline_week"),
            created_at=LONG_AGO,
        )
        s.add(row)
        s.flush()
        team_id = row.id
        for status in history.get("statuses", []):
            s.add(
                JiraStatus(
                    status_id=status["id"],
                    name=status["name"],
                    category=status["category"],
                    updated_at=LONG_AGO,
                )
            )
    assert team_id is not None
    # Each table's rows go in one executemany (row by row, loading was a good part of every
    # example's time); ids come back in the rows' order where later rows refer to them.
    with db.engine.begin() as conn:
        items = [
            {
                "team_id": team_id,
                "jira_id": str(n + 1),
                "key": item["key"],
                "project_key": item["key"].split("-")[0],
                "issue_type": item.get("issue_type", "Story"),
                "summary": "",
                "status": item.get("status") or "",
                "assignee_id": item.get("assignee_id"),
                "assignee_name": item.get("assignee_name"),
                "labels": item.get("labels", []),
                "fields": item.get("fields", {}),
                "escaped": item.get("escaped", False),
                "deleted": item.get("deleted", False),
                "created_at": item["created_at"],
                "updated_at": item.get("updated_at", item["created_at"]),
                "synced_at": item["created_at"],
            }
            for n, item in enumerate(history.get("work_items", []))
        ]
        ids: dict[str, int] = {}
        if items:
            work_items = WorkItem.__table__  # type: ignore[attr-defined]
            made = conn.execute(
                insert(work_items).returning(work_items.c.id, sort_by_parameter_order=True), items
            )
            ids = {item["key"]: row_id for item, (row_id,) in zip(items, made, strict=True)}
        _insert_all(
            conn,
            WorkItemChange,
            [
                {
                    "team_id": team_id,
                    "work_item_id": ids[change["key"]],
                    "history_id": str(n + 1),
                    "field": change["field"],
                    "from_id": change.get("from_id"),
                    "from_value": change.get("from_value"),
                    "to_id": change.get("to_id"),
                    "to_value": change.get("to_value"),
                    "at": change["at"],
                }
                for n, change in enumerate(history.get("changes", []))
            ],
        )
        _insert_all(
            conn,
            PullRequest,
            [
                {
                    "repo": pr["repo"],
                    "number": pr["number"],
                    "title": pr.get("title", ""),
                    "body": pr.get("body", ""),
                    "labels": pr.get("labels", []),
                    "additions": pr.get("additions"),
                    "deletions": pr.get("deletions"),
                    "head_branch": pr.get("head_branch", ""),
                    "base_branch": "main",
                    "head_sha": pr.get("head_sha"),
                    "merge_commit_sha": pr.get("merge_commit_sha"),
                    "author_login": pr.get("author_login", ""),
                    "author_is_bot": pr.get("author_is_bot", False),
                    "opened_as_draft": pr.get("opened_as_draft", False),
                    "draft": False,
                    "state": "merged" if pr.get("merged_at") else "open",
                    "created_at": pr.get("created_at"),
                    "merged_at": pr.get("merged_at"),
                }
                for pr in history.get("prs", [])
            ],
        )
        _insert_all(conn, PullRequestKey, history.get("pr_keys", []))
        _insert_all(conn, PullRequestEvent, history.get("events", []))
        commits = history.get("commits", [])
        _insert_all(
            conn,
            GitCommit,
            [
                {
                    "repo": commit["repo"],
                    "sha": commit["sha"],
                    "authored_at": commit.get("authored_at"),
                    "author_login": commit.get("author_login"),
                    "message": commit.get("message"),
                    # As ingest stores it: the no-reply logins, space-delimited.
                    "coauthors": (
                        f" {' '.join(noreply_logins(commit['message']))} "
                        if noreply_logins(commit.get("message"))
                        else ("" if commit.get("message") is not None else None)
                    ),
                }
                for commit in commits
            ],
        )
        _insert_all(
            conn,
            BranchCommit,
            [
                {"repo": commit["repo"], "branch": branch, "sha": commit["sha"]}
                for commit in commits
                for branch in commit.get("branches", [])
            ],
        )
        _insert_all(
            conn,
            PullRequestReview,
            [
                {
                    "review_id": review["review_id"],
                    "repo": review["repo"],
                    "number": review["number"],
                    "reviewer_login": review["reviewer_login"],
                    "reviewer_is_bot": review.get("reviewer_is_bot", False),
                    "state": review["state"],
                    "submitted_at": review.get("submitted_at"),
                    "dismissed_at": review.get("dismissed_at"),
                }
                for review in history.get("reviews", [])
            ],
        )
        deployments = history.get("deployments", [])
        # One at a time: a deployment may name an earlier one (rollback_of, hotfix_of) by the
        # id the database gives it, in the order they are listed.
        dep_ids = [
            conn.execute(
                insert(Deployment.__table__).values(  # type: ignore[attr-defined]
                    source=d.get("source", "webhook"),
                    external_id=d["external_id"],
                    service=d.get("service"),
                    repo=d.get("repo"),
                    environment=d["environment"],
                    status=d["status"],
                    deployed_at=d.get("deployed_at"),
                    rollback_of=d.get("rollback_of"),
                    hotfix_of=d.get("hotfix_of"),
                    first_seen_at=d.get("deployed_at") or LONG_AGO,
                    updated_at=d.get("deployed_at") or LONG_AGO,
                )
            ).inserted_primary_key[0]
            for d in deployments
        ]
        _insert_all(
            conn,
            DeploymentChange,
            [
                {"deployment_id": dep_id, "kind": kind, "value": value}
                for d, dep_id in zip(deployments, dep_ids, strict=True)
                for kind, value in dict.fromkeys(map(tuple, d.get("changes", [])))
            ],
        )
    return team_id
