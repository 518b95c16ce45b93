"""Two indexes go that every turn wrote and almost nothing read.

- contexts.expires_at: each answer moves a conversation's expiry, so each upsert rewrote the index (about a
  third of a context's write on SQLite; on PostgreSQL it ruled out HOT updates), while the expiry every ten
  minutes that read it scans a table of only the last half hour's conversations.
- events (conversation_hash, at): a random insert into a wide index for every event (on SQLite about 19 of
  24 µs a row), read only by the report's suggested phrasings, which find the same rows through the index
  on events.at within the report's period.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_contexts_expires_at", table_name="contexts")
    op.drop_index("ix_events_conversation_at", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_conversation_at", "events", ["conversation_hash", "at"])
    op.create_index("ix_contexts_expires_at", "contexts", ["expires_at"])
