"""record_deployment, the one service behind the deploy webhook, the CLI and GitHub
`deployment_status`: the rules of docs/deployments.md on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlmodel import col, select

from chatbot.clock import FrozenClock
from chatbot.db.engine import Database
from chatbot.deploys.models import Deployment, DeploymentChange
from chatbot.deploys.service import DeploymentError, RecordedDeployment, record_deployment

AT = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)


def _record(db: Database, clock: FrozenClock, **kw: object) -> object:
    values: dict[str, object] = {
        "source": "webhook",
        "external_id": "d-1",
        "environment": "production",
        "status": "success",
        "service": "payments-api",
    }
    values.update(kw)
    return record_deployment(db, clock, **values)  # type: ignore[arg-type]


def _rows(db: Database) -> list[Deployment]:
    with db.session() as s:
        return list(s.exec(select(Deployment).order_by(col(Deployment.id))).all())


def _changes(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        rows = s.exec(select(DeploymentChange).order_by(col(DeploymentChange.id))).all()
        return [(c.kind, c.value) for c in rows]


def test_ids_are_unique_per_source(db: Database, clock: FrozenClock) -> None:
    _record(db, clock, source="webhook")
    _record(db, clock, source="cli")
    _record(db, clock, source="github", service=None, repo="Acme/Payments")
    rows = _rows(db)
    assert [(r.source, r.external_id) for r in rows] == [
        ("webhook", "d-1"),
        ("cli", "d-1"),
        ("github", "d-1"),
    ]
    assert rows[2].repo == "acme/payments" and rows[2].service is None


@pytest.mark.parametrize("waiting", ["pending", "queued", "in_progress"])
def test_waiting_states_are_not_deployments_yet(
    db: Database, clock: FrozenClock, waiting: str
) -> None:
    result = _record(db, clock, status=waiting, at=AT)
    [row] = _rows(db)
    assert row.status == "pending" and row.deployed_at is None
    assert result.created and not result.finalized  # type: ignore[attr-defined]


def test_the_first_success_or_failure_is_final(db: Database, clock: FrozenClock) -> None:
    _record(db, clock, status="queued", at=AT - timedelta(hours=1))
    first = _record(db, clock, status="failure", at=AT)
    assert first.finalized and not first.created  # type: ignore[attr-defined]
    later = _record(db, clock, status="success", at=AT + timedelta(hours=1), environment="staging")
    assert not later.finalized  # type: ignore[attr-defined]
    _record(db, clock, status="inactive", at=AT + timedelta(hours=2))
    [row] = _rows(db)
    assert (row.status, row.deployed_at, row.environment) == ("failure", AT, "production")


def test_github_error_is_a_failure(db: Database, clock: FrozenClock) -> None:
    _record(db, clock, source="github", service=None, repo="acme/web", status="error", at=AT)
    assert _rows(db)[0].status == "failure"


def test_inactive_first_is_not_a_deployment(db: Database, clock: FrozenClock) -> None:
    _record(db, clock, status="inactive", at=AT)
    [row] = _rows(db)
    assert row.status == "pending" and row.deployed_at is None


def test_a_pending_event_may_still_move_the_deployment(db: Database, clock: FrozenClock) -> None:
    _record(db, clock, status="pending", environment="staging")
    _record(db, clock, status="success", environment="production", at=AT)
    [row] = _rows(db)
    assert row.environment == "production" and row.deployed_at == AT


def test_deployed_at_is_stored_in_utc(db: Database, clock: FrozenClock) -> None:
    berlin = timezone(timedelta(hours=1))
    result = _record(db, clock, at=datetime(2026, 11, 18, 10, 30, tzinfo=berlin))
    assert result.deployed_at == AT  # type: ignore[attr-defined]
    assert _rows(db)[0].deployed_at == AT


def test_no_time_means_now(db: Database, clock: FrozenClock) -> None:
    _record(db, clock)
    assert _rows(db)[0].deployed_at == clock.now()


def test_a_naive_time_is_refused_and_nothing_is_stored(db: Database, clock: FrozenClock) -> None:
    with pytest.raises(DeploymentError, match="zone offset"):
        _record(db, clock, at=datetime(2026, 11, 18, 10, 0))
    assert _rows(db) == []


def test_later_events_add_changes_once(db: Database, clock: FrozenClock) -> None:
    sha = "c0ffee" + "0" * 34
    _record(db, clock, prs=["acme/payments#12"], commits=[sha.upper()])
    again = _record(db, clock, prs=[("ACME/Payments", 12)], commits=[sha], issues=["pay-7"])
    assert again.changes_added == 1  # type: ignore[attr-defined]
    assert _changes(db) == [("pr", "acme/payments#12"), ("commit", sha), ("issue", "PAY-7")]
    assert len(_rows(db)) == 1


def test_links_may_name_deployments_that_arrive_later(db: Database, clock: FrozenClock) -> None:
    _record(db, clock, external_id="d-3", rollback_of="d-2")
    _record(db, clock, external_id="d-4", hotfix_of="d-2")
    _record(db, clock, external_id="d-2", at=AT)
    rows = {r.external_id: r for r in _rows(db)}
    assert rows["d-3"].rollback_of == "d-2" and rows["d-4"].hotfix_of == "d-2"
    # A link named by a later event is kept; one already set is not rewritten.
    _record(db, clock, external_id="d-2", rollback_of="d-0")
    _record(db, clock, external_id="d-3", rollback_of="d-9")
    rows = {r.external_id: r for r in _rows(db)}
    assert rows["d-2"].rollback_of == "d-0" and rows["d-3"].rollback_of == "d-2"


LONG = "x" * 201
STATUS_LIST = "error, failed, failure, in_progress, inactive, pending, queued, success, waiting"


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"source": "jenkins"}, "source must be one of webhook, cli, github"),
        ({"external_id": " "}, "id must be 1 to 200 characters"),
        ({"external_id": None}, "id must be 1 to 200 characters"),
        ({"external_id": LONG}, "id must be 1 to 200 characters"),
        ({"environment": ""}, "environment must be 1 to 100 characters"),
        ({"environment": "x" * 101}, "environment must be 1 to 100 characters"),
        ({"status": "done"}, f"status must be one of {STATUS_LIST}; got 'done'"),
        ({"status": None}, f"status must be one of {STATUS_LIST}; got None"),
        (
            {"at": datetime(2026, 11, 18, 10, 0)},
            "the deployment time needs a zone offset, e.g. 2026-11-18T10:00:00Z or +01:00",
        ),
        ({"service": LONG}, "service must be at most 200 characters"),
        ({"service": None}, "a deployment needs a service (or, from GitHub, a repo)"),
        (
            {"service": None, "repo": "not a repo"},
            "repo must look like owner/name; got 'not a repo'",
        ),
        ({"rollback_of": LONG}, "rollback_of must be at most 200 characters"),
        ({"hotfix_of": LONG}, "hotfix_of must be at most 200 characters"),
        ({"prs": ["acme/payments#0"]}, "acme/payments#0 is not a pull request; use owner/repo#12"),
        ({"prs": ["#12"]}, "'#12' is not a pull request; write it as owner/repo#12"),
        ({"commits": ["g" * 40]}, "'" + "g" * 40 + "' is not a full commit SHA (40 hex digits)"),
        ({"issues": ["PAY7"]}, "'PAY7' is not a Jira key like PAY-7"),
    ],
)
def test_malformed_events_are_refused(
    db: Database, clock: FrozenClock, kw: dict[str, object], reason: str
) -> None:
    with pytest.raises(DeploymentError) as refused:
        _record(db, clock, **kw)
    assert str(refused.value) == reason  # the sender sees it as the 400 reason
    assert _rows(db) == [] and _changes(db) == []


def test_the_longest_accepted_values_are_stored(db: Database, clock: FrozenClock) -> None:
    _record(
        db,
        clock,
        external_id="i" * 200,
        environment="e" * 100,
        service="s" * 200,
        rollback_of="r" * 200,
        hotfix_of="h" * 200,
    )
    [row] = _rows(db)
    assert (row.external_id, row.environment, row.service) == ("i" * 200, "e" * 100, "s" * 200)
    assert (row.rollback_of, row.hotfix_of) == ("r" * 200, "h" * 200)


def test_the_result_says_what_was_stored(db: Database, clock: FrozenClock) -> None:
    first = _record(db, clock, status="pending")
    [row] = _rows(db)
    assert first == RecordedDeployment(
        id=row.id,  # type: ignore[arg-type]
        source="webhook",
        external_id="d-1",
        status="pending",
        deployed_at=None,
        created=True,
        finalized=False,
        changes_added=0,
    )
    done = _record(db, clock, status="success", at=AT, issues=["PAY-7"])
    assert (done.id, done.status, done.deployed_at) == (row.id, "success", AT)  # type: ignore[attr-defined]
    assert done.changes_added == 1  # type: ignore[attr-defined]


def test_until_final_a_later_event_may_change_the_service_and_repo(
    db: Database, clock: FrozenClock
) -> None:
    _record(db, clock, status="pending", service="payments-old", repo="acme/old")
    _record(db, clock, status="queued", service="payments-api", repo="acme/payments")
    _record(db, clock, status="success", at=AT, service=None, repo="acme/payments")
    _record(db, clock, status="inactive", service="other", repo="acme/other")
    [row] = _rows(db)
    assert (row.service, row.repo) == ("payments-api", "acme/payments")


def test_the_same_event_from_three_threads_at_once_is_one_row(
    db: Database, clock: FrozenClock
) -> None:
    start = threading.Barrier(3)
    results: list[object] = []
    errors: list[BaseException] = []

    def send(status: str) -> None:
        start.wait()
        try:
            results.append(
                _record(db, clock, status=status, at=AT, prs=["acme/payments#1"], issues=["PAY-1"])
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(s,)) for s in ("success", "success", "failure")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(_rows(db)) == 1 and len(_changes(db)) == 2
    assert sum(r.created for r in results) == 1  # type: ignore[attr-defined]
    assert sum(r.finalized for r in results) == 1  # type: ignore[attr-defined]
