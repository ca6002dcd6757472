"""Record a deployment: the one entry point for `POST /webhooks/deploy`, `chatbot deploy
record` and GitHub `deployment_status`, so the rules of a deployment live in one place.

The rules (docs/deployments.md):
- A deployment is unique per (`source`, `external_id`). A later event with the same id
  updates that row and adds the changes it lists; it never makes a second deployment, even
  when the same event arrives several times at once.
- `pending`, `queued` and `in_progress` are not deployments yet. The first `success` or
  `failure` is final: it sets `status` and `deployed_at` (the event's time). `inactive` and
  any later event change neither; they may still add changes.
- `deployed_at` carries a zone offset; a naive time is refused (`DeploymentError`).
- `rollback_of` / `hotfix_of` name another deployment of the same source by its id; it may
  arrive later (the link is by id, resolved when metrics are computed).
- The team is not stored: a deployment belongs to every team listing its `service` (or its
  `repo`, for GitHub), decided at query time; one of no team is kept and reported by
  `chatbot team doctor`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from chatbot.clock import Clock
from chatbot.crashpoints import crash_point
from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange, DeploymentStatus
from chatbot.jira_keys import is_jira_key

SOURCES = ("webhook", "cli", "github")
NOT_YET = frozenset({"pending", "queued", "in_progress", "waiting"})
FINAL = {s.value: s for s in (DeploymentStatus.SUCCESS, DeploymentStatus.FAILURE)}
# GitHub's `error` state is a deployment that did not go out: a failure.
FINAL_ALIASES = {"error": DeploymentStatus.FAILURE, "failed": DeploymentStatus.FAILURE}
AFTER_THE_FACT = frozenset({"inactive"})
STATUSES = tuple(sorted(NOT_YET | set(FINAL) | set(FINAL_ALIASES) | AFTER_THE_FACT))

_PR_REF = re.compile(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#(\d{1,9})$")
_SHA = re.compile(r"^[0-9a-fA-F]{40}$")


class DeploymentError(ValueError):
    """The event is malformed; the message says which field and why (shown to the sender)."""


@dataclass(frozen=True)
class RecordedDeployment:
    """What `record_deployment` did: `created` the first time this id was seen, `finalized`
    when this event was the first success or failure, `changes_added` the new change rows."""

    id: int
    source: str
    external_id: str
    status: str
    deployed_at: datetime | None
    created: bool
    finalized: bool
    changes_added: int


def pr_ref(repo: str, number: int) -> str:
    """The stored form of a listed PR: lower-case `owner/repo#12`."""
    return f"{repo.strip().lower()}#{int(number)}"


def parse_pr_ref(text: str) -> tuple[str, int]:
    """`owner/repo#12` → ("owner/repo", 12); `DeploymentError` for anything else."""
    match = _PR_REF.match(text.strip())
    if not match:
        raise DeploymentError(f"{text!r} is not a pull request; write it as owner/repo#12")
    return match.group(1).lower(), int(match.group(2))


def record_deployment(
    db: Database,
    clock: Clock,
    *,
    source: str,
    external_id: str,
    environment: str,
    status: str,
    at: datetime | None = None,
    service: str | None = None,
    repo: str | None = None,
    prs: Iterable[str | tuple[str, int]] = (),
    commits: Iterable[str] = (),
    issues: Iterable[str] = (),
    rollback_of: str | None = None,
    hotfix_of: str | None = None,
) -> RecordedDeployment:
    """Store one deployment event and return what it did.

    - `source`: "webhook", "cli" or "github"; ids are unique per source.
    - `external_id`: the sender's id (GitHub: the deployment id as a string).
    - `environment`: stored as given (production is decided at metrics time).
    - `status`: pending · queued · in_progress · waiting (not a deployment yet), success,
      failure (GitHub `error` counts as failure), inactive (changes nothing).
    - `at`: when it happened, timezone-aware; None means now (`clock.now()`). Only the
      event that first makes the deployment final sets `deployed_at`.
    - `service` (webhook, CLI) or `repo` (GitHub, lower-cased): how teams find it.
    - `prs`: "owner/repo#12" strings or (repo, number) pairs; `commits`: full 40-digit
      SHAs (a short SHA could never match a PR's merge or head commit exactly);
      `issues`: Jira keys. Added to whatever earlier events listed.

    Safe to call concurrently with the same id from several threads or processes: one row.
    Raises `DeploymentError` (a one-line reason) for malformed input; nothing is stored then.
    """
    values = _checked(
        source, external_id, environment, status, at, service, repo, rollback_of, hotfix_of
    )
    changes = _changes(prs, commits, issues)
    final = FINAL.get(values["status"]) or FINAL_ALIASES.get(values["status"])
    now = clock.now()
    when = (values["at"] or now).astimezone(UTC)
    with db.session() as session:
        created = _insert_once(session, db.dialect, values, now)
        # The deployment's id is its delivery claim: it commits with the changes below.
        crash_point("deploy.claimed")
        row = session.exec(
            select(Deployment)
            .where(Deployment.source == values["source"])
            .where(Deployment.external_id == values["external_id"])
            .with_for_update()
        ).one()
        finalized = False
        if row.deployed_at is None:
            # Not final yet: this event may still say where it goes and what it is.
            row.environment = values["environment"]
            row.service = values["service"] or row.service
            row.repo = values["repo"] or row.repo
            if final is not None:
                row.status = final
                row.deployed_at = when
                finalized = True
        # A link named after the fact is kept; an existing one is never rewritten.
        row.rollback_of = row.rollback_of or values["rollback_of"]
        row.hotfix_of = row.hotfix_of or values["hotfix_of"]
        row.updated_at = now
        session.add(row)
        session.flush()
        assert row.id is not None
        added = _add_changes(session, db.dialect, row.id, changes)
        return RecordedDeployment(
            id=row.id,
            source=row.source,
            external_id=row.external_id,
            status=row.status,
            deployed_at=row.deployed_at,
            created=created,
            finalized=finalized,
            changes_added=added,
        )


def _checked(
    source: str,
    external_id: str,
    environment: str,
    status: str,
    at: datetime | None,
    service: str | None,
    repo: str | None,
    rollback_of: str | None,
    hotfix_of: str | None,
) -> dict[str, Any]:
    if source not in SOURCES:
        raise DeploymentError(f"source must be one of {', '.join(SOURCES)}")
    ident = (external_id or "").strip()
    if not ident or len(ident) > 200:
        raise DeploymentError("id must be 1 to 200 characters")
    env = (environment or "").strip()
    if not env or len(env) > 100:
        raise DeploymentError("environment must be 1 to 100 characters")
    state = (status or "").strip().lower()
    if state not in STATUSES:
        raise DeploymentError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise DeploymentError(
            "the deployment time needs a zone offset, e.g. 2026-11-18T10:00:00Z or +01:00"
        )
    name = (service or "").strip() or None
    if name is not None and len(name) > 200:
        raise DeploymentError("service must be at most 200 characters")
    repository = (repo or "").strip().lower() or None
    if repository is not None and not re.fullmatch(r"[a-z0-9_.-]+/[a-z0-9_.-]+", repository):
        raise DeploymentError(f"repo must look like owner/name; got {repo!r}")
    if name is None and repository is None:
        raise DeploymentError("a deployment needs a service (or, from GitHub, a repo)")
    links = {}
    for field, value in (("rollback_of", rollback_of), ("hotfix_of", hotfix_of)):
        text = (value or "").strip() or None
        if text is not None and len(text) > 200:
            raise DeploymentError(f"{field} must be at most 200 characters")
        links[field] = text
    return {
        "source": source,
        "external_id": ident,
        "environment": env,
        "status": state,
        "at": at,
        "service": name,
        "repo": repository,
        **links,
    }


def _changes(
    prs: Iterable[str | tuple[str, int]], commits: Iterable[str], issues: Iterable[str]
) -> list[tuple[str, str]]:
    found: dict[tuple[str, str], None] = {}
    for pr in prs:
        repo, number = parse_pr_ref(pr) if isinstance(pr, str) else (pr[0], int(pr[1]))
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", str(repo)) or number < 1:
            raise DeploymentError(f"{repo}#{number} is not a pull request; use owner/repo#12")
        found[("pr", pr_ref(str(repo), number))] = None
    for sha in commits:
        text = str(sha).strip()
        if not _SHA.fullmatch(text):
            raise DeploymentError(f"{text!r} is not a full commit SHA (40 hex digits)")
        found[("commit", text.lower())] = None
    for key in issues:
        text = str(key).strip().upper()
        if not is_jira_key(text):
            raise DeploymentError(f"{key!r} is not a Jira key like PAY-7")
        found[("issue", text)] = None
    return list(found)


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _insert_once(session: Session, dialect: str, values: dict[str, Any], now: datetime) -> bool:
    """Create the row unless it exists; True when this call created it. An insert that
    ignores conflicts, so concurrent first events of one id make one row without an error."""
    statement = (
        _insert(dialect)(Deployment)
        .values(
            source=values["source"],
            external_id=values["external_id"],
            service=values["service"],
            repo=values["repo"],
            environment=values["environment"],
            status=DeploymentStatus.PENDING,
            first_seen_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(Deployment.id)  # type: ignore[arg-type]
    )
    # A row comes back only when this insert made it (rowcount is unreliable here).
    return session.execute(statement).first() is not None


def _add_changes(
    session: Session, dialect: str, deployment_id: int, changes: list[tuple[str, str]]
) -> int:
    if not changes:
        return 0
    statement = (
        _insert(dialect)(DeploymentChange)
        .values([{"deployment_id": deployment_id, "kind": k, "value": v} for k, v in changes])
        .on_conflict_do_nothing(index_elements=["deployment_id", "kind", "value"])
        .returning(DeploymentChange.id)  # type: ignore[arg-type]
    )
    return len(session.execute(statement).all())
