"""A realistic demo team: months of Jira work, GitHub pull requests, deployments and Friday
check-ins, generated from a seeded random walk so weeks differ the way a real team's do
(a crunch week with slow reviews and a failed deployment, a calm one after it).

Rows are inserted through the models, in bulk, into a database of its own; nothing here
touches Slack, Jira or GitHub.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chatbot.db.engine import Database
from chatbot.demo.ai import add_ai_adoption
from chatbot.deploys.models import Deployment, DeploymentChange
from chatbot.github.models import (
    BranchCommit,
    GitCommit,
    PullRequest,
    PullRequestEvent,
    PullRequestKey,
    PullRequestReview,
    RepoDelivery,
)
from chatbot.intent.models import AcceptanceCheck, Intent, IntentRevision
from chatbot.jira.models import JiraStatus, WorkItem, WorkItemChange
from chatbot.metrics.checkins import CheckIn
from chatbot.metrics.week import Week
from chatbot.teams.models import Team

TEAM = "payments"
TZ = "Europe/Berlin"
REPOS = ("acme/payments-api", "acme/payments-web")
SERVICES = {"acme/payments-api": "payments-api", "acme/payments-web": "payments-web"}
# Jira display name, account id, GitHub login
PEOPLE = (
    ("Ann Lee", "acc-ann", "annlee"),
    ("Bo Chen", "acc-bo", "bochen"),
    ("Carla Diaz", "acc-carla", "carlad"),
    ("Dev Patel", "acc-dev", "devp"),
    ("Eli Novak", "acc-eli", "elinovak"),
    ("Fatou Sow", "acc-fatou", "fsow"),
)
SENIORS = ("U0DEMOANN", "U0DEMOBO", "U0DEMOCARLA", "U0DEMODEV")
STATUSES = {  # name: (id, category)
    "To Do": ("10000", "new"),
    "In Progress": ("3", "indeterminate"),
    "In Review": ("10001", "indeterminate"),
    "Done": ("10002", "done"),
}


@dataclass
class DemoRows:
    """Counts of what was generated, for the demo's summary line."""

    weeks: int = 0
    work_items: int = 0
    pull_requests: int = 0
    deployments: int = 0
    check_ins: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def _workday(at: datetime) -> datetime:
    """Push weekend instants to Monday morning, as work mostly happens on weekdays."""
    while at.weekday() >= 5:
        at = (at + timedelta(days=1)).replace(hour=8, minute=at.minute)
    return at


# A history whose last complete week shows everything the demo is for (the AI-assisted work
# split with n ≥ 5 a side, the paired signal with n ≥ 5), whatever day it is run.
DEMO_SEED = 1


def build_demo(db: Database, now: datetime, weeks: int = 14, seed: int = DEMO_SEED) -> DemoRows:
    """Fill `db` (migrated, empty) with the demo team and `weeks` weeks of history up to
    `now`; returns what it made."""
    rng = random.Random(seed)
    last = Week.last_complete(now, TZ)
    first = last.shift(-(weeks - 1))
    team = Team(
        name=TEAM,
        channel_id="C0DEMO001",
        jira_project="PAY",
        tz=TZ,
        wip_limit=2,
        orchestrators=["U0DEMOANN"],
        senior_engineers=list(SENIORS),
        leaders=["U0DEMOLEAD"],
        admins=["U0DEMOANN"],
        repos=list(REPOS),
        services=list(SERVICES.values()),
        members=[p[0] for p in PEOPLE],
        # The first weeks of generated history are a ramp-up; compare against a settled one.
        baseline_week=first.shift(3).label,
        created_at=first.start,
    )
    with db.session() as s:
        s.add(team)
        s.flush()
        team_id = team.id or 0
        s.add_all(
            JiraStatus(status_id=sid, name=name, category=cat, updated_at=first.start)
            for name, (sid, cat) in STATUSES.items()
        )
    rows = DemoRows(weeks=weeks)
    # A random walk of "pressure": above 1 the team is stretched (slower reviews, more
    # failures), below 1 it is calm. Week 6 from the end is a crunch, then it recovers.
    pressure = []
    level = 1.0
    for k in range(weeks + 1):
        level = min(1.8, max(0.6, level + rng.uniform(-0.18, 0.18)))
        if k == weeks - 6:
            level = 1.6
        pressure.append(level)

    items: list[dict[str, Any]] = []
    prs: list[dict[str, Any]] = []
    pr_numbers = {repo: 100 for repo in REPOS}
    key_number = 100
    for k in range(weeks + 1):
        week = first.shift(k)
        if week.start >= now:
            break
        p = pressure[k]
        for _ in range(rng.randint(9, 14)):
            key_number += 1
            created = _workday(week.start + timedelta(hours=rng.uniform(8, 24 * 5)))
            person = rng.choice(PEOPLE)
            start = _workday(created + timedelta(hours=rng.uniform(2, 60)))
            item = {
                "key": f"PAY-{key_number}",
                "type": "Story",
                "created": created,
                "person": person,
                "start": start,
                "labels": [],
                "pressure": p,
            }
            items.append(item)
            repo = rng.choice(REPOS)
            pr_numbers[repo] += 1
            first_commit = start + timedelta(hours=rng.uniform(0.5, 5))
            opened = first_commit + timedelta(hours=rng.uniform(2, 30) * p)
            draft = rng.random() < 0.2
            ready = opened + timedelta(hours=rng.uniform(1, 8)) if draft else opened
            review_wait = rng.lognormvariate(1.3, 0.6) * p
            rounds = 1 if rng.random() > 0.25 * p else rng.choice((2, 2, 3))
            approved = ready + timedelta(hours=review_wait * rounds)
            merged = approved + timedelta(hours=rng.uniform(0.2, 5))
            done = merged + timedelta(hours=rng.uniform(1, 30))
            reviewer = rng.choice([q for q in PEOPLE if q != person])
            pr = {
                "repo": repo,
                "number": pr_numbers[repo],
                "key": item["key"],
                "person": person,
                "reviewer": reviewer,
                "first_commit": first_commit,
                "commits": rng.randint(1, 6),
                "opened": opened,
                "draft": draft,
                "ready": ready,
                "rounds": rounds,
                "approved": approved,
                "merged": merged,
                # One PR in ten arrives without commit data (a squash from a fork).
                "no_commits": rng.random() < 0.1,
            }
            item["review"] = ready
            item["done"] = done
            if created >= now:  # drawn all the same, so the rest does not depend on `now`
                items.pop()
                continue
            prs.append(pr)
        for bug in range(rng.randint(1, 3)):
            key_number += 1
            created = _workday(week.start + timedelta(hours=rng.uniform(8, 24 * 5)))
            person = rng.choice(PEOPLE)
            # Two weeks before the reported one, a bug escaped to production for sure: the
            # escape rule has something to match in the last 28 days, as on a real team.
            escaped = rng.random() < 0.12 * p or (k == weeks - 3 and bug == 0)
            start = created + timedelta(hours=rng.uniform(1, 30))
            done = start + timedelta(hours=rng.uniform(2, 40))
            if created >= now:
                continue
            items.append(
                {
                    "key": f"PAY-{key_number}",
                    "type": "Bug",
                    "created": created,
                    "person": person,
                    "start": start,
                    "review": None,
                    "done": done,
                    "labels": ["escaped"] if escaped else [],
                }
            )

    carried = _work_in_flight(random.Random(seed + 1), first, weeks, now)
    rows.work_items = _insert_jira(db, team_id, items + carried, now)
    # Each part draws from its own stream: how much of the running week is already past `now`
    # changes how many draws a part makes, and must not change the weeks before it.
    rows.pull_requests = _insert_github(db, random.Random(seed + 2), prs, now)
    rows.deployments = _insert_deployments(db, random.Random(seed + 3), prs, first, now, pressure)
    rows.check_ins = _insert_checkins(db, random.Random(seed + 4), team_id, first, now, pressure)
    rows.extra["intents"] = _insert_intents(db, random.Random(seed + 5), team_id, items, now)
    rows.extra["ai_assisted"] = add_ai_adoption(db, TEAM, first, last, seed)
    return rows


def _work_in_flight(
    rng: random.Random, first: Week, weeks: int, now: datetime
) -> list[dict[str, Any]]:
    """Longer items (one to three weeks in progress), a few started every week from three
    weeks before the history begins: a real team's first synced weeks already have work in
    flight, so the baseline's WIP is not an empty board's. Drawn from their own random
    sequence so the rest of the demo stays as it was."""
    carried = []
    for k in range(-3, weeks + 1):
        week = first.shift(k)
        if week.start >= now:
            break
        for n in range(rng.randint(2, 4)):
            start = _workday(week.start + timedelta(hours=rng.uniform(8, 24 * 5)))
            carried.append(
                {
                    "key": f"PAY-{1000 + 10 * (k + 3) + n}",
                    "type": "Story",
                    "created": start - timedelta(hours=rng.uniform(4, 72)),
                    "person": rng.choice(PEOPLE),
                    "start": start,
                    "review": None,
                    "done": start + timedelta(days=rng.uniform(7, 21)),
                    "labels": [],
                }
            )
    return [item for item in carried if item["created"] < now]


def _insert_jira(db: Database, team_id: int, items: list[dict[str, Any]], now: datetime) -> int:
    with db.session() as s:
        records = []
        for item in items:
            status = "To Do"
            for name, at in (("In Progress", item["start"]), ("In Review", item.get("review"))):
                if at is not None and at < now:
                    status = name
            if item["done"] < now:
                status = "Done"
            records.append(
                WorkItem(
                    team_id=team_id,
                    jira_id=item["key"].split("-")[1],
                    key=item["key"],
                    project_key="PAY",
                    issue_type=item["type"],
                    summary=f"{item['type']} {item['key']}",
                    status=status,
                    status_id=STATUSES[status][0],
                    assignee_id=item["person"][1],
                    assignee_name=item["person"][0],
                    labels=item["labels"],
                    created_at=item["created"],
                    updated_at=min(now, item["done"]),
                    synced_at=now,
                )
            )
        s.add_all(records)
        s.flush()
        changes = []
        for record, item in zip(records, items, strict=True):
            history = 0
            previous = "To Do"
            steps = [("In Progress", item["start"]), ("In Review", item.get("review"))]
            steps.append(("Done", item["done"]))
            assignee_at = item["start"] - timedelta(minutes=5)
            if assignee_at < now:
                history += 1
                changes.append(
                    _change(
                        record,
                        history,
                        "assignee",
                        assignee_at,
                        to_id=item["person"][1],
                        to_value=item["person"][0],
                    )
                )
            for name, at in steps:
                if at is None:  # a bug goes from in progress straight to done
                    continue
                if at >= now:
                    break
                history += 1
                changes.append(
                    _change(
                        record,
                        history,
                        "status",
                        at,
                        from_id=STATUSES[previous][0],
                        from_value=previous,
                        to_id=STATUSES[name][0],
                        to_value=name,
                    )
                )
                previous = name
        s.add_all(changes)
    return len(items)


def _change(
    record: WorkItem, history: int, field: str, at: datetime, **values: str
) -> WorkItemChange:
    """The item's `history`-th changelog entry (Jira numbers them per issue)."""
    return WorkItemChange(
        team_id=record.team_id,
        work_item_id=record.id or 0,
        history_id=str(history),
        field=field,
        at=at,
        **values,
    )


def _insert_github(
    db: Database, rng: random.Random, prs: list[dict[str, Any]], now: datetime
) -> int:
    review_ids = _Ids()
    objects: list[Any] = []
    count = 0
    for pr in prs:
        if pr["opened"] >= now:
            continue
        count += 1
        merged = pr["merged"] if pr["merged"] < now else None
        branch = f"{pr['key'].lower()}-change"
        head = _sha(rng)
        objects.append(
            PullRequest(
                repo=pr["repo"],
                number=pr["number"],
                title=f"{pr['key']}: {rng.choice(('Refund', 'Payout', 'Invoice', 'Ledger'))} "
                f"{rng.choice(('fix', 'retry', 'limits', 'export', 'audit'))}",
                head_branch=branch,
                base_branch="main",
                head_sha=head,
                merge_commit_sha=_sha(rng) if merged else None,
                author_login=pr["person"][2],
                opened_as_draft=pr["draft"],
                draft=False,
                state="merged" if merged else "open",
                created_at=pr["opened"],
                merged_at=merged,
                closed_at=merged,
                updated_at=merged or pr["opened"],
            )
        )
        objects.append(PullRequestKey(repo=pr["repo"], number=pr["number"], jira_key=pr["key"]))
        objects.append(
            PullRequestEvent(repo=pr["repo"], number=pr["number"], kind="opened", at=pr["opened"])
        )
        if pr["draft"] and pr["ready"] < now:
            objects.append(
                PullRequestEvent(
                    repo=pr["repo"], number=pr["number"], kind="ready_for_review", at=pr["ready"]
                )
            )
        if not pr["no_commits"]:
            for c in range(pr["commits"]):
                sha = head if c == pr["commits"] - 1 else _sha(rng)
                authored = pr["first_commit"] + timedelta(hours=c * rng.uniform(0.5, 3))
                objects.append(
                    GitCommit(
                        repo=pr["repo"],
                        sha=sha,
                        authored_at=min(authored, pr["opened"]),
                        author_login=pr["person"][2],
                    )
                )
                objects.append(BranchCommit(repo=pr["repo"], branch=branch, sha=sha))
        step = (pr["approved"] - pr["ready"]) / pr["rounds"]
        for r in range(pr["rounds"]):
            at = pr["ready"] + step * (r + 1)
            if at >= now:
                break
            objects.append(
                PullRequestReview(
                    review_id=review_ids.next(),
                    repo=pr["repo"],
                    number=pr["number"],
                    reviewer_login=pr["reviewer"][2],
                    state="approved" if r == pr["rounds"] - 1 else "changes_requested",
                    submitted_at=at,
                )
            )
        if merged:
            objects.append(
                PullRequestEvent(repo=pr["repo"], number=pr["number"], kind="merged", at=merged)
            )
    for repo in REPOS:
        objects.append(
            RepoDelivery(
                repo=repo, last_delivery_at=now - timedelta(hours=3), last_event="pull_request"
            )
        )
    with db.session() as s:
        s.add_all(objects)
    return count


def _insert_deployments(
    db: Database,
    rng: random.Random,
    prs: list[dict[str, Any]],
    first: Week,
    now: datetime,
    pressure: list[float],
) -> int:
    """Production deployments on most weekday afternoons, per service, each listing the PRs
    merged since the service's last deployment; some fail, one is rolled back, one gets a
    hotfix."""
    deployments: list[tuple[Deployment, list[str]]] = []
    day = first.start
    pending = {
        repo: sorted(
            (p for p in prs if p["merged"] < now and p["repo"] == repo), key=lambda p: p["merged"]
        )
        for repo in REPOS
    }
    number = 0
    rolled_back = hotfixed = False
    while day < now:
        k = min(len(pressure) - 1, max(0, (day - first.start).days // 7))
        if day.weekday() < 5:
            for repo in REPOS:
                at = day.replace(hour=13) + timedelta(minutes=rng.randint(0, 240))
                if at >= now or rng.random() < 0.25:
                    continue
                shipped = [p for p in pending[repo] if p["merged"] <= at]
                if not shipped:
                    continue
                pending[repo] = [p for p in pending[repo] if p["merged"] > at]
                number += 1
                failed = rng.random() < 0.06 * pressure[k]
                dep = _deployment(
                    f"d-{number}", repo, "production", "failure" if failed else "success", at
                )
                deployments.append((dep, [f"{repo}#{p['number']}" for p in shipped]))
                if not failed and pressure[k] > 1.3 and not rolled_back:
                    rolled_back = True
                    number += 1
                    back = at + timedelta(hours=2)
                    rollback = _deployment(f"d-{number}", repo, "production", "success", back)
                    rollback.rollback_of = dep.external_id
                    deployments.append((rollback, []))
                elif failed and not hotfixed:
                    hotfixed = True
                    number += 1
                    fix = at + timedelta(hours=3)
                    hotfix = _deployment(f"d-{number}", repo, "production", "success", fix)
                    hotfix.hotfix_of = dep.external_id
                    deployments.append((hotfix, []))
                # Staging gets the same change first; it is not production, so it never counts.
                stage = at - timedelta(hours=1)
                deployments.append(
                    (_deployment(f"s-{number}", repo, "staging", "success", stage), [])
                )
        day += timedelta(days=1)
    with db.session() as s:
        s.add_all(d for d, _ in deployments)
        s.flush()
        s.add_all(
            DeploymentChange(deployment_id=d.id or 0, kind="pr", value=value)
            for d, values in deployments
            for value in values
        )
    return sum(1 for d, _ in deployments if d.environment == "production")


def _deployment(
    external_id: str, repo: str, environment: str, status: str, at: datetime
) -> Deployment:
    """A deployment of the repo's service as its webhook would have stored it, seen when made."""
    return Deployment(
        source="webhook",
        external_id=external_id,
        service=SERVICES[repo],
        environment=environment,
        status=status,
        deployed_at=at,
        first_seen_at=at,
        updated_at=at,
    )


def _insert_checkins(
    db: Database,
    rng: random.Random,
    team_id: int,
    first: Week,
    now: datetime,
    pressure: list[float],
) -> int:
    rows = []
    for k, p in enumerate(pressure):
        week = first.shift(k)
        friday = week.start + timedelta(days=4, hours=14)
        if friday >= now:
            break
        answering = SENIORS if rng.random() > 0.15 else SENIORS[:2]
        for user in answering:
            orchestration = min(0.9, max(0.1, round(rng.gauss(0.55 / p, 0.08), 1)))
            interrupts = min(0.9, max(0.0, round(rng.gauss(0.2 * p, 0.07), 1)))
            at = friday + timedelta(minutes=rng.randint(1, 300))
            rows.append(
                CheckIn(
                    team_id=team_id,
                    user_id=user,
                    week=week.label,
                    orchestration_share=orchestration,
                    interrupt_share=interrupts,
                    answered_at=at.astimezone(UTC),
                    updated_at=at.astimezone(UTC),
                )
            )
    with db.session() as s:
        s.add_all(rows)
    return len(rows)


def _insert_intents(
    db: Database, rng: random.Random, team_id: int, items: list[dict[str, Any]], now: datetime
) -> int:
    """Most stories start from an intent with acceptance checks; under pressure more of them
    change after work started and fewer checks are verified by done."""
    # The revisions and checks draw from their own stream, taken before the intents' pass
    # (whose length grows with the running week) so that it does not shift them.
    later_rng = random.Random(rng.getrandbits(64))
    intents: list[tuple[Intent, dict[str, Any]]] = []
    # One pass in the items' order, each item's draws together: the running week's items come
    # last, so how many of them there are yet changes none of the draws before them.
    for item in items:
        if item["type"] != "Story" or rng.random() >= 0.7:
            continue
        drafted = item["created"] - timedelta(hours=rng.uniform(1, 48))
        done = item["done"] if item["done"] < now else None
        started = item["start"] if item["start"] < now else None
        status = "done" if done else ("in_progress" if started else "linked")
        intents.append(
            (
                Intent(
                    team_id=team_id,
                    title=f"{item['key']}: {rng.choice(('Refunds', 'Payouts', 'Invoices'))} "
                    f"{rng.choice(('in one click', 'without support', 'on time'))}",
                    outcome="Customers get their money back without contacting support",
                    status=status,
                    jira_key=item["key"],
                    channel_id="C0DEMO001",
                    created_by=SENIORS[0],
                    created_at=drafted,
                    updated_at=done or started or drafted,
                    started_at=started,
                    done_at=done,
                    revision=1,
                ),
                item,
            )
        )
    with db.session() as s:
        s.add_all(i for i, _ in intents)
        s.flush()
        rows: list[Any] = []
        for intent, item in intents:
            p = item.get("pressure", 1.0)
            number = 1
            rows.append(
                IntentRevision(
                    intent_id=intent.id or 0,
                    number=1,
                    author=SENIORS[0],
                    created_at=intent.created_at,
                )
            )
            # Every draw is made whatever `now` is, and a change is placed in the item's whole
            # planned span, then kept only if it has happened: a later `now` adds changes to
            # the running week and moves none in the weeks before it.
            changed = later_rng.random() < 0.25 * p
            fractions = [later_rng.random() for _ in range(later_rng.randint(1, 3))]
            verified_draw = later_rng.random()
            if intent.started_at and changed:
                span = item["done"] - intent.started_at
                for fraction in fractions:
                    at = intent.started_at + span * fraction
                    if at >= now:
                        continue
                    number += 1
                    rows.append(
                        IntentRevision(
                            intent_id=intent.id or 0,
                            number=number,
                            author=SENIORS[1],
                            created_at=at,
                            late=True,
                        )
                    )
            verified = intent.done_at is not None and verified_draw < 0.95 / p
            for position in range(later_rng.randint(2, 4)):
                rows.append(
                    AcceptanceCheck(
                        intent_id=intent.id or 0,
                        position=position,
                        text=f"When a refund is requested, it settles within {position + 1} day",
                        verified_by=SENIORS[2] if verified else None,
                        verified_at=intent.done_at if verified else None,
                    )
                )
        s.add_all(rows)
    return len(intents)
