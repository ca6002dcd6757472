"""The GitHub history backfill against the local fake GraphQL API, on both databases."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from chatbot.clock import FrozenClock
from chatbot.db.core_models import SyncState
from chatbot.db.engine import Database
from chatbot.github.api import GitHubApiError, GitHubClient, graphql_url
from chatbot.github.backfill import GitHubBackfill
from chatbot.github.models import (
    BranchCommit,
    GitCommit,
    PullRequest,
    PullRequestEvent,
    PullRequestKey,
    PullRequestReview,
)
from tests.fakes.github_api import (
    RESET_EPOCH,
    TOKEN,
    FakeCommit,
    FakeGitHub,
    FakeGitHubServer,
    FakeReview,
    FakeTimelineItem,
    history,
)
from tests.github_helpers import (  # noqa: F401  (fixtures)
    count,
    github_fixture,
    github_server_fixture,
    rows,
)

REPO = "acme/payments"
EARLY = datetime(2026, 1, 1, tzinfo=UTC)
NOW_EPOCH = RESET_EPOCH - 600.0  # ten minutes before the fake's rate-limit window resets


class Sleeps(list[float]):
    """The injected sleep: records each wait; a wait opens a new rate-limit window."""

    def __init__(self, fake: FakeGitHub) -> None:
        super().__init__()
        self.fake = fake

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self.fake.new_window()


@pytest.fixture
def sleeps(github: FakeGitHub) -> Sleeps:
    return Sleeps(github)


def client_for(server: FakeGitHubServer, sleeps: Sleeps, url: str | None = None) -> GitHubClient:
    return GitHubClient(url or server.url, TOKEN, sleep=sleeps, now=lambda: NOW_EPOCH)


@dataclass
class Env:
    db: Database
    clock: FrozenClock
    server: FakeGitHubServer
    github: FakeGitHub
    sleeps: Sleeps

    def backfill(self) -> GitHubBackfill:
        return GitHubBackfill(self.db, self.clock, client_for(self.server, self.sleeps))


@pytest.fixture
def env(
    db: Database,
    clock: FrozenClock,
    github_server: FakeGitHubServer,
    github: FakeGitHub,
    sleeps: Sleeps,
) -> Env:
    return Env(db, clock, github_server, github, sleeps)


def test_history_is_stored_in_one_request_per_hundred_prs(env: Env) -> None:
    db, github, sleeps = env.db, env.github, env.sleeps
    github.add_repo("Acme/Payments", history(230, reviews=5, commits=8))
    result = env.backfill().sync_repo(REPO)
    assert (result.pull_requests, result.commits, result.reviews) == (230, 230 * 8, 230 * 5)
    assert github.count() == math.ceil(230 / 100) == 3
    assert (count(db, PullRequest), count(db, GitCommit), count(db, PullRequestReview)) == (
        230,
        230 * 8,
        230 * 5,
    )
    assert count(db, BranchCommit) == 230 * 8
    (pr,) = rows(db, PullRequest, number=2)
    assert pr.state == "merged" and pr.opened_as_draft and not pr.draft
    assert pr.head_branch == "feature/pay-2" and pr.merge_commit_sha is not None
    (odd,) = rows(db, PullRequest, number=3)
    assert not odd.opened_as_draft
    kinds = sorted(e.kind for e in rows(db, PullRequestEvent, number=2))
    assert kinds == ["merged", "opened", "ready_for_review"]
    assert {k.jira_key for k in rows(db, PullRequestKey, number=2)} == {"PAY-2"}
    assert sleeps == []
    (state,) = rows(db, SyncState)
    assert state.name == f"github:{REPO}" and state.cursor == {}
    assert state.watermark == max(p.updated_at for p in rows(db, PullRequest))


def test_long_prs_page_their_commits_reviews_and_timeline(env: Env) -> None:
    db, github = env.db, env.github
    (pr,) = history(1, reviews=120, commits=250)
    pr.reviews[0].state = "DISMISSED"
    pr.reviews.append(FakeReview(99_999, "PENDING", None))
    pr.timeline = [
        FakeTimelineItem("ConvertToDraftEvent", f"2026-06-0{1 + i % 8}T{i % 24:02d}:00:00Z")
        for i in range(150)
    ] + [
        FakeTimelineItem(
            "ReviewDismissedEvent",
            "2026-06-09T10:00:00Z",
            review_id=pr.reviews[0].database_id,
            previous_review_state="CHANGES_REQUESTED",
        )
    ]
    pr.author, pr.author_typename = "renovate", "Bot"
    github.add_repo(REPO, [pr])
    result = env.backfill().sync_repo(REPO)
    # 1 page of PRs + 2 more pages of commits + 1 of reviews + 1 of timeline.
    assert github.count() == 5
    assert (result.commits, result.reviews) == (250, 120)  # the pending review is not one
    assert count(db, GitCommit) == 250
    dismissed = rows(db, PullRequestReview, review_id=pr.reviews[0].database_id)[0]
    assert dismissed.state == "changes_requested"
    assert dismissed.dismissed_at == datetime(2026, 6, 9, 10, tzinfo=UTC)
    assert rows(db, PullRequest)[0].author_is_bot


def test_since_stops_at_the_first_older_pr_and_the_next_run_reads_only_changes(env: Env) -> None:
    db, github = env.db, env.github
    prs = history(300)
    github.add_repo(REPO, prs)
    cut = datetime(2026, 6, 12, 0, 0, tzinfo=UTC)
    expected = sum(1 for p in prs if p.updated_at >= cut.strftime("%Y-%m-%dT%H:%M:%SZ"))
    result = env.backfill().sync_repo(REPO, since=cut)
    assert result.pull_requests == expected
    assert github.count() == math.ceil((expected + 1) / 100)
    # Nothing changed since: one request, which finds the newest PR already stored.
    before = github.count()
    again = env.backfill().sync_repo(REPO)
    assert github.count() - before == 1 and again.pull_requests == 1
    # One older PR is edited: the incremental run brings it.
    prs[10].title, prs[10].updated_at = "PAY-11 retitled", "2026-12-01T00:00:00Z"
    env.backfill().sync_repo(REPO)
    assert rows(db, PullRequest, number=11)[0].title == "PAY-11 retitled"


def test_an_interrupted_backfill_resumes_where_it_stopped(env: Env) -> None:
    db, github = env.db, env.github
    github.add_repo(REPO, history(350))
    pages: list[int] = []

    def break_after_two_pages(_repo: str, done: int, _total: int | None) -> None:
        pages.append(done)
        if len(pages) == 2:
            github.fail_next(500, times=100)

    with pytest.raises(GitHubApiError, match="500"):
        env.backfill().sync_repo(REPO, progress=break_after_two_pages)
    assert count(db, PullRequest) == 200
    (state,) = rows(db, SyncState)
    assert state.cursor["after"]
    github.failures.clear()
    served = [r.variables.get("after") for r in github.requests if r.status == 200]
    result = env.backfill().sync_repo(REPO)
    assert result.resumed and result.pull_requests == 150
    resumed_from = [r.variables.get("after") for r in github.requests if r.status == 200]
    assert resumed_from[len(served)] == state.cursor["after"]
    assert len(resumed_from) == 4  # 4 pages in all: none was read twice
    assert count(db, PullRequest) == 350
    assert rows(db, SyncState)[0].cursor == {}


def test_primary_rate_limit_waits_for_the_reset(env: Env) -> None:
    db, github, sleeps = env.db, env.github, env.sleeps
    github.add_repo(REPO, history(250))
    github.set_budget(remaining=1)  # the first answer says Remaining: 0
    env.backfill().sync_repo(REPO)
    assert sleeps == [RESET_EPOCH + 1 - NOW_EPOCH]
    assert github.count(403) == 0  # it waited instead of hitting the limit
    assert count(db, PullRequest) == 250


def test_an_exhausted_budget_answered_403_waits_for_the_reset(env: Env) -> None:
    db, github, sleeps = env.db, env.github, env.sleeps
    github.add_repo(REPO, history(50))
    github.set_budget(remaining=0)
    env.backfill().sync_repo(REPO)
    assert sleeps == [RESET_EPOCH + 1 - NOW_EPOCH]
    assert count(db, PullRequest) == 50


@pytest.mark.parametrize(
    ("status", "retry_after", "waited"), [(403, 30, 30.0), (429, 7, 7.0), (403, None, 60.0)]
)
def test_secondary_rate_limits_wait_as_told(
    env: Env,
    status: int,
    retry_after: int | None,
    waited: float,
) -> None:
    db, github, sleeps = env.db, env.github, env.sleeps
    github.add_repo(REPO, history(20))
    github.fail_next(status, retry_after=retry_after)
    env.backfill().sync_repo(REPO)
    assert sleeps == [waited]
    assert count(db, PullRequest) == 20


def test_server_errors_back_off_and_timeouts_take_smaller_pages(env: Env) -> None:
    github, sleeps = env.github, env.sleeps
    github.add_repo(REPO, history(120))
    github.fail_next(500, times=2)
    env.backfill().sync_repo(REPO)
    assert sleeps == [1.0, 2.0]
    sleeps.clear()
    github.reset()
    github.add_repo(REPO, history(120))
    github.fail_next(502, times=6)  # GitHub gave up on the query six times over
    env.backfill().sync_repo(REPO, since=EARLY)
    asked = [r.variables.get("first") for r in github.requests if r.status == 200]
    assert asked == [50, 50, 50]


def test_bad_token_and_unknown_repo_are_one_line_errors(env: Env) -> None:
    db, github, sleeps = env.db, env.github, env.sleeps
    github.add_repo(REPO, history(1))
    bad = GitHubBackfill(db, env.clock, GitHubClient(env.server.url, "ghp_wrong", sleep=sleeps))
    with pytest.raises(GitHubApiError) as refused:
        bad.sync_repo(REPO)
    assert "GITHUB_TOKEN" in str(refused.value) and "ghp_wrong" not in str(refused.value)
    with pytest.raises(GitHubApiError, match="acme/missing"):
        env.backfill().sync_repo("acme/missing")
    assert count(db, PullRequest) == 0


def test_enterprise_server_url_uses_its_graphql_endpoint(env: Env) -> None:
    db, github, sleeps = env.db, env.github, env.sleeps
    assert graphql_url("https://api.github.com") == "https://api.github.com/graphql"
    assert graphql_url("https://ghe.example.com/api/v3/") == "https://ghe.example.com/api/graphql"
    github.add_repo(REPO, history(3))
    client = client_for(env.server, sleeps, url=env.server.api_v3_url)
    GitHubBackfill(db, env.clock, client).sync_repo(REPO)
    assert {r.path for r in github.requests} == {"/api/graphql"}
    assert count(db, PullRequest) == 3


def test_backfill_never_rolls_back_a_newer_webhook_snapshot(env: Env) -> None:
    db, github = env.db, env.github
    from chatbot.github import ingest
    from chatbot.github.backfill import snapshot_of

    (old,) = history(1)
    github.add_repo(REPO, [old])
    newer = {
        **github._render_pr(old),  # the same PR, renamed later by a webhook delivery
        "title": "PAY-1 renamed since",
        "updatedAt": "2026-12-01T00:00:00Z",
    }
    with db.engine.begin() as conn:
        ingest.upsert_pull_request(conn, snapshot_of(REPO, newer))
    env.backfill().sync_repo(REPO)
    (pr,) = rows(db, PullRequest)
    assert pr.title == "PAY-1 renamed since"
    assert count(db, GitCommit) == 8  # what the webhook did not know is still added


def test_commits_known_from_a_push_keep_their_author_time(env: Env) -> None:
    db, github = env.db, env.github
    (pr,) = history(1, commits=1)
    pr.commits = [FakeCommit(pr.commits[0].oid, "2026-05-31T08:00:00Z", login=None)]
    github.add_repo(REPO, [pr])
    env.backfill().sync_repo(REPO)
    env.backfill().sync_repo(REPO, since=EARLY)
    (commit,) = rows(db, GitCommit)
    assert commit.authored_at == datetime(2026, 5, 31, 8, tzinfo=UTC)
    assert commit.author_login is None


def test_a_pr_from_a_fork_keeps_its_owner_in_the_branch(env: Env) -> None:
    (pr,) = history(1)
    pr.head_ref, pr.fork_owner = "main", "contributor"
    env.github.add_repo(REPO, [pr])
    env.backfill().sync_repo(REPO)
    (stored,) = rows(env.db, PullRequest)
    assert stored.head_branch == "contributor:main"
    branches = {b.branch for b in rows(env.db, BranchCommit)}
    assert branches == {"contributor:main"}


def test_commit_messages_labels_and_size_come_with_the_history(env: Env) -> None:
    db, github = env.db, env.github
    prs = history(1, commits=130)
    prs[0].labels = ["ai-generated", "backend"]
    prs[0].additions, prs[0].deletions = 240, 17
    prs[0].commits[0].message = "Add retries\n\nCo-Authored-By: Claude <noreply@anthropic.com>"
    prs[0].commits[-1].message = "Tidy\n\nCo-authored-by: Ann <7+ann@users.noreply.github.com>"
    github.add_repo("Acme/Payments", prs)
    env.backfill().sync_repo(REPO)
    (pr,) = rows(db, PullRequest, number=1)
    assert pr.labels == ["ai-generated", "backend"]
    assert (pr.additions, pr.deletions) == (240, 17)
    by_sha = {c.sha: c for c in rows(db, GitCommit)}
    first, last = by_sha[prs[0].commits[0].oid], by_sha[prs[0].commits[-1].oid]
    assert first.message.endswith("Co-Authored-By: Claude <noreply@anthropic.com>")
    # The last commit came on the second page of the PR's commits.
    assert last.message.startswith("Tidy") and last.coauthors == " ann "
    assert all(c.message is not None for c in by_sha.values())
