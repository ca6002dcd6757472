"""POST /webhooks/github over real HTTP: pull requests, reviews, pushes, deployments, ping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chatbot.db.core_models import ProcessedEvent
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
from chatbot.teams.service import TeamService
from tests.conftest import Bot
from tests.fakes.github_events import (
    PullRequestState,
    deployment_status_event,
    ping_event,
    pull_request_event,
    push_event,
    review_event,
    sha,
)
from tests.github_helpers import REPO, SECRET, add_team, count, deliver, rows


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"github_webhook_secret": SECRET}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def the_pr(bot: Bot, number: int = 7) -> PullRequest:
    (pr,) = rows(bot.services.db, PullRequest, repo=REPO, number=number)
    return pr


def timeline(bot: Bot, number: int = 7) -> list[tuple[str, datetime]]:
    events = rows(bot.services.db, PullRequestEvent, repo=REPO, number=number)
    return sorted((e.kind, e.at) for e in events)


def keys(bot: Bot, number: int = 7) -> set[str]:
    return {k.jira_key for k in rows(bot.services.db, PullRequestKey, repo=REPO, number=number)}


def test_opened_pull_request_is_stored_with_keys_and_author(bot: Bot) -> None:
    add_team(bot)
    pr = PullRequestState(
        REPO,
        7,
        title="PAY-12 Retries for the client",
        head_branch="feature/PAY-13-retries",
        body="Also fixes PAY-14.",
        draft=True,
    )
    answer = deliver(bot, "pull_request", pull_request_event("opened", pr))
    assert answer.status == 200, answer.body
    stored = the_pr(bot)
    assert (stored.title, stored.head_branch, stored.base_branch) == (
        "PAY-12 Retries for the client",
        "feature/PAY-13-retries",
        "main",
    )
    assert stored.draft and stored.opened_as_draft and stored.state == "open"
    assert stored.created_at == at(pr.created_at)
    assert stored.author_login == "octocat" and not stored.author_is_bot
    assert stored.head_sha == sha(f"{REPO}#7:head")
    assert keys(bot) == {"PAY-12", "PAY-13", "PAY-14"}
    assert timeline(bot) == [("opened", at(pr.created_at))]
    (delivery,) = rows(bot.services.db, RepoDelivery)
    assert (delivery.repo, delivery.last_event) == (REPO, "pull_request")
    assert delivery.last_delivery_at == bot.services.clock.now()


def test_a_pull_request_lives_through_draft_ready_edit_and_merge(bot: Bot) -> None:
    add_team(bot)
    pr = PullRequestState(REPO, 7, title="PAY-1 first", draft=True)
    deliver(bot, "pull_request", pull_request_event("opened", pr))
    pr.draft, pr.updated_at = False, "2026-11-16T10:00:00Z"
    deliver(bot, "pull_request", pull_request_event("ready_for_review", pr))
    pr.draft, pr.updated_at = True, "2026-11-16T11:00:00Z"
    deliver(bot, "pull_request", pull_request_event("converted_to_draft", pr))
    pr.draft, pr.updated_at = False, "2026-11-16T12:00:00Z"
    deliver(bot, "pull_request", pull_request_event("ready_for_review", pr))
    pr.head_sha, pr.updated_at = sha("new head"), "2026-11-16T13:00:00Z"
    deliver(bot, "pull_request", pull_request_event("synchronize", pr))
    pr.title, pr.updated_at = "PAY-2 renamed", "2026-11-16T14:00:00Z"
    deliver(bot, "pull_request", pull_request_event("edited", pr))
    assert keys(bot) == {"PAY-2"}
    pr.state, pr.closed_at = "closed", "2026-11-17T09:00:00Z"
    pr.merged_at, pr.updated_at = "2026-11-17T09:00:00Z", "2026-11-17T09:00:00Z"
    pr.merge_commit_sha = sha("merge")
    deliver(bot, "pull_request", pull_request_event("closed", pr))

    stored = the_pr(bot)
    assert stored.state == "merged" and stored.merged_at == at("2026-11-17T09:00:00Z")
    assert stored.opened_as_draft and not stored.draft
    assert stored.head_sha == sha("new head") and stored.merge_commit_sha == sha("merge")
    assert stored.title == "PAY-2 renamed"
    assert timeline(bot) == [
        ("converted_to_draft", at("2026-11-16T11:00:00Z")),
        ("merged", at("2026-11-17T09:00:00Z")),
        ("opened", at("2026-11-16T09:00:00Z")),
        ("ready_for_review", at("2026-11-16T10:00:00Z")),
        ("ready_for_review", at("2026-11-16T12:00:00Z")),
    ]


def test_closed_without_merge_then_reopened(bot: Bot) -> None:
    add_team(bot)
    pr = PullRequestState(REPO, 7)
    deliver(bot, "pull_request", pull_request_event("opened", pr))
    pr.state, pr.closed_at, pr.updated_at = "closed", "2026-11-16T10:00:00Z", "2026-11-16T10:00:00Z"
    deliver(bot, "pull_request", pull_request_event("closed", pr))
    assert the_pr(bot).state == "closed"
    pr.state, pr.closed_at, pr.updated_at = "open", None, "2026-11-16T11:00:00Z"
    deliver(bot, "pull_request", pull_request_event("reopened", pr))
    stored = the_pr(bot)
    assert stored.state == "open" and stored.closed_at is None
    assert [k for k, _ in timeline(bot)] == ["closed", "opened", "reopened"]


def test_events_out_of_order_lose_nothing(bot: Bot) -> None:
    add_team(bot)
    pr = PullRequestState(REPO, 7, title="PAY-3 late", draft=True)
    opened = pull_request_event("opened", pr)
    review = review_event("submitted", pr, 501, state="approved")
    pr.draft, pr.state = False, "closed"
    pr.closed_at = pr.merged_at = pr.updated_at = "2026-11-17T09:00:00Z"
    closed = pull_request_event("closed", pr)
    # The review and the merge arrive before the PR's `opened`.
    assert deliver(bot, "pull_request_review", review).status == 200
    assert deliver(bot, "pull_request", closed).status == 200
    assert deliver(bot, "pull_request", opened).status == 200
    stored = the_pr(bot)
    assert stored.state == "merged" and not stored.draft  # the older snapshot did not win
    assert stored.opened_as_draft  # ...but what only `opened` knows was kept
    assert [k for k, _ in timeline(bot)] == ["merged", "opened"]
    (stored_review,) = rows(bot.services.db, PullRequestReview)
    assert (stored_review.number, stored_review.state) == (7, "approved")


def test_review_states_and_dismissal_in_any_order(bot: Bot) -> None:
    add_team(bot)
    pr = PullRequestState(REPO, 7)
    deliver(bot, "pull_request_review", review_event("submitted", pr, 1, state="approved"))
    deliver(bot, "pull_request_review", review_event("dismissed", pr, 1, state="dismissed"))
    # Dismissed arrives first for review 2, its submission afterwards.
    deliver(bot, "pull_request_review", review_event("dismissed", pr, 2, state="dismissed"))
    deliver(bot, "pull_request_review", review_event("submitted", pr, 2, state="changes_requested"))
    deliver(
        bot,
        "pull_request_review",
        review_event("submitted", pr, 3, "renovate[bot]", "commented"),
    )
    deliver(
        bot,
        "pull_request_review",
        review_event("submitted", pr, 4, "ci-app", "commented", reviewer_type="Bot"),
    )
    by_id = {r.review_id: r for r in rows(bot.services.db, PullRequestReview)}
    now = bot.services.clock.now()
    assert (by_id[1].state, by_id[1].dismissed_at) == ("approved", now)
    assert (by_id[2].state, by_id[2].dismissed_at) == ("changes_requested", now)
    assert by_id[1].submitted_at == at("2026-11-16T12:00:00Z")
    assert [by_id[i].reviewer_is_bot for i in (1, 3, 4)] == [False, True, True]


def test_bot_authored_pull_request_is_flagged(bot: Bot) -> None:
    add_team(bot)
    pr = PullRequestState(REPO, 9, author="dependabot[bot]", author_type="Bot")
    deliver(bot, "pull_request", pull_request_event("opened", pr))
    assert the_pr(bot, 9).author_is_bot


def test_push_before_the_pull_request_links_by_branch(bot: Bot) -> None:
    add_team(bot)
    commits = [
        (sha("c1"), "2026-11-15T08:00:00-05:00"),
        (sha("c2"), "2026-11-15T14:30:00Z"),
        (sha("c3"), "2026-11-15T16:00:00+01:00"),
    ]
    assert deliver(bot, "push", push_event(REPO, "feature/retries", commits)).status == 200
    deliver(bot, "pull_request", pull_request_event("opened", PullRequestState(REPO, 7)))
    stored = {c.sha: c for c in rows(bot.services.db, GitCommit)}
    assert stored[sha("c1")].authored_at == at("2026-11-15T13:00:00Z")
    assert stored[sha("c3")].authored_at == at("2026-11-15T15:00:00Z")
    assert stored[sha("c2")].author_login == "octocat"
    branch = {
        b.sha
        for b in rows(bot.services.db, BranchCommit, repo=REPO, branch=the_pr(bot).head_branch)
    }
    assert branch == {sha("c1"), sha("c2"), sha("c3")}


def test_tag_pushes_and_branch_deletions_link_nothing(bot: Bot) -> None:
    add_team(bot)
    tag = push_event(REPO, "", [(sha("t"), "2026-11-15T08:00:00Z")], ref="refs/tags/v1.0")
    assert deliver(bot, "push", tag).status == 200
    gone = push_event(REPO, "old-branch", [], deleted=True)
    assert deliver(bot, "push", gone).status == 200
    assert count(bot.services.db, BranchCommit) == 0
    assert count(bot.services.db, GitCommit) == 1  # the tagged commit still has its author time


def test_deployment_status_success_pending_and_error(bot: Bot) -> None:
    add_team(bot)
    shipped = sha("deployed")
    pending = deployment_status_event(REPO, 41, "in_progress", created_at="2026-11-17T09:58:00Z")
    success = deployment_status_event(
        REPO, 41, "success", created_at="2026-11-17T10:00:00Z", deployed_sha=shipped
    )
    assert deliver(bot, "deployment_status", pending).status == 200
    (row,) = rows(bot.services.db, Deployment)
    assert row.status == "pending" and row.deployed_at is None
    assert deliver(bot, "deployment_status", success).status == 200
    failed = deployment_status_event(REPO, 42, "error", environment="staging")
    assert deliver(bot, "deployment_status", failed).status == 200
    by_id = {d.external_id: d for d in rows(bot.services.db, Deployment)}
    assert set(by_id) == {"41", "42"}
    first = by_id["41"]
    assert (first.source, first.repo, first.environment, first.status) == (
        "github",
        REPO,
        "production",
        "success",
    )
    assert first.deployed_at == at("2026-11-17T10:00:00Z")
    assert (by_id["42"].status, by_id["42"].environment) == ("failure", "staging")
    changes = {(c.kind, c.value) for c in rows(bot.services.db, DeploymentChange)}
    assert ("commit", shipped) in changes


def test_deployment_of_a_repo_no_team_lists_is_kept(bot: Bot) -> None:
    add_team(bot)
    answer = deliver(bot, "deployment_status", deployment_status_event("acme/other", 5, "success"))
    assert answer.status == 200 and answer.body["team_repo"] is False
    assert count(bot.services.db, Deployment) == 1
    assert count(bot.services.db, RepoDelivery) == 0


def test_same_delivery_twice_is_stored_once(bot: Bot) -> None:
    add_team(bot)
    payload = push_event(REPO, "feature/x", [(sha("a"), "2026-11-15T08:00:00Z")])
    assert deliver(bot, "push", payload, delivery="d-1").status == 200
    second = deliver(bot, "push", payload, delivery="d-1")
    assert second.status == 200 and second.body.get("duplicate") is True
    assert count(bot.services.db, ProcessedEvent) == 1
    assert count(bot.services.db, GitCommit) == 1


def test_replays_without_a_delivery_id_add_nothing(bot: Bot) -> None:
    add_team(bot)
    pr = PullRequestState(REPO, 7, title="PAY-5 once")
    sends = [
        ("pull_request", pull_request_event("opened", pr)),
        ("pull_request_review", review_event("submitted", pr, 77)),
        ("pull_request_review", review_event("dismissed", pr, 77, state="dismissed")),
        ("push", push_event(REPO, pr.head_branch, [(sha("p"), "2026-11-15T08:00:00Z")])),
        ("deployment_status", deployment_status_event(REPO, 3, "success")),
    ]
    models = [
        PullRequest,
        PullRequestEvent,
        PullRequestKey,
        PullRequestReview,
        GitCommit,
        BranchCommit,
        Deployment,
        DeploymentChange,
    ]

    def snapshot() -> list[int]:
        return [count(bot.services.db, m) for m in models]

    for event, payload in sends:
        deliver(bot, event, payload, headers={"X-GitHub-Delivery": ""})
    first = snapshot()
    dismissed_at = rows(bot.services.db, PullRequestReview)[0].dismissed_at
    bot.services.clock.advance(hours=1)  # type: ignore[attr-defined]
    for event, payload in sends:
        assert deliver(bot, event, payload, headers={"X-GitHub-Delivery": ""}).status == 200
    assert snapshot() == first == [1, 1, 1, 1, 1, 1, 1, 1]
    assert rows(bot.services.db, PullRequestReview)[0].dismissed_at == dismissed_at


def test_events_of_repos_no_team_lists_are_dropped(bot: Bot) -> None:
    add_team(bot, repos=["ACME/Payments"])
    other = PullRequestState("acme/other", 1)
    answer = deliver(bot, "pull_request", pull_request_event("opened", other))
    assert answer.status == 202
    assert count(bot.services.db, PullRequest) == 0
    assert count(bot.services.db, RepoDelivery) == 0
    # The team wrote its repo in another case: still matched.
    upper = PullRequestState("Acme/PAYMENTS", 2)
    assert deliver(bot, "pull_request", pull_request_event("opened", upper)).status == 200
    assert rows(bot.services.db, PullRequest)[0].repo == REPO


def test_ping_answers_and_says_whether_the_repo_is_a_teams(bot: Bot) -> None:
    add_team(bot)
    known = deliver(bot, "ping", ping_event(REPO))
    assert known.status == 200 and known.body["team_repo"] is True
    (delivery,) = rows(bot.services.db, RepoDelivery)
    assert delivery.last_event == "ping"
    unknown = deliver(bot, "ping", ping_event("acme/else"))
    assert unknown.status == 200 and "chatbot team set" in unknown.body["note"]
    assert deliver(bot, "ping", ping_event(None)).status == 200  # an organization hook


def test_form_encoded_deliveries_are_read_too(bot: Bot) -> None:
    from urllib.parse import urlencode

    from tests.fakes.github_events import encode

    add_team(bot)
    payload = pull_request_event("opened", PullRequestState(REPO, 7))
    body = urlencode({"payload": encode(payload).decode()}).encode()
    answer = deliver(
        bot, "pull_request", raw=body, content_type="application/x-www-form-urlencoded"
    )
    assert answer.status == 200
    assert the_pr(bot).number == 7


def test_repo_delivery_is_refreshed_as_time_passes(bot: Bot) -> None:
    add_team(bot)
    deliver(bot, "ping", ping_event(REPO))
    bot.services.clock.advance(minutes=5)  # type: ignore[attr-defined]
    deliver(bot, "push", push_event(REPO, "main", [(sha("m"), "2026-11-18T09:00:00Z")]))
    (delivery,) = rows(bot.services.db, RepoDelivery)
    assert (delivery.last_event, delivery.last_delivery_at) == ("push", bot.services.clock.now())


def test_a_pr_first_seen_after_it_was_opened_gets_its_keys(bot: Bot) -> None:
    add_team(bot)
    pr = PullRequestState(REPO, 7, title="PAY-21 opened before the webhook existed")
    pr.updated_at = "2026-11-17T08:00:00Z"
    assert deliver(bot, "pull_request", pull_request_event("synchronize", pr)).status == 200
    assert keys(bot) == {"PAY-21"}
    assert timeline(bot) == []  # GitHub said nothing about when it was opened


def test_a_repo_added_to_a_team_is_taken_at_once(bot: Bot) -> None:
    add_team(bot, repos=["acme/other"])
    opened = pull_request_event("opened", PullRequestState(REPO, 7))
    assert deliver(bot, "pull_request", opened).status == 202
    TeamService(bot.services.db, bot.services.clock).update("payments", repos=[REPO])
    assert deliver(bot, "pull_request", opened).status == 200
    assert count(bot.services.db, PullRequest) == 1


def test_a_pr_from_a_fork_is_not_linked_to_the_repos_own_branch(bot: Bot) -> None:
    add_team(bot)
    fork = PullRequestState(REPO, 8, head_branch="main", fork_owner="contributor")
    assert deliver(bot, "pull_request", pull_request_event("opened", fork)).status == 200
    assert the_pr(bot, 8).head_branch == "contributor:main"
    own = push_event(REPO, "main", [(sha("own"), "2026-11-16T08:00:00Z")])
    assert deliver(bot, "push", own).status == 200
    linked = rows(bot.services.db, BranchCommit, repo=REPO, branch=the_pr(bot, 8).head_branch)
    assert linked == []
