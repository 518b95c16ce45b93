"""Contexts lose their index on expires_at: each answer moves a conversation's expiry, so the index was
rewritten on every turn (on SQLite about a third of a context's write; on PostgreSQL it ruled out HOT
updates), while the one query it served, the expiry every ten minutes, scans a table of only the last
half hour's conversations."""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_contexts_expires_at", table_name="contexts")


def downgrade() -> None:
    op.create_index("ix_contexts_expires_at", "contexts", ["expires_at"])
