"""Initial schema: teams, intents, decisions, outbox, delivery records, full-text indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Generated from the models, then frozen: later schema changes go in new revisions.
The full-text DDL is written out here (not imported) so this revision never changes.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import chatbot.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite: FTS5 tables kept in step by triggers. PostgreSQL: generated tsvector + GIN.
FULLTEXT_CREATE = {
    "sqlite": [
        "CREATE VIRTUAL TABLE IF NOT EXISTS decision_fts USING fts5(title, keywords, decision, why, alternatives, consequences, tokenize='porter unicode61 remove_diacritics 2')",
        "CREATE TRIGGER IF NOT EXISTS decision_fts_ai AFTER INSERT ON decision BEGIN INSERT INTO decision_fts(rowid, title, keywords, decision, why, alternatives, consequences) VALUES (new.id, coalesce(CAST(new.title AS TEXT), ''), coalesce(CAST(new.keywords AS TEXT), ''), coalesce(CAST(new.decision AS TEXT), ''), coalesce(CAST(new.why AS TEXT), ''), coalesce(CAST(new.alternatives AS TEXT), ''), coalesce(CAST(new.consequences AS TEXT), '')); END",
        "CREATE TRIGGER IF NOT EXISTS decision_fts_ad AFTER DELETE ON decision BEGIN DELETE FROM decision_fts WHERE rowid = old.id; END",
        "CREATE TRIGGER IF NOT EXISTS decision_fts_au AFTER UPDATE OF title, keywords, decision, why, alternatives, consequences ON decision BEGIN DELETE FROM decision_fts WHERE rowid = old.id; INSERT INTO decision_fts(rowid, title, keywords, decision, why, alternatives, consequences) VALUES (new.id, coalesce(CAST(new.title AS TEXT), ''), coalesce(CAST(new.keywords AS TEXT), ''), coalesce(CAST(new.decision AS TEXT), ''), coalesce(CAST(new.why AS TEXT), ''), coalesce(CAST(new.alternatives AS TEXT), ''), coalesce(CAST(new.consequences AS TEXT), '')); END",
        "CREATE VIRTUAL TABLE IF NOT EXISTS intent_fts USING fts5(title, outcome, why, constraints, out_of_scope, tokenize='porter unicode61 remove_diacritics 2')",
        "CREATE TRIGGER IF NOT EXISTS intent_fts_ai AFTER INSERT ON intent BEGIN INSERT INTO intent_fts(rowid, title, outcome, why, constraints, out_of_scope) VALUES (new.id, coalesce(CAST(new.title AS TEXT), ''), coalesce(CAST(new.outcome AS TEXT), ''), coalesce(CAST(new.why AS TEXT), ''), coalesce(CAST(new.constraints AS TEXT), ''), coalesce(CAST(new.out_of_scope AS TEXT), '')); END",
        "CREATE TRIGGER IF NOT EXISTS intent_fts_ad AFTER DELETE ON intent BEGIN DELETE FROM intent_fts WHERE rowid = old.id; END",
        "CREATE TRIGGER IF NOT EXISTS intent_fts_au AFTER UPDATE OF title, outcome, why, constraints, out_of_scope ON intent BEGIN DELETE FROM intent_fts WHERE rowid = old.id; INSERT INTO intent_fts(rowid, title, outcome, why, constraints, out_of_scope) VALUES (new.id, coalesce(CAST(new.title AS TEXT), ''), coalesce(CAST(new.outcome AS TEXT), ''), coalesce(CAST(new.why AS TEXT), ''), coalesce(CAST(new.constraints AS TEXT), ''), coalesce(CAST(new.out_of_scope AS TEXT), '')); END",
    ],
    "postgresql": [
        "ALTER TABLE decision ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', coalesce(title::text, '')), 'A') || setweight(to_tsvector('english', coalesce(keywords::text, '')), 'A') || setweight(to_tsvector('english', coalesce(decision::text, '')), 'B') || setweight(to_tsvector('english', coalesce(why::text, '')), 'C') || setweight(to_tsvector('english', coalesce(alternatives::text, '')), 'D') || setweight(to_tsvector('english', coalesce(consequences::text, '')), 'D')) STORED",
        "CREATE INDEX IF NOT EXISTS ix_decision_search ON decision USING GIN (search_vector)",
        "ALTER TABLE intent ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', coalesce(title::text, '')), 'A') || setweight(to_tsvector('english', coalesce(outcome::text, '')), 'B') || setweight(to_tsvector('english', coalesce(why::text, '')), 'C') || setweight(to_tsvector('english', coalesce(constraints::text, '')), 'D') || setweight(to_tsvector('english', coalesce(out_of_scope::text, '')), 'D')) STORED",
        "CREATE INDEX IF NOT EXISTS ix_intent_search ON intent USING GIN (search_vector)",
    ],
}
FULLTEXT_DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS decision_fts_ai",
        "DROP TRIGGER IF EXISTS decision_fts_ad",
        "DROP TRIGGER IF EXISTS decision_fts_au",
        "DROP TABLE IF EXISTS decision_fts",
        "DROP TRIGGER IF EXISTS intent_fts_ai",
        "DROP TRIGGER IF EXISTS intent_fts_ad",
        "DROP TRIGGER IF EXISTS intent_fts_au",
        "DROP TABLE IF EXISTS intent_fts",
    ],
    "postgresql": [
        "DROP INDEX IF EXISTS ix_decision_search",
        "ALTER TABLE IF EXISTS decision DROP COLUMN IF EXISTS search_vector",
        "DROP INDEX IF EXISTS ix_intent_search",
        "ALTER TABLE IF EXISTS intent DROP COLUMN IF EXISTS search_vector",
    ],
}


def _run(statements: dict[str, list[str]]) -> None:
    bind = op.get_bind()
    for statement in statements.get(bind.dialect.name, []):
        op.execute(sa.text(statement))


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("locked_until", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("locked_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("notify", sa.JSON(), nullable=True),
        sa.Column("notify_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("delay_told", sa.Boolean(), nullable=False),
        sa.Column("created_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("sent_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_message_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbox_message_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_message_status"), ["status"], unique=False)

    op.create_table(
        "processed_event",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("seen_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("jira_project", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("jira_jql", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("jira_issue_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("tz", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("digest_weekday", sa.Integer(), nullable=False),
        sa.Column("digest_time", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("wip_limit", sa.Integer(), nullable=False),
        sa.Column("orchestrators", sa.JSON(), nullable=False),
        sa.Column("senior_engineers", sa.JSON(), nullable=False),
        sa.Column("leaders", sa.JSON(), nullable=False),
        sa.Column("admins", sa.JSON(), nullable=False),
        sa.Column("baseline_week", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("repos", sa.JSON(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("decision_reaction", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("escape_rule", sa.JSON(), nullable=False),
        sa.Column("status_overrides", sa.JSON(), nullable=False),
        sa.Column("created_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_team_name"), ["name"], unique=True)

    op.create_table(
        "intent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("constraints", sa.JSON(), nullable=False),
        sa.Column("out_of_scope", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("jira_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("channel_is_private", sa.Boolean(), nullable=False),
        sa.Column("thread_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("card_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("started_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("done_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("intent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intent_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_intent_jira_key"), ["jira_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_intent_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_intent_team_id"), ["team_id"], unique=False)

    op.create_table(
        "acceptance_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intent_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("verified_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("verified_at", chatbot.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["intent_id"],
            ["intent.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("acceptance_check", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_acceptance_check_intent_id"), ["intent_id"], unique=False
        )

    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("alternatives", sa.Text(), nullable=False),
        sa.Column("consequences", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("superseded_by_id", sa.Integer(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("jira_keys", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("intent_id", sa.Integer(), nullable=True),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("logged_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("is_private", sa.Boolean(), nullable=False),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_channel", sa.String(length=32), nullable=True),
        sa.Column("source_ts", sa.String(length=32), nullable=True),
        sa.Column("card_channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("card_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["intent_id"],
            ["intent.id"],
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"],
            ["decision.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["decision.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_channel", "source_ts", name="uq_decision_source"),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(
            "ix_decision_channel_recent", ["channel_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_decision_intent_id"), ["intent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_status"), ["status"], unique=False)
        batch_op.create_index(
            "ix_decision_visible_recent", ["is_private", "created_at"], unique=False
        )

    op.create_table(
        "intent_conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intent_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("thread_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("asked_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("answered_ts", sa.JSON(), nullable=False),
        sa.Column("created_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["intent_id"],
            ["intent.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "thread_ts"),
    )
    with op.batch_alter_table("intent_conversation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intent_conversation_intent_id"), ["intent_id"], unique=False
        )

    op.create_table(
        "intent_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intent_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["intent_id"],
            ["intent.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("intent_id", "number"),
    )
    with op.batch_alter_table("intent_revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intent_revision_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_intent_revision_intent_id"), ["intent_id"], unique=False
        )

    op.create_table(
        "decision_jira_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("jira_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("project", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decision.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("decision_id", "jira_key"),
    )
    with op.batch_alter_table("decision_jira_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_jira_link_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_decision_jira_link_jira_key"), ["jira_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_decision_jira_link_project"), ["project"], unique=False
        )

    op.create_table(
        "decision_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", chatbot.db.types.UTCDateTime(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decision.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("decision_id", "number"),
    )
    with op.batch_alter_table("decision_revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_revision_decision_id"), ["decision_id"], unique=False
        )

    _run(FULLTEXT_CREATE)


def downgrade() -> None:
    _run(FULLTEXT_DROP)
    with op.batch_alter_table("decision_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_revision_decision_id"))

    op.drop_table("decision_revision")
    with op.batch_alter_table("decision_jira_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_jira_link_project"))
        batch_op.drop_index(batch_op.f("ix_decision_jira_link_jira_key"))
        batch_op.drop_index(batch_op.f("ix_decision_jira_link_decision_id"))

    op.drop_table("decision_jira_link")
    with op.batch_alter_table("intent_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intent_revision_intent_id"))
        batch_op.drop_index(batch_op.f("ix_intent_revision_created_at"))

    op.drop_table("intent_revision")
    with op.batch_alter_table("intent_conversation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intent_conversation_intent_id"))

    op.drop_table("intent_conversation")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_visible_recent")
        batch_op.drop_index(batch_op.f("ix_decision_status"))
        batch_op.drop_index(batch_op.f("ix_decision_intent_id"))
        batch_op.drop_index("ix_decision_channel_recent")

    op.drop_table("decision")
    with op.batch_alter_table("acceptance_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acceptance_check_intent_id"))

    op.drop_table("acceptance_check")
    with op.batch_alter_table("intent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intent_team_id"))
        batch_op.drop_index(batch_op.f("ix_intent_status"))
        batch_op.drop_index(batch_op.f("ix_intent_jira_key"))
        batch_op.drop_index(batch_op.f("ix_intent_channel_id"))

    op.drop_table("intent")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_name"))
        batch_op.drop_index(batch_op.f("ix_team_channel_id"))

    op.drop_table("team")
    op.drop_table("processed_event")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_status"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_kind"))

    op.drop_table("outbox_message")
