"""GitHub webhook payloads read into small plain values, or refused with the reason.

Each event's shape is a pydantic model of the fields the digest needs (GitHub's documented
`pull_request`, `pull_request_review`, `push` and `deployment_status`; everything else in the
payload is ignored), each checked for presence and type, so a malformed delivery is answered
400 naming the field (`missing field pull_request.head`, `pull_request.labels[0].name must
be a string`) instead of storing half of it. The models are read into the frozen values
below, which the webhook and the backfill store alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic_core import PydanticCustomError

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


# --- checks of single values ----------------------------------------------------------------

# What each kind of problem is called in a 400's reason, `{where}` being the field's path.
_REASONS = {
    "missing": "missing field {where}",
    "model_type": "{where} must be an object",
    "model_attributes_type": "{where} must be an object",
    "dict_type": "{where} must be an object",
    "string_type": "{where} must be a string",
    "int_type": "{where} must be a whole number",
    "bool_type": "{where} must be true or false",
    "list_type": "{where} must be a list",
    "not_iso_time": "{where} is not an ISO 8601 time",
    "no_zone": "{where} has no zone offset",
    "not_positive": "{where} must be a positive number",
    "not_commit_sha": "{where} must be a commit SHA",
    "not_open_or_closed": "{where} must be open or closed",
    "not_owner_name": "{where} must look like owner/name",
}


def _problem(kind: str) -> PydanticCustomError:
    return PydanticCustomError(kind, _REASONS[kind].removeprefix("{where} "))


def _time_or_problem(raw: str) -> datetime | str:
    """The instant in UTC, or the kind of problem with it."""
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return "not_iso_time"
    if value.tzinfo is None or value.utcoffset() is None:
        return "no_zone"
    return value.astimezone(UTC)


def parse_time(raw: str, name: str) -> datetime:
    """An ISO 8601 time with a zone offset, in UTC (the backfill reads GitHub's API with it)."""
    value = _time_or_problem(raw)
    if isinstance(value, str):
        raise PayloadError(_REASONS[value].format(where=name))
    return value


def _time(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise _problem("string_type")
    value = _time_or_problem(raw)
    if isinstance(value, str):
        raise _problem(value)
    return value


def _positive(value: int) -> int:
    if value < 1:
        raise _problem("not_positive")
    return value


def _open_or_closed(value: str) -> str:
    if value not in ("open", "closed"):
        raise _problem("not_open_or_closed")
    return value


def _owner_name(value: str) -> str:
    name = value.strip().lower()
    if "/" not in name:
        raise _problem("not_owner_name")
    return name


_SHA = re.compile(r"[0-9a-f]{40}")


def _sha(value: str | None) -> str | None:
    """A full commit SHA, lower-cased; anything else is no SHA (None)."""
    if not value:
        return None
    value = value.strip().lower()
    return value if _SHA.fullmatch(value) else None


def _commit_sha(value: str) -> str:
    sha = _sha(value)
    if sha is None:
        raise _problem("not_commit_sha")
    return sha


Time = Annotated[datetime, PlainValidator(_time)]
Positive = Annotated[StrictInt, AfterValidator(_positive)]


# --- the payloads' shapes ----------------------------------------------------------------------


class _Shape(BaseModel):
    """Reads only the fields it declares; GitHub's other fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _Repository(_Shape):
    full_name: Annotated[StrictStr, AfterValidator(_owner_name)]


class _InRepository(_Shape):
    repository: _Repository


class _Envelope(_InRepository):
    """What the pull request, review and push events carry besides their own fields."""

    action: StrictStr | None = None


class _User(_Shape):
    login: StrictStr
    type: StrictStr | None = None

    def person(self) -> Person:
        return Person(self.login, is_bot(self.login, self.type))


def _person(user: _User | None) -> Person:
    """A deleted account (null) is GitHub's `ghost`."""
    return user.person() if user is not None else Person("ghost", False)


class _HeadRepository(_Shape):
    full_name: Any = ""


class _Head(_Shape):
    ref: StrictStr
    repo: _HeadRepository | None = None
    label: StrictStr | None = None
    sha: StrictStr | None = None

    def branch(self, repo: str) -> str:
        """The PR's head branch; from a fork, `owner:branch` (GitHub's head label), so pushes
        to a same-named branch of this repository are never taken for the PR's commits."""
        if self.repo is not None and str(self.repo.full_name).lower() == repo:
            return self.ref
        label = self.label
        return label if label and ":" in label else f"fork:{self.ref}"


class _Base(_Shape):
    ref: StrictStr


class _Label(_Shape):
    name: StrictStr


class _PullRequest(_Shape):
    # In the order a problem is reported when there are several.
    head: _Head
    base: _Base
    merged_at: Time | None = None
    closed_at: Time | None = None
    state: Annotated[StrictStr, AfterValidator(_open_or_closed)]
    number: Positive
    id: StrictInt | None = None
    title: StrictStr
    body: StrictStr | None = None
    merge_commit_sha: StrictStr | None = None
    user: _User | None = None
    draft: StrictBool | None = False
    created_at: Time
    updated_at: Time
    labels: list[_Label] | None = None
    additions: StrictInt | None = None
    deletions: StrictInt | None = None


class _PullRequestEvent(_Shape):
    pull_request: _PullRequest


class _ReviewBody(_Shape):
    state: StrictStr
    id: Positive
    user: _User | None = None
    submitted_at: Time | None = None


class _ReviewedPullRequest(_Shape):
    number: Positive


class _ReviewEvent(_Shape):
    review: _ReviewBody
    pull_request: _ReviewedPullRequest


class _PushAuthor(_Shape):
    username: StrictStr | None = None


class _PushCommit(_Shape):
    id: Annotated[StrictStr, AfterValidator(_commit_sha)]
    timestamp: Time | None = None
    author: _PushAuthor | None = None
    message: StrictStr | None = None


class _PushEvent(_Shape):
    ref: StrictStr
    deleted: StrictBool | None = False
    commits: list[_PushCommit]


class _DeploymentStatus(_Shape):
    state: StrictStr
    created_at: Time


class _Deployment(_Shape):
    id: StrictInt
    environment: StrictStr
    sha: StrictStr | None = None


class _DeploymentStatusEvent(_Shape):
    deployment_status: _DeploymentStatus
    deployment: _Deployment


Shape = TypeVar("Shape", bound=_Shape)


def _read(shape: type[Shape], payload: Any) -> Shape:
    """The payload as `shape`, or PayloadError naming the first problem and its field."""
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    try:
        return shape.model_validate(payload)
    except ValidationError as exc:
        raise PayloadError(_reason(exc)) from None


def _reason(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = _path(first["loc"])
    template = _REASONS.get(first["type"])
    return template.format(where=where) if template else f"{where} is not valid"


def _path(loc: tuple[int | str, ...]) -> str:
    """`("pull_request", "labels", 0, "name")` → `pull_request.labels[0].name`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    repo: str  # lower-case `owner/name`
    action: str  # "" when the event has none


def envelope(payload: Any) -> Envelope:
    """The event's repository and action, read before deciding whether the event matters."""
    read = _read(_Envelope, payload)
    return Envelope(read.repository.full_name, read.action or "")


def repo_name(payload: Any) -> str:
    """The payload's repository as lower-case `owner/name`."""
    return _read(_InRepository, payload).repository.full_name


def pull_request_snapshot(payload: Any, repo: str) -> PullRequestSnapshot:
    pr = _read(_PullRequestEvent, payload).pull_request
    return PullRequestSnapshot(
        repo=repo,
        number=pr.number,
        github_id=pr.id,
        title=pr.title,
        body=pr.body or "",
        head_branch=pr.head.branch(repo),
        base_branch=pr.base.ref,
        head_sha=_sha(pr.head.sha),
        merge_commit_sha=_sha(pr.merge_commit_sha),
        author=_person(pr.user),
        draft=bool(pr.draft),
        state="merged" if pr.merged_at is not None else pr.state,
        created_at=pr.created_at,
        updated_at=pr.updated_at,
        merged_at=pr.merged_at,
        closed_at=pr.closed_at,
        labels=tuple(dict.fromkeys(label.name[:100] for label in pr.labels or ())),
        additions=_size(pr.additions),
        deletions=_size(pr.deletions),
    )


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


def review(payload: Any, repo: str, action: str, now: datetime) -> Review:
    read = _read(_ReviewEvent, payload)
    body = read.review
    return Review(
        repo=repo,
        number=read.pull_request.number,
        review_id=body.id,
        reviewer=_person(body.user),
        state=body.state.lower(),
        submitted_at=body.submitted_at,
        # GitHub sends no dismissal time: the delivery is that moment.
        dismissed_at=now if action == "dismissed" else None,
    )


def push(payload: Any, repo: str) -> Push:
    read = _read(_PushEvent, payload)
    commits = [
        Commit(
            c.id,
            c.timestamp,
            c.author.username if c.author is not None else None,
            c.message,
        )
        for c in read.commits
    ]
    ref = read.ref
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    return Push(repo, None if read.deleted else branch, commits)


def deployment_status(payload: Any, repo: str) -> DeploymentStatusEvent:
    read = _read(_DeploymentStatusEvent, payload)
    return DeploymentStatusEvent(
        repo=repo,
        deployment_id=str(read.deployment.id),
        environment=read.deployment.environment,
        state=read.deployment_status.state.lower(),
        at=read.deployment_status.created_at,
        sha=_sha(read.deployment.sha),
    )
