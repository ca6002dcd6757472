"""GitHub's clock job: the hourly catch-up that fills what webhooks missed (docs/reliability.md).

GitHub never redelivers a failed webhook by itself: a delivery answered 503 during an outage
waits for someone to press *Redeliver*. With `GITHUB_TOKEN` set, the clock runs this job
every hour, leased like the others: an incremental `chatbot sync github` of every team's
repos, reading the pull requests updated since the last successful run began (less
`OVERLAP`, for clocks that disagree and updates written while that run read), through the
same idempotent writes as the webhook, so what is already stored is stored once. Each run is
recorded in `sync_run` (`github-catch-up`) for `chatbot team doctor`; a failed run keeps the
last successful start, so the next run reads everything the failed one should have.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatbot.clock import Clock
from chatbot.db.core_models import SyncRun
from chatbot.db.engine import Database
from chatbot.github import ingest
from chatbot.github.api import GitHubApiError, GitHubClient
from chatbot.github.backfill import GitHubBackfill
from chatbot.github.catch_up_runs import CATCH_UP_EVERY_SECONDS, CATCH_UP_JOB, last_catch_up
from chatbot.scheduler import Job

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=15)
# With no successful run on record, what the first run reads: the week `team doctor`'s
# webhook check looks back (the history before it is `chatbot sync github`'s).
FIRST_LOOK_BACK = timedelta(days=7)


@dataclass(frozen=True)
class CatchUp:
    """What one run did: the repositories it read, the PRs it stored, and the failures."""

    started_at: datetime
    since: datetime
    repos: int
    pull_requests: int
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def catch_up(db: Database, clock: Clock, client: GitHubClient) -> CatchUp:
    """Read every team repository's PRs updated since the last successful run (less the
    overlap) and store them; record the run. One repository's failure does not stop the
    others; the run then counts as failed."""
    started = clock.now()
    last = last_catch_up(db)
    succeeded = last.last_success_started_at if last is not None else None
    since = (succeeded or started - FIRST_LOOK_BACK) - OVERLAP
    with db.engine.connect() as conn:
        repos = sorted(ingest.team_repos(conn))
    backfill = GitHubBackfill(db, clock, client, state=CATCH_UP_JOB)
    stored, errors = 0, []
    for repo in repos:
        try:
            stored += backfill.sync_repo(repo, since=since).pull_requests
        except GitHubApiError as exc:
            # The reason is one line and never holds the token (chatbot.github.api).
            log.warning("github catch-up: %s: %s", repo, exc)
            errors.append(f"{repo}: {exc}")
    result = CatchUp(started, since, len(repos), stored, tuple(errors))
    _record(db, clock.now(), result, succeeded)
    return result


def _record(db: Database, now: datetime, run: CatchUp, succeeded: datetime | None) -> None:
    with db.session() as session:
        row = session.get(SyncRun, CATCH_UP_JOB) or SyncRun(
            name=CATCH_UP_JOB, started_at=run.started_at, finished_at=now, ok=run.ok
        )
        row.started_at, row.finished_at, row.ok = run.started_at, now, run.ok
        row.repos, row.pull_requests = run.repos, run.pull_requests
        row.error = "; ".join(run.errors)[:1000] if run.errors else None
        row.last_success_started_at = run.started_at if run.ok else succeeded
        session.add(row)


def github_catch_up_job(db: Database, clock: Clock, client: GitHubClient) -> Job:
    def run() -> CatchUp:
        done = catch_up(db, clock, client)
        if done.ok:
            log.info(
                "github catch-up: %s pull requests from %s repos", done.pull_requests, done.repos
            )
        return done

    return Job(CATCH_UP_JOB, CATCH_UP_EVERY_SECONDS, run)
