"""data_health: what the digest lacks for a team, and how to fix it; hand-made rows on both
databases. Each check has a case that warns and a case that does not."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.deploys.service import record_deployment
from chatbot.github.models import BranchCommit, GitCommit, PullRequest, RepoDelivery
from chatbot.jira.models import JiraStatus, WorkItem, WorkItemChange
from chatbot.metrics.base import TeamScope
from chatbot.metrics.data_health import data_health
from chatbot.teams.models import Team
from chatbot.teams.service import TeamService

REPO = "acme/payments"


def _team(db: Database, clock: FrozenClock, **fields: object) -> Team:
    fields.setdefault("repos", [REPO])
    fields.setdefault("services", ["payments-api"])
    return TeamService(db, clock).add("payments", "C0PAY1", **fields)


def _healthy(db: Database, clock: FrozenClock) -> Team:
    """A team whose data is complete: every check passes."""
    team = _team(db, clock)
    now = clock.now()
    sha = "a" * 40
    with db.session() as s:
        s.add(RepoDelivery(repo=REPO, last_delivery_at=now - timedelta(days=1), last_event="push"))
        s.add(
            PullRequest(
                repo=REPO,
                number=1,
                head_branch="feature",
                head_sha=sha,
                merge_commit_sha="b" * 40,
                state="merged",
                merged_at=now - timedelta(days=2),
            )
        )
        s.add(BranchCommit(repo=REPO, branch="feature", sha=sha))
        s.add(GitCommit(repo=REPO, sha=sha, authored_at=now - timedelta(days=3), message="Fix it"))
        s.add(
            JiraStatus(status_id="1", name="In Progress", category="indeterminate", updated_at=now)
        )
    _deployed(db, clock, "d-1", at=now - timedelta(days=1), prs=[f"{REPO}#1"])
    return team


def _deployed(
    db: Database,
    clock: FrozenClock,
    external_id: str,
    *,
    source: str = "webhook",
    environment: str = "production",
    status: str = "success",
    **details: Any,
) -> None:
    """Records a deployment; by default a successful production one of payments-api."""
    if "repo" not in details:
        details.setdefault("service", "payments-api")
    record_deployment(
        db,
        clock,
        source=source,
        external_id=external_id,
        environment=environment,
        status=status,
        **details,
    )


def _item(
    db: Database,
    team: Team,
    key: str,
    status: str = "In Progress",
    issue_type: str = "Story",
    labels: list[str] | None = None,
    fields: dict[str, object] | None = None,
    at: datetime | None = None,
) -> int:
    when = at or datetime(2026, 11, 1, tzinfo=team.created_at.tzinfo)
    with db.session() as s:
        item = WorkItem(
            team_id=team.id or 0,
            jira_id=key,
            key=key,
            issue_type=issue_type,
            status=status,
            labels=labels or [],
            fields=fields or {},
            created_at=when,
            updated_at=when,
            synced_at=when,
        )
        s.add(item)
        s.flush()
        return item.id or 0


def test_a_healthy_team_has_no_warnings(db: Database, clock: FrozenClock) -> None:
    team = _healthy(db, clock)
    assert data_health(db, team, clock.now()) == []
    assert data_health(db, TeamScope.of(team), clock.now()) == []


def test_no_services_or_repos(db: Database, clock: FrozenClock) -> None:
    team = _team(db, clock, repos=[], services=[])
    warnings = data_health(db, team, clock.now())
    assert warnings[0].startswith("No services or repos are set")
    assert "chatbot team set payments --service NAME" in warnings[0]
    assert any(w.startswith("No GitHub repos are set") for w in warnings)


def test_no_deployment_for_14_days(db: Database, clock: FrozenClock) -> None:
    team = _healthy(db, clock)
    clock.advance(days=15)
    with db.session() as s:
        s.merge(RepoDelivery(repo=REPO, last_delivery_at=clock.now(), last_event="push"))
    warnings = data_health(db, team, clock.now())
    assert len(warnings) == 1
    assert warnings[0].startswith("No deployment seen for 14 days")
    assert "chatbot deploy record" in warnings[0] and "payments-api" in warnings[0]
    clock.advance(days=-2)  # 13 days after the deployment: still fine
    assert data_health(db, team, clock.now()) == []


def test_deployments_only_to_other_environments(db: Database, clock: FrozenClock) -> None:
    _healthy(db, clock)
    TeamService(db, clock).update("payments", production_envs="live")
    warnings = data_health(db, TeamService(db, clock).get("payments"), clock.now())
    assert warnings == [
        "No production deployment in 14 days: deployments went to production, and production "
        "is live. If one of those is production: `chatbot team set payments --prod-env "
        "live,production`."
    ]


def test_pending_deployments_do_not_count(db: Database, clock: FrozenClock) -> None:
    team = _team(db, clock)
    _deployed(db, clock, "d-9", source="cli", status="in_progress")
    assert any(w.startswith("No deployment seen") for w in data_health(db, team, clock.now()))


def test_prs_without_commit_data(db: Database, clock: FrozenClock) -> None:
    team = _healthy(db, clock)
    with db.session() as s:
        for number in (2, 3):
            s.add(
                PullRequest(
                    repo=REPO,
                    number=number,
                    head_branch=f"b{number}",
                    state="merged",
                    merged_at=clock.now() - timedelta(days=1),
                )
            )
        # A commit on the branch but with no author time known is no commit data either.
        s.add(BranchCommit(repo=REPO, branch="b3", sha="c" * 40))
        s.add(GitCommit(repo=REPO, sha="c" * 40, authored_at=None))
        # Merged long ago or in another repo: not this check's business.
        s.add(PullRequest(repo=REPO, number=4, merged_at=clock.now() - timedelta(days=40)))
        s.add(PullRequest(repo="acme/other", number=5, merged_at=clock.now()))
    [warning] = [w for w in data_health(db, team, clock.now()) if "commit data" in w]
    assert warning.startswith("2 PRs merged in the last 28 days have no commit data")
    assert "chatbot sync github --team payments" in warning


def test_deployments_shipping_nothing_known(db: Database, clock: FrozenClock) -> None:
    team = _healthy(db, clock)
    for ext, changes in (("d-2", {"issues": ["PAY-404"]}), ("d-3", {})):
        _deployed(db, clock, ext, at=clock.now() - timedelta(hours=int(ext[-1])), **changes)
    # A failed or staging deployment shipping nothing is not a gap in the cycle-time data.
    _deployed(db, clock, "d-4", environment="staging")
    [warning] = [w for w in data_health(db, team, clock.now()) if "no known PR" in w]
    assert warning.startswith(
        "2 production deployments in the last 28 days ship no known PR (for example d-2)"
    )
    assert "--pr owner/repo#12" in warning


def test_repos_without_delivery_for_7_days(db: Database, clock: FrozenClock) -> None:
    team = _healthy(db, clock)
    TeamService(db, clock).update("payments", repos=f"{REPO},acme/web")
    team = TeamService(db, clock).get("payments")
    [warning] = [w for w in data_health(db, team, clock.now()) if "webhook delivery" in w]
    assert "acme/web (never)" in warning and REPO not in warning
    clock.advance(days=7, seconds=1)
    [warning] = [w for w in data_health(db, team, clock.now()) if "webhook delivery" in w]
    assert f"{REPO} (last 2026-11-17)" in warning and "/webhooks/github" in warning


def test_statuses_with_no_category(db: Database, clock: FrozenClock) -> None:
    team = _healthy(db, clock)
    item = _item(db, team, "PAY-1", status="Parked")
    _item(db, team, "PAY-2", status="in progress")  # known, whatever the case
    with db.session() as s:
        s.add(
            WorkItemChange(
                team_id=team.id or 0,
                work_item_id=item,
                history_id="1",
                field="status",
                from_value="Triage",
                to_value="Parked",
                at=clock.now(),
            )
        )
    [warning] = [w for w in data_health(db, team, clock.now()) if "no category" in w]
    assert warning.startswith("Jira statuses with no category: Parked, Triage.")
    assert '--status-category "Parked=indeterminate"' in warning
    TeamService(db, clock).update("payments", status_category=["parked=new", "Triage=new"])
    team = TeamService(db, clock).get("payments")
    assert not [w for w in data_health(db, team, clock.now()) if "no category" in w]


def test_statuses_of_live_items_and_of_the_last_28_days_changes(
    db: Database, clock: FrozenClock
) -> None:
    # Every distinct current status of a live item counts, whatever its place in the
    # alphabet; a deleted item's status and a status only left long ago do not.
    team = _healthy(db, clock)
    _item(db, team, "PAY-1", status="Blocked")
    parked = _item(db, team, "PAY-2", status="Parked")
    _item(db, team, "PAY-3", status="Waiting")
    gone = _item(db, team, "PAY-4", status="Cancelled")
    with db.session() as s:
        item = s.get(WorkItem, gone)
        assert item is not None
        item.deleted = True
        for at, old in ((clock.now() - timedelta(days=40), "Ancient"), (clock.now(), "Parked")):
            s.add(
                WorkItemChange(
                    team_id=team.id or 0,
                    work_item_id=parked,
                    history_id=old,
                    field="status",
                    from_value=old,
                    to_value="Parked",
                    at=at,
                )
            )
    [warning] = [w for w in data_health(db, team, clock.now()) if "no category" in w]
    assert warning.startswith("Jira statuses with no category: Blocked, Parked, Waiting.")


def test_no_bug_matches_the_escape_rule(db: Database, clock: FrozenClock) -> None:
    team = _healthy(db, clock)
    _item(db, team, "PAY-1", issue_type="Bug", labels=["customer"])
    _item(db, team, "PAY-2", issue_type="Story", labels=["escaped"])  # not a bug
    [warning] = [w for w in data_health(db, team, clock.now()) if "escaped-defect" in w]
    assert warning.startswith(
        "None of the 1 bug the team created in the last 28 days matches the escaped-defect "
        "rule (label:escaped)"
    )
    _item(db, team, "PAY-3", issue_type="Bug", fields={"customfield_1": {"value": "Prod"}})
    TeamService(db, clock).update("payments", escape_rule="field:customfield_1=prod")
    team = TeamService(db, clock).get("payments")
    assert data_health(db, team, clock.now()) == []


def test_deployments_of_no_team(db: Database, clock: FrozenClock) -> None:
    team = _healthy(db, clock)
    for ext, service in (("d-7", "billing"), ("d-8", "billing"), ("d-9", "search")):
        _deployed(db, clock, ext, service=service)
    _deployed(db, clock, "77", source="github", repo="acme/unknown")
    [warning] = [w for w in data_health(db, team, clock.now()) if "belong to no team" in w]
    assert warning.startswith(
        "4 deployments in the last 28 days belong to no team (acme/unknown, billing, search)"
    )
    TeamService(db, clock).add(
        "billing", "C0BIL1", services=["billing", "search"], repos=["acme/unknown"]
    )
    assert not [w for w in data_health(db, team, clock.now()) if "no team" in w]


def test_no_commit_messages_in_28_days(db: Database, clock: FrozenClock) -> None:
    team = _healthy(db, clock)
    with db.session() as s:
        commit = s.get(GitCommit, 1)
        assert commit is not None
        commit.message = None  # known from a source that carries no messages
        s.add(commit)
        # An old PR whose commits have messages does not help the last 28 days.
        s.add(
            PullRequest(
                repo=REPO, number=9, head_branch="old", merged_at=clock.now() - timedelta(days=40)
            )
        )
        s.add(BranchCommit(repo=REPO, branch="old", sha="d" * 40))
        s.add(GitCommit(repo=REPO, sha="d" * 40, message="Old\n\nMade-with: Cursor"))
    warnings = data_health(db, team, clock.now())
    assert warnings == [
        "No pull request merged in the last 28 days carries commit messages: AI-assisted work "
        "is found only by labels, PR bodies and agent authors. Subscribe the GitHub webhook to "
        "push events, or run `chatbot sync github` to read them."
    ]
    # One recent PR with a message is enough: the source delivers them.
    with db.session() as s:
        commit = s.get(GitCommit, 1)
        assert commit is not None
        commit.message = "Fix it"
        s.add(commit)
    assert data_health(db, team, clock.now()) == []
