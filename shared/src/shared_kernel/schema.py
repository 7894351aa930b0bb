"""The kernel's durable tables, present in every service database.

- ``events``: the append-only event store, which is also the transactional outbox: an event is
  published if and only if the transaction that stored it committed.
- ``events_position_seq``: where positions come from (they may have gaps and commit out of
  order; the relay publishes in order anyway, see ``relay_order``).
- ``outbox_cursor``: how far the relay has published.
- ``event_seals``: the global seal chain the relay writes in publication order (``sealing``).
- ``idempotency_keys``: first answers to creating commands, written in the command's transaction.
- ``inbox_messages``: the other services' events an inbox has handled (its own metadata).
- ``read_model_generations``: which generation (schema) of each projection's read model is live.

Each service's first Alembic migration calls :func:`upgrade` so that the DDL lives only here;
later revisions call :func:`upgrade_concurrent_commits` and :func:`upgrade_trace_context`
(idempotent: a database created by the new :func:`upgrade` already has what they add).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.types import UserDefinedType


class XID8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (``xid8``), as written by ``pg_current_xact_id()``."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


metadata = sa.MetaData()

# Positions are drawn from a sequence, not max(position) + 1 under a lock: commits no longer
# wait for each other (PostgreSQL can group them into one fsync).
events_position_seq = sa.Sequence("events_position_seq", metadata=metadata)

events = sa.Table(
    "events",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("stream_id", sa.Text, nullable=False),
    sa.Column("stream_type", sa.Text, nullable=False),
    sa.Column("stream_version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("event_version", sa.Integer, nullable=False),
    sa.Column("data", JSONB, nullable=False),
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.Column("causation_id", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("actor_office", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    # sha256 chaining this event to its stream's previous one (see eventstore.chain_hash).
    sa.Column("hash", sa.Text, nullable=False),
    # The writing transaction's id (for diagnosing gaps: which transaction held a position).
    sa.Column("tx", XID8, nullable=False, server_default=sa.text("pg_current_xact_id()")),
    # The W3C trace context of the span that stored the event (``tracing``), carried to the
    # CloudEvent; operational, not business data: outside the hash chains. NULL when untraced.
    sa.Column("traceparent", sa.Text, nullable=True),
    sa.Column("tracestate", sa.Text, nullable=True),
    sa.UniqueConstraint("stream_id", "stream_version", name="events_stream_version_key"),
)

outbox_cursor = sa.Table(
    "outbox_cursor",
    metadata,
    sa.Column("relay", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

# seal_i = sha256(seal_(i-1) + hash_i) over published events in position order; the first row
# is the boundary: the last position (and hash) of the global chain an older database had.
event_seals = sa.Table(
    "event_seals",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("seal", sa.Text, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("owner", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("result", JSONB, nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

# Kept apart from ``metadata`` so that services without an inbox keep their schema: a service
# with an inbox creates the table in its own migration (``shared_kernel.inbox.create_table``).
inbox_metadata = sa.MetaData()

# Positions are drawn from a sequence, not max(position) + 1 under a lock: commits no longer
# wait for each other (PostgreSQL can group them into one fsync).
events_position_seq = sa.Sequence("events_position_seq", metadata=metadata)

inbox_messages = sa.Table(
    "inbox_messages",
    inbox_metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

read_model_generations = sa.Table(
    "read_model_generations",
    metadata,
    sa.Column("projection", sa.Text, primary_key=True),
    sa.Column("active", sa.Integer, nullable=False),
    sa.Column(
        "switched_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

# The database itself refuses to change history: no UPDATE, DELETE or TRUNCATE of events.
IMMUTABILITY_DDL = (
    """
    CREATE OR REPLACE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'events are immutable: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$;
    """,
    """
    CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION events_are_immutable();
    """,
    """
    CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();
    """,
)


def upgrade(op: Any) -> None:
    """Create the kernel tables inside an Alembic migration (``op`` is ``alembic.op``)."""
    bind = op.get_bind()
    metadata.create_all(bind)
    for statement in IMMUTABILITY_DDL:
        op.execute(statement)


# For databases made before concurrent commits: the sequence continues after the newest
# position, ``tx`` is added, and the first seal records where the old global chain ends (its
# last position and hash) so that ``verify_chain`` checks older events by the old rule.
CONCURRENT_COMMITS_DDL = (
    "CREATE SEQUENCE IF NOT EXISTS events_position_seq",
    """
    SELECT setval('events_position_seq', (SELECT max(position) FROM events))
    WHERE (SELECT max(position) FROM events) >
        (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_position_seq)
    """,
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS tx xid8 NOT NULL DEFAULT pg_current_xact_id()",
    "CREATE TABLE IF NOT EXISTS event_seals (position bigint PRIMARY KEY, seal text NOT NULL)",
    """
    INSERT INTO event_seals (position, seal)
    SELECT boundary.position, boundary.seal
    FROM (
        SELECT coalesce(max(position), 0) AS position,
            coalesce((SELECT hash FROM events ORDER BY position DESC LIMIT 1), repeat('0', 64))
                AS seal
        FROM events
    ) AS boundary
    WHERE NOT EXISTS (SELECT FROM event_seals)
    """,
)


def upgrade_concurrent_commits(op: Any) -> None:
    """Bring an existing event store to concurrent commits (an Alembic revision calls this)."""
    for statement in CONCURRENT_COMMITS_DDL:
        op.execute(statement)


def downgrade_concurrent_commits(op: Any) -> None:
    op.execute("DROP TABLE IF EXISTS event_seals")
    op.execute("ALTER TABLE events DROP COLUMN IF EXISTS tx")
    op.execute("DROP SEQUENCE IF EXISTS events_position_seq")


# For databases made before traces: the trace context columns (nullable: older events, and
# every event stored while traces are off, have none; ADD COLUMN fires no row trigger).
TRACE_CONTEXT_DDL = (
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS traceparent text",
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS tracestate text",
)


def upgrade_trace_context(op: Any) -> None:
    """Give an existing event store the trace context columns (an Alembic revision calls this)."""
    for statement in TRACE_CONTEXT_DDL:
        op.execute(statement)


def downgrade_trace_context(op: Any) -> None:
    op.execute("ALTER TABLE events DROP COLUMN IF EXISTS tracestate")
    op.execute("ALTER TABLE events DROP COLUMN IF EXISTS traceparent")


def downgrade(op: Any) -> None:
    bind = op.get_bind()
    op.execute("DROP TRIGGER IF EXISTS events_no_truncate ON events")
    op.execute("DROP TRIGGER IF EXISTS events_no_update_delete ON events")
    metadata.drop_all(bind)
    op.execute("DROP FUNCTION IF EXISTS events_are_immutable()")
