"""GitHub webhook payloads read into small plain values, or refused with the reason.

Only the fields the digest needs are read, each checked for presence and type, so a
malformed delivery is answered 400 naming the field instead of storing half of it. The
shapes are GitHub's documented ones (`pull_request`, `pull_request_review`, `push`,
`deployment_status`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chatbot.jira_keys import jira_keys_in


class PayloadError(ValueError):
    """The payload lacks a field or has one of the wrong type; the message names it."""


def is_bot(login: str, user_type: str | None) -> bool:
    """GitHub marks app accounts `type: Bot`; their logins end in `[bot]`. The team's own
    `bots` list is applied when metrics are computed, so changing it re-reads history."""
    return user_type == "Bot" or login.lower().endswith("[bot]")


@dataclass(frozen=True)
class Person:
    login: str
    is_bot: bool


@dataclass(frozen=True)
class PullRequestSnapshot:
    """A pull request as one event saw it; `updated_at` orders snapshots that arrive out
    of order (an older one never overwrites a newer one)."""

    repo: str
    number: int
    github_id: int | None
    title: str
    body: str
    head_branch: str  # `owner:branch` for a PR from a fork
    base_branch: str
    head_sha: str | None
    merge_commit_sha: str | None
    author: Person
    draft: bool
    state: str  # open · closed · merged
    created_at: datetime
    updated_at: datetime
    merged_at: datetime | None
    closed_at: datetime | None
    labels: tuple[str, ...] = ()
    additions: int | None = None
    deletions: int | None = None

    @property
    def jira_keys(self) -> list[str]:
        return jira_keys_in(f"{self.title}\n{self.head_branch}\n{self.body}")


@dataclass(frozen=True)
class TimelineEvent:
    """One entry of a PR's timeline (`opened`, `ready_for_review`, `converted_to_draft`,
    `reopened`, `closed`, `merged`) at the time GitHub reports for it."""

    kind: str
    at: datetime


@dataclass(frozen=True)
class Review:
    repo: str
    number: int
    review_id: int
    reviewer: Person
    state: str  # approved · changes_requested · commented · dismissed
    submitted_at: datetime | None
    dismissed_at: datetime | None = None


@dataclass(frozen=True)
class Commit:
    sha: str
    authored_at: datetime | None
    author_login: str | None
    message: str | None = None  # None: the event did not carry it


@dataclass(frozen=True)
class Push:
    repo: str
    branch: str | None  # None for tags and deleted branches: nothing to link
    commits: list[Commit] = field(default_factory=list)


@dataclass(frozen=True)
class DeploymentStatusEvent:
    repo: str
    deployment_id: str
    environment: str
    state: str
    at: datetime
    sha: str | None


# --- field readers --------------------------------------------------------------------------


def _get(obj: dict[str, Any], path: str, key: str) -> Any:
    if key not in obj:
        raise PayloadError(f"missing field {path}.{key}" if path else f"missing field {key}")
    return obj[key]


def obj(parent: dict[str, Any], key: str, path: str = "") -> dict[str, Any]:
    value = _get(parent, path, key)
    if not isinstance(value, dict):
        raise PayloadError(f"{_name(path, key)} must be an object")
    return value


def text(parent: dict[str, Any], key: str, path: str = "", optional: bool = False) -> str | None:
    value = parent.get(key) if optional else _get(parent, path, key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{_name(path, key)} must be a string")
    return value


def required_text(parent: dict[str, Any], key: str, path: str = "") -> str:
    value = text(parent, key, path)
    assert value is not None
    return value


def integer(parent: dict[str, Any], key: str, path: str = "", optional: bool = False) -> int | None:
    value = parent.get(key) if optional else _get(parent, path, key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{_name(path, key)} must be a whole number")
    return value


def flag(parent: dict[str, Any], key: str, path: str = "") -> bool:
    value = parent.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PayloadError(f"{_name(path, key)} must be true or false")
    return value


def timestamp(
    parent: dict[str, Any], key: str, path: str = "", optional: bool = False
) -> datetime | None:
    raw = text(parent, key, path, optional=optional)
    if raw is None:
        return None
    return parse_time(raw, _name(path, key))


def parse_time(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"{name} is not an ISO 8601 time") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise PayloadError(f"{name} has no zone offset")
    return value.astimezone(UTC)


def _name(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def repo_name(payload: dict[str, Any]) -> str:
    """The payload's repository as lower-case `owner/name`."""
    repository = obj(payload, "repository")
    name = required_text(repository, "full_name", "repository").strip().lower()
    if "/" not in name:
        raise PayloadError("repository.full_name must look like owner/name")
    return name


def person(parent: dict[str, Any], key: str, path: str) -> Person:
    """A GitHub user object; a deleted account (null) is GitHub's `ghost`."""
    value = parent.get(key)
    if value is None:
        return Person("ghost", False)
    if not isinstance(value, dict):
        raise PayloadError(f"{_name(path, key)} must be an object")
    where = _name(path, key)
    login = required_text(value, "login", where)
    return Person(login, is_bot(login, text(value, "type", where, optional=True)))


# --- events ---------------------------------------------------------------------------------


def pull_request_snapshot(payload: dict[str, Any], repo: str) -> PullRequestSnapshot:
    pr = obj(payload, "pull_request")
    p = "pull_request"
    head = obj(pr, "head", p)
    base = obj(pr, "base", p)
    merged_at = timestamp(pr, "merged_at", p, optional=True)
    closed_at = timestamp(pr, "closed_at", p, optional=True)
    state = required_text(pr, "state", p)
    if state not in ("open", "closed"):
        raise PayloadError("pull_request.state must be open or closed")
    return PullRequestSnapshot(
        repo=repo,
        number=_positive(integer(pr, "number", p), "pull_request.number"),
        github_id=integer(pr, "id", p, optional=True),
        title=required_text(pr, "title", p),
        body=text(pr, "body", p, optional=True) or "",
        head_branch=_head_branch(head, repo, f"{p}.head"),
        base_branch=required_text(base, "ref", f"{p}.base"),
        head_sha=_sha(text(head, "sha", f"{p}.head", optional=True)),
        merge_commit_sha=_sha(text(pr, "merge_commit_sha", p, optional=True)),
        author=person(pr, "user", p),
        draft=flag(pr, "draft", p),
        state="merged" if merged_at is not None else state,
        created_at=_required_time(pr, "created_at", p),
        updated_at=_required_time(pr, "updated_at", p),
        merged_at=merged_at,
        closed_at=closed_at,
        labels=_label_names(pr, p),
        additions=_size(integer(pr, "additions", p, optional=True)),
        deletions=_size(integer(pr, "deletions", p, optional=True)),
    )


def _label_names(pr: dict[str, Any], path: str) -> tuple[str, ...]:
    raw = pr.get("labels")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PayloadError(f"{path}.labels must be a list")
    names = []
    for i, label in enumerate(raw):
        if not isinstance(label, dict):
            raise PayloadError(f"{path}.labels[{i}] must be an object")
        names.append(required_text(label, "name", f"{path}.labels[{i}]")[:100])
    return tuple(dict.fromkeys(names))


def _size(value: int | None) -> int | None:
    return None if value is None or value < 0 else value


PR_ACTIONS = (
    "opened",
    "edited",
    "ready_for_review",
    "converted_to_draft",
    "synchronize",
    "closed",
    "reopened",
    # Labels are an AI-assistance signal (docs/ai-signals.md).
    "labeled",
    "unlabeled",
)


def pull_request_timeline(action: str, pr: PullRequestSnapshot) -> list[TimelineEvent]:
    """The timeline entries one `pull_request` action adds. GitHub gives no separate time
    for draft changes or reopening; the PR's `updated_at` is that moment."""
    if action == "opened":
        return [TimelineEvent("opened", pr.created_at)]
    if action in ("ready_for_review", "converted_to_draft", "reopened"):
        return [TimelineEvent(action, pr.updated_at)]
    if action == "closed":
        if pr.merged_at is not None:
            return [TimelineEvent("merged", pr.merged_at)]
        return [TimelineEvent("closed", pr.closed_at or pr.updated_at)]
    return []


REVIEW_ACTIONS = ("submitted", "dismissed", "edited")


def review(payload: dict[str, Any], repo: str, action: str, now: datetime) -> Review:
    body = obj(payload, "review")
    pr = obj(payload, "pull_request")
    state = required_text(body, "state", "review").lower()
    return Review(
        repo=repo,
        number=_positive(integer(pr, "number", "pull_request"), "pull_request.number"),
        review_id=_positive(integer(body, "id", "review"), "review.id"),
        reviewer=person(body, "user", "review"),
        state=state,
        submitted_at=timestamp(body, "submitted_at", "review", optional=True),
        # GitHub sends no dismissal time: the delivery is that moment.
        dismissed_at=now if action == "dismissed" else None,
    )


def push(payload: dict[str, Any], repo: str) -> Push:
    ref = required_text(payload, "ref")
    deleted = flag(payload, "deleted")
    raw_commits = _get(payload, "", "commits")
    if not isinstance(raw_commits, list):
        raise PayloadError("commits must be a list")
    commits = []
    for i, item in enumerate(raw_commits):
        where = f"commits[{i}]"
        if not isinstance(item, dict):
            raise PayloadError(f"{where} must be an object")
        sha = _sha(required_text(item, "id", where))
        if sha is None:
            raise PayloadError(f"{where}.id must be a commit SHA")
        author = item.get("author")
        login = None
        if isinstance(author, dict):
            login = text(author, "username", f"{where}.author", optional=True)
        elif author is not None:
            raise PayloadError(f"{where}.author must be an object")
        commits.append(
            Commit(
                sha,
                timestamp(item, "timestamp", where, optional=True),
                login,
                text(item, "message", where, optional=True),
            )
        )
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    return Push(repo, None if deleted else branch, commits)


def deployment_status(payload: dict[str, Any], repo: str) -> DeploymentStatusEvent:
    status = obj(payload, "deployment_status")
    deployment = obj(payload, "deployment")
    ident = integer(deployment, "id", "deployment")
    return DeploymentStatusEvent(
        repo=repo,
        deployment_id=str(ident),
        environment=required_text(deployment, "environment", "deployment"),
        state=required_text(status, "state", "deployment_status").lower(),
        at=_required_time(status, "created_at", "deployment_status"),
        sha=_sha(text(deployment, "sha", "deployment", optional=True)),
    )


def _head_branch(head: dict[str, Any], repo: str, path: str) -> str:
    """The PR's head branch; from a fork, `owner:branch` (GitHub's head label), so pushes to
    a same-named branch of this repository are never taken for the PR's commits."""
    ref = required_text(head, "ref", path)
    head_repo = head.get("repo")
    if head_repo is not None and not isinstance(head_repo, dict):
        raise PayloadError(f"{path}.repo must be an object")
    same = head_repo is not None and str(head_repo.get("full_name", "")).lower() == repo
    if same:
        return ref
    label = text(head, "label", path, optional=True)
    return label if label and ":" in label else f"fork:{ref}"


def _required_time(parent: dict[str, Any], key: str, path: str) -> datetime:
    value = timestamp(parent, key, path)
    assert value is not None
    return value


def _positive(value: int | None, name: str) -> int:
    if value is None or value < 1:
        raise PayloadError(f"{name} must be a positive number")
    return value


def _sha(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()
    if len(value) != 40 or any(c not in "0123456789abcdef" for c in value):
        return None
    return value
