"""The first schema: dedupe keys, conversation context, events, feedback, unanswered questions, meta."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

HASH = 64
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dedupe_keys",
        sa.Column("key", sa.String(HASH), primary_key=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_dedupe_keys_expires_at", "dedupe_keys", ["expires_at"])
    op.create_table(
        "contexts",
        sa.Column("conversation", sa.String(HASH), primary_key=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("question", sa.Text()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_contexts_expires_at", "contexts", ["expires_at"])
    op.create_table(
        "events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("conversation_kind", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("via", sa.String(8), nullable=False),
        sa.Column("topic", sa.String(100)),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("user_hash", sa.String(HASH), nullable=False),
        sa.Column("conversation_hash", sa.String(HASH), nullable=False),
    )
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_events_conversation_at", "events", ["conversation_hash", "at"])
    op.create_table(
        "feedback",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_hash", sa.String(HASH), nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("conversation_hash", sa.String(HASH), nullable=False),
        sa.Column("answer", sa.String(HASH), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("user_hash", "topic", "conversation_hash", "answer", name="uq_feedback_vote"),
    )
    op.create_index("ix_feedback_at", "feedback", ["at"])
    op.create_table(
        "unanswered",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("conversation_hash", sa.String(HASH), nullable=False),
        sa.Column("topic", sa.String(100)),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_unanswered_at", "unanswered", ["at"])
    op.create_table(
        "meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("meta", "unanswered", "feedback", "events", "contexts", "dedupe_keys"):
        op.drop_table(table)
