"""Pull requests, their timeline, commits and reviews, as GitHub reported them.

Rows are keyed by GitHub's natural keys (`repo` + PR `number`, commit `sha`, review id)
rather than by foreign keys, because webhooks arrive out of order: a review or a push may
be stored before its pull request's `opened` event, and nothing is lost. Every time is UTC.
`repo` is always lower-case `owner/name`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from chatbot.db.types import UTCDateTime


class PullRequest(SQLModel, table=True):
    """One pull request. `created_at` is GitHub's; `opened_as_draft` decides where review
    time starts (creation, or the first `ready_for_review` event)."""

    __tablename__ = "pull_request"
    __table_args__ = (
        UniqueConstraint("repo", "number"),
        Index("ix_pull_request_repo_merged", "repo", "merged_at"),
        Index("ix_pull_request_merge_sha", "merge_commit_sha"),
        Index("ix_pull_request_head_sha", "head_sha"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(max_length=200)
    number: int
    github_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    title: str = Field(default="", sa_column=Column(Text, nullable=False))
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    head_branch: str = Field(default="", max_length=255)
    base_branch: str = Field(default="", max_length=255)
    head_sha: str | None = Field(default=None, max_length=40)
    merge_commit_sha: str | None = Field(default=None, max_length=40)
    author_login: str = Field(default="", max_length=100)
    author_is_bot: bool = Field(default=False)
    opened_as_draft: bool = Field(default=False)
    draft: bool = Field(default=False)
    state: str = Field(default="open", max_length=16)  # open · closed · merged
    created_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    merged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Label names as they stood when the PR merged (later snapshots of a merged PR leave
    # them): one of the AI-assistance signals (docs/ai-signals.md).
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # PR size; None when no event carried it (older rows, an `opened` without counts).
    additions: int | None = Field(default=None)
    deletions: int | None = Field(default=None)


class PullRequestKey(SQLModel, table=True):
    """A Jira key a pull request names in its title, branch or body (deployments ship PRs
    by Jira key; the digest links PRs to work items)."""

    __tablename__ = "pull_request_key"
    __table_args__ = (
        UniqueConstraint("repo", "number", "jira_key"),
        Index("ix_pull_request_key_key", "jira_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(max_length=200)
    number: int
    jira_key: str = Field(max_length=64)


class PullRequestEvent(SQLModel, table=True):
    """The PR timeline: opened, ready_for_review, converted_to_draft, reopened, closed,
    merged; `at` is the time GitHub reports for the event, not when it reached us."""

    __tablename__ = "pull_request_event"
    __table_args__ = (
        UniqueConstraint("repo", "number", "kind", "at"),
        Index("ix_pull_request_event_pr", "repo", "number", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(max_length=200)
    number: int
    kind: str = Field(max_length=32)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class GitCommit(SQLModel, table=True):
    """A commit; `authored_at` (the author time, which survives rebases and squashes) is
    what cycle time starts from."""

    __tablename__ = "git_commit"
    __table_args__ = (UniqueConstraint("repo", "sha"),)

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(max_length=200)
    sha: str = Field(max_length=40)
    authored_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    author_login: str | None = Field(default=None, max_length=100)
    # The full message as received (None: no event carried it yet); its trailers and
    # markers are AI-assistance signals.
    message: str | None = Field(default=None, sa_column=Column(Text))
    # Lower-case logins its `Co-authored-by:` trailers name through GitHub no-reply
    # addresses, space-separated with a space at each end (` ann bob `) so one LIKE finds a
    # login: who co-wrote an agent's commits may not approve its PR.
    coauthors: str | None = Field(default=None, max_length=1000)


class BranchCommit(SQLModel, table=True):
    """A commit seen on a branch (a `push` to it, or a PR's commit list in the backfill):
    how commits find their pull request by its head branch, even when pushed first."""

    __tablename__ = "branch_commit"
    __table_args__ = (
        UniqueConstraint("repo", "branch", "sha"),
        Index("ix_branch_commit_sha", "repo", "sha"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(max_length=200)
    branch: str = Field(max_length=255)
    sha: str = Field(max_length=40)


class PullRequestReview(SQLModel, table=True):
    """A submitted review. `state`: approved · changes_requested · commented; a dismissal
    keeps the original state and sets `dismissed_at`."""

    __tablename__ = "pull_request_review"
    __table_args__ = (Index("ix_pull_request_review_pr", "repo", "number", "submitted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    repo: str = Field(max_length=200)
    number: int
    reviewer_login: str = Field(default="", max_length=100)
    reviewer_is_bot: bool = Field(default=False)
    state: str = Field(max_length=32)
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    dismissed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class RepoDelivery(SQLModel, table=True):
    """When a repository last sent us a webhook (data health: 'no delivery for 7 days')."""

    __tablename__ = "repo_delivery"

    repo: str = Field(sa_column=Column(String(200), primary_key=True))
    last_delivery_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_event: str = Field(default="", max_length=64)
