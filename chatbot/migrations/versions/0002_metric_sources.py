"""Metric sources (Jira history, GitHub, deployments), digests, check-ins, job claims.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import chatbot.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "branch_commit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("branch", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("sha", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repo", "branch", "sha"),
    )
    with op.batch_alter_table("branch_commit", schema=None) as batch_op:
        batch_op.create_index("ix_branch_commit_sha", ["repo", "sha"], unique=False)

    op.create_table(
        "deployment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("service", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("repo", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("environment", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("deployed_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("rollback_of", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("hotfix_of", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("first_seen_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id"),
    )
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.create_index("ix_deployment_hotfix_of", ["source", "hotfix_of"], unique=False)
        batch_op.create_index("ix_deployment_repo_at", ["repo", "deployed_at"], unique=False)
        batch_op.create_index("ix_deployment_rollback_of", ["source", "rollback_of"], unique=False)
        batch_op.create_index("ix_deployment_service_at", ["service", "deployed_at"], unique=False)

    op.create_table(
        "git_commit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sha", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("authored_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("author_login", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repo", "sha"),
    )
    op.create_table(
        "jira_status",
        sa.Column("status_id", sa.String(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("updated_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("status_id"),
    )
    with op.batch_alter_table("jira_status", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jira_status_name"), ["name"], unique=False)

    op.create_table(
        "job_lease",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("locked_until", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_run_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("job"),
    )
    op.create_table(
        "job_run",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("job", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("claimed_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("finished_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_run_job"), ["job"], unique=False)

    op.create_table(
        "pull_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("github_id", sa.BigInteger(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("head_branch", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("base_branch", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("head_sha", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("merge_commit_sha", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("author_login", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("author_is_bot", sa.Boolean(), nullable=False),
        sa.Column("opened_as_draft", sa.Boolean(), nullable=False),
        sa.Column("draft", sa.Boolean(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("merged_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("closed_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("updated_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repo", "number"),
    )
    with op.batch_alter_table("pull_request", schema=None) as batch_op:
        batch_op.create_index("ix_pull_request_head_sha", ["head_sha"], unique=False)
        batch_op.create_index("ix_pull_request_merge_sha", ["merge_commit_sha"], unique=False)
        batch_op.create_index("ix_pull_request_repo_merged", ["repo", "merged_at"], unique=False)

    op.create_table(
        "pull_request_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repo", "number", "kind", "at"),
    )
    with op.batch_alter_table("pull_request_event", schema=None) as batch_op:
        batch_op.create_index("ix_pull_request_event_pr", ["repo", "number", "at"], unique=False)

    op.create_table(
        "pull_request_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("jira_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repo", "number", "jira_key"),
    )
    with op.batch_alter_table("pull_request_key", schema=None) as batch_op:
        batch_op.create_index("ix_pull_request_key_key", ["jira_key"], unique=False)

    op.create_table(
        "pull_request_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.BigInteger(), nullable=False),
        sa.Column("repo", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reviewer_login", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("reviewer_is_bot", sa.Boolean(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("submitted_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("dismissed_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id"),
    )
    with op.batch_alter_table("pull_request_review", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pull_request_review_pr", ["repo", "number", "submitted_at"], unique=False
        )

    op.create_table(
        "repo_delivery",
        sa.Column("repo", sa.String(length=200), nullable=False),
        sa.Column("last_delivery_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("last_event", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("repo"),
    )
    op.create_table(
        "sync_state",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("watermark", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("updated_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "check_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("orchestration_share", sa.Float(), nullable=True),
        sa.Column("interrupt_share", sa.Float(), nullable=True),
        sa.Column("answered_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "user_id", "week"),
    )
    op.create_table(
        "deployment_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deployment_id", "kind", "value"),
    )
    with op.batch_alter_table("deployment_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deployment_change_deployment_id"), ["deployment_id"], unique=False
        )
        batch_op.create_index("ix_deployment_change_value", ["kind", "value"], unique=False)

    op.create_table(
        "digest_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("posted_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("digest", sa.JSON(), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("posted_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("digest_post", schema=None) as batch_op:
        batch_op.create_index("ix_digest_post_team_week", ["team_id", "week"], unique=False)

    op.create_table(
        "work_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("jira_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("project_key", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("issue_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("assignee_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("assignee_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("escaped", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("synced_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "key"),
    )
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.create_index("ix_work_item_team_jira_id", ["team_id", "jira_id"], unique=False)
        batch_op.create_index(
            "ix_work_item_team_type_created", ["team_id", "issue_type", "created_at"], unique=False
        )
        batch_op.create_index("ix_work_item_team_status", ["team_id", "status"], unique=False)
        batch_op.create_index("ix_work_item_team_created", ["team_id", "created_at"], unique=False)

    op.create_table(
        "work_item_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("work_item_id", sa.Integer(), nullable=False),
        sa.Column("history_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("from_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("from_value", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("to_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("to_value", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_item_id"],
            ["work_item.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("work_item_id", "history_id", "field"),
    )
    with op.batch_alter_table("work_item_change", schema=None) as batch_op:
        batch_op.create_index(
            "ix_work_item_change_item_field_at", ["work_item_id", "field", "at"], unique=False
        )
        batch_op.create_index(
            "ix_work_item_change_team_field_at", ["team_id", "field", "at"], unique=False
        )

    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "production_envs",
                sa.JSON(),
                nullable=False,
                server_default='["production", "prod"]',
            )
        )
        batch_op.add_column(sa.Column("members", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("bots", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("checkin_weekday", sa.Integer(), nullable=False, server_default="4")
        )
        batch_op.add_column(
            sa.Column(
                "checkin_time",
                sqlmodel.sql.sqltypes.AutoString(length=5),
                nullable=False,
                server_default="15:00",
            )
        )
        batch_op.add_column(
            sa.Column(
                "baseline_week_chosen", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("baseline_week_chosen")
        batch_op.drop_column("checkin_time")
        batch_op.drop_column("checkin_weekday")
        batch_op.drop_column("bots")
        batch_op.drop_column("members")
        batch_op.drop_column("production_envs")

    with op.batch_alter_table("work_item_change", schema=None) as batch_op:
        batch_op.drop_index("ix_work_item_change_team_field_at")
        batch_op.drop_index("ix_work_item_change_item_field_at")

    op.drop_table("work_item_change")
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index("ix_work_item_team_created")
        batch_op.drop_index("ix_work_item_team_status")
        batch_op.drop_index("ix_work_item_team_type_created")
        batch_op.drop_index("ix_work_item_team_jira_id")

    op.drop_table("work_item")
    with op.batch_alter_table("digest_post", schema=None) as batch_op:
        batch_op.drop_index("ix_digest_post_team_week")

    op.drop_table("digest_post")
    with op.batch_alter_table("deployment_change", schema=None) as batch_op:
        batch_op.drop_index("ix_deployment_change_value")
        batch_op.drop_index(batch_op.f("ix_deployment_change_deployment_id"))

    op.drop_table("deployment_change")
    op.drop_table("check_in")
    op.drop_table("sync_state")
    op.drop_table("repo_delivery")
    with op.batch_alter_table("pull_request_review", schema=None) as batch_op:
        batch_op.drop_index("ix_pull_request_review_pr")

    op.drop_table("pull_request_review")
    with op.batch_alter_table("pull_request_key", schema=None) as batch_op:
        batch_op.drop_index("ix_pull_request_key_key")

    op.drop_table("pull_request_key")
    with op.batch_alter_table("pull_request_event", schema=None) as batch_op:
        batch_op.drop_index("ix_pull_request_event_pr")

    op.drop_table("pull_request_event")
    with op.batch_alter_table("pull_request", schema=None) as batch_op:
        batch_op.drop_index("ix_pull_request_repo_merged")
        batch_op.drop_index("ix_pull_request_merge_sha")
        batch_op.drop_index("ix_pull_request_head_sha")

    op.drop_table("pull_request")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_run_job"))

    op.drop_table("job_run")
    op.drop_table("job_lease")
    with op.batch_alter_table("jira_status", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jira_status_name"))

    op.drop_table("jira_status")
    op.drop_table("git_commit")
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.drop_index("ix_deployment_service_at")
        batch_op.drop_index("ix_deployment_rollback_of")
        batch_op.drop_index("ix_deployment_repo_at")
        batch_op.drop_index("ix_deployment_hotfix_of")

    op.drop_table("deployment")
    with op.batch_alter_table("branch_commit", schema=None) as batch_op:
        batch_op.drop_index("ix_branch_commit_sha")

    op.drop_table("branch_commit")
