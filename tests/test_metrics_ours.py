"""Orchestration share, late intent churn and checks verified at done, hand-computed, on
both databases. Week 2026-W46 in Europe/Berlin runs 2026-11-08 23:00Z → 2026-11-15 23:00Z."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatbot.db.engine import Database
from chatbot.intent.models import AcceptanceCheck, Intent, IntentRevision
from chatbot.jira.models import JiraStatus, WorkItem, WorkItemChange
from chatbot.metrics.base import TeamScope
from chatbot.metrics.checkins import CheckIn
from chatbot.metrics.checks_verified import METRIC as CHECKS
from chatbot.metrics.churn import METRIC as CHURN
from chatbot.metrics.orchestration import METRIC as ORCHESTRATION
from chatbot.metrics.week import Week
from chatbot.teams.models import Team

TZ = "Europe/Berlin"
W46 = Week.parse("2026-W46", TZ)
W45 = W46.shift(-1)
IN_W46 = datetime(2026, 11, 11, 12, tzinfo=UTC)
IN_W45 = datetime(2026, 11, 4, 12, tzinfo=UTC)


def _team(db: Database, name: str = "payments", **fields: object) -> TeamScope:
    with db.session() as s:
        team = Team(name=name, channel_id="C1", tz=TZ, created_at=IN_W45, **fields)
        s.add(team)
        s.flush()
        return TeamScope.of(team)


def _statuses(db: Database) -> None:
    with db.session() as s:
        for sid, name, category in [
            ("1", "To Do", "new"),
            ("3", "In Progress", "indeterminate"),
            ("5", "Done", "done"),
        ]:
            s.add(JiraStatus(status_id=sid, name=name, category=category, updated_at=IN_W45))


def _intent(db: Database, team: TeamScope, **fields: object) -> int:
    values: dict[str, object] = {
        "title": "Refunds",
        "channel_id": "C1",
        "created_by": "U1",
        "created_at": IN_W45 - timedelta(days=7),
        "updated_at": IN_W45,
    }
    values.update(fields)
    with db.session() as s:
        intent = Intent(team_id=team.team_id, **values)
        s.add(intent)
        s.flush()
        assert intent.id is not None
        return intent.id


def _revision(db: Database, intent_id: int, number: int, at: datetime, late: bool) -> None:
    with db.session() as s:
        s.add(
            IntentRevision(
                intent_id=intent_id, number=number, author="U1", created_at=at, late=late
            )
        )


def _work_item(db: Database, team: TeamScope, key: str, moves: list[tuple[datetime, str]]) -> None:
    with db.session() as s:
        item = WorkItem(
            team_id=team.team_id,
            jira_id=key.split("-")[1],
            key=key,
            issue_type="Story",
            status=moves[-1][1] if moves else "To Do",
            created_at=IN_W45 - timedelta(days=20),
            updated_at=IN_W46,
            synced_at=IN_W46,
        )
        s.add(item)
        s.flush()
        previous = "To Do"
        for n, (at, status) in enumerate(moves):
            s.add(
                WorkItemChange(
                    team_id=team.team_id,
                    work_item_id=item.id or 0,
                    history_id=str(n),
                    field="status",
                    from_value=previous,
                    to_value=status,
                    at=at,
                )
            )
            previous = status


def _checks(db: Database, intent_id: int, verified: list[bool]) -> None:
    with db.session() as s:
        for position, done in enumerate(verified):
            s.add(
                AcceptanceCheck(
                    intent_id=intent_id,
                    position=position,
                    text=f"check {position}",
                    verified_by="U2" if done else None,
                    verified_at=IN_W46 if done else None,
                )
            )


def _checkin(
    db: Database,
    team: TeamScope,
    user: str,
    week: Week,
    orch: float | None,
    interrupts: float | None,
) -> None:
    with db.session() as s:
        s.add(
            CheckIn(
                team_id=team.team_id,
                user_id=user,
                week=week.label,
                orchestration_share=orch,
                interrupt_share=interrupts,
                answered_at=week.end - timedelta(days=2),
                updated_at=week.end - timedelta(days=2),
            )
        )


# --- orchestration -------------------------------------------------------------------------


def test_orchestration_with_no_check_in_is_null_not_zero(db: Database) -> None:
    team = _team(db, senior_engineers=["U1", "U2"])
    figure = ORCHESTRATION.compute(db, team, [W46])[W46.label]
    assert figure.headline is None
    assert figure.fields == {
        "orchestration_share": None,
        "interrupt_share": None,
        "responses": 0,
        "n": 0,
        "excluded": {},
    }


def test_orchestration_means_the_seniors_answers_of_that_week_only(db: Database) -> None:
    team = _team(db, senior_engineers=["U1", "U2", "U3", "U4"])
    _checkin(db, team, "U1", W46, 0.5, 0.2)
    _checkin(db, team, "U2", W46, 0.4, None)  # interrupts left unanswered
    _checkin(db, team, "U3", W46, 0.0, 0.6)  # a real zero counts
    _checkin(db, team, "U9", W46, 1.0, 0.0)  # no longer a senior engineer
    _checkin(db, team, "U4", W46, None, None)  # opened the check-in, answered nothing
    _checkin(db, team, "U1", W45, 0.9, 0.1)  # the week before
    figures = ORCHESTRATION.compute(db, team, [W45, W46], explain=True)
    this_week = figures[W46.label]
    assert this_week.fields["orchestration_share"] == pytest.approx(0.3)
    assert this_week.fields["interrupt_share"] == pytest.approx(0.4)
    assert this_week.fields["responses"] == 3
    assert this_week.fields["excluded"] == {"not_senior": 1, "no_answer": 1}
    assert [(i.ref, i.counted, i.reason) for i in this_week.items] == [
        ("U1", True, None),
        ("U2", True, None),
        ("U3", True, None),
        ("U4", False, "no_answer"),
        ("U9", False, "not_senior"),
    ]
    assert figures[W45.label].headline == pytest.approx(0.9)
    assert figures[W45.label].fields["responses"] == 1


# --- late intent churn ---------------------------------------------------------------------


def test_churn_counts_revisions_after_work_started_in_the_week(db: Database) -> None:
    team = _team(db)
    other = _team(db, name="other")
    started = IN_W46
    late = _intent(db, team, started_at=started, status="in_progress")
    _revision(db, late, 1, started - timedelta(hours=1), late=False)  # before work started
    _revision(db, late, 2, started + timedelta(hours=1), late=True)
    _revision(db, late, 3, started + timedelta(hours=2), late=True)
    _revision(db, late, 4, W46.end + timedelta(hours=1), late=True)  # next week
    second = _intent(db, team, started_at=IN_W45, status="in_progress")
    _revision(db, second, 1, IN_W46, late=True)
    never_started = _intent(db, team)
    _revision(db, never_started, 1, IN_W46, late=False)
    elsewhere = _intent(db, other, started_at=IN_W45, status="in_progress")
    _revision(db, elsewhere, 1, IN_W46, late=True)

    figure = CHURN.compute(db, team, [W46], explain=True)[W46.label]
    assert figure.fields == {"revisions": 3, "intents": 2, "n": 3, "excluded": {}}
    assert figure.headline == 3
    assert sorted(i.ref for i in figure.items) == [f"I-{late}", f"I-{late}", f"I-{second}"]


def test_churn_sees_work_started_in_the_synced_jira_history(db: Database) -> None:
    """The ticket entered progress in Jira (no webhook told the intent): edits after that
    instant are late even though they were recorded as not late."""
    _statuses(db)
    team = _team(db)
    intent = _intent(db, team, jira_key="PAY-1", status="linked")
    _work_item(db, team, "PAY-1", [(IN_W46, "In Progress")])
    _revision(db, intent, 1, IN_W46 - timedelta(hours=1), late=False)
    _revision(db, intent, 2, IN_W46 + timedelta(hours=1), late=False)
    figure = CHURN.compute(db, team, [W46])[W46.label]
    assert figure.fields["revisions"] == 1
    assert figure.fields["intents"] == 1


def test_churn_with_no_revision_is_a_real_zero(db: Database) -> None:
    team = _team(db)
    figure = CHURN.compute(db, team, [W46])[W46.label]
    assert figure.headline == 0
    assert figure.fields["revisions"] == 0


# --- checks verified at done ---------------------------------------------------------------


def test_checks_verified_share_of_intents_done_in_the_week(db: Database) -> None:
    _statuses(db)
    team = _team(db)
    all_verified = _intent(db, team, jira_key="PAY-1")
    _checks(db, all_verified, [True, True])
    _work_item(db, team, "PAY-1", [(IN_W45, "In Progress"), (IN_W46, "Done")])
    one_open = _intent(db, team, jira_key="PAY-2")
    _checks(db, one_open, [True, False])
    _work_item(db, team, "PAY-2", [(IN_W45, "In Progress"), (IN_W46, "Done")])
    no_checks = _intent(db, team, jira_key="PAY-3")
    _work_item(db, team, "PAY-3", [(IN_W46, "Done")])
    done_last_week = _intent(db, team, jira_key="PAY-4")
    _checks(db, done_last_week, [False])
    _work_item(db, team, "PAY-4", [(IN_W45, "Done")])
    # Done in W45, reopened and done again in W46: its last move to done is in W46.
    reopened = _intent(db, team, jira_key="PAY-5")
    _checks(db, reopened, [True])
    _work_item(
        db,
        team,
        "PAY-5",
        [(IN_W45, "Done"), (IN_W45 + timedelta(days=1), "In Progress"), (IN_W46, "Done")],
    )
    # No Jira history: the intent's own status set to done decides.
    slack_only = _intent(db, team, done_at=IN_W46, status="done")
    _checks(db, slack_only, [False])

    figures = CHECKS.compute(db, team, [W45, W46], explain=True)
    week = figures[W46.label]
    assert week.fields == {
        "value": pytest.approx(2 / 4),
        "verified": 2,
        "done": 4,
        "n": 4,
        "excluded": {"no_checks": 1},
    }
    assert {i.ref: i.value for i in week.items if i.counted} == {
        f"I-{all_verified} (PAY-1)": 1.0,
        f"I-{one_open} (PAY-2)": 0.0,
        f"I-{reopened} (PAY-5)": 1.0,
        f"I-{slack_only}": 0.0,
    }
    assert [(i.ref, i.reason) for i in week.items if not i.counted] == [
        (f"I-{no_checks} (PAY-3)", "no_checks")
    ]
    assert figures[W45.label].fields["done"] == 1
    assert figures[W45.label].headline == 0.0


def test_checks_verified_with_nothing_done_is_null(db: Database) -> None:
    team = _team(db)
    figure = CHECKS.compute(db, team, [W46])[W46.label]
    assert figure.headline is None
    assert figure.fields["done"] == 0
