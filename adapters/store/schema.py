"""The store's tables as SQLAlchemy Core metadata: migrations create them, the store and report read them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()

# SQLite has no BIGINT autoincrement; INTEGER PRIMARY KEY is its rowid
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Naive UTC in the database (SQLite keeps no zone), aware UTC in Python."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


HASH = 64  # hex HMAC-SHA256

dedupe_keys = Table(
    "dedupe_keys",
    metadata,
    Column("key", String(HASH), primary_key=True),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

contexts = Table(
    "contexts",
    metadata,
    Column("conversation", String(HASH), primary_key=True),
    Column("topic", String(100), nullable=False),
    # the redacted question answered, so a later Not helpful vote can file it as unanswered
    Column("question", Text()),
    Column("updated_at", UTCDateTime(), nullable=False),
    # not indexed: every answer moves it, and the expiry that reads it scans only half an hour's rows
    Column("expires_at", UTCDateTime(), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("platform", String(16), nullable=False),
    Column("conversation_kind", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("via", String(8), nullable=False),
    Column("topic", String(100)),
    Column("confidence", Float(), nullable=False),
    Column("latency_ms", Float(), nullable=False),
    Column("user_hash", String(HASH), nullable=False),
    # not indexed: the report's one query by conversation finds its rows by time first
    Column("conversation_hash", String(HASH), nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("user_hash", String(HASH), nullable=False),
    Column("topic", String(100), nullable=False),
    Column("conversation_hash", String(HASH), nullable=False),
    Column("answer", String(HASH), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("helpful", Boolean(), nullable=False),
    UniqueConstraint("user_hash", "topic", "conversation_hash", "answer", name="uq_feedback_vote"),
)

unanswered = Table(
    "unanswered",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("conversation_hash", String(HASH), nullable=False),
    Column("topic", String(100)),
    Column("text", Text(), nullable=False),
)

# settings the database itself keeps: the user-hash key when USER_HASH_KEY is unset
meta = Table(
    "meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text(), nullable=False),
)
