"""The kernel's durable tables, present in every service database.

- ``events``: the append-only event store, which is also the transactional outbox: an event is
  published if and only if the transaction that stored it committed.
- ``outbox_cursor``: how far the relay has published.
- ``idempotency_keys``: first answers to creating commands, written in the command's transaction.
- ``inbox_messages``: the other services' events an inbox has handled (its own metadata).
- ``read_model_generations``: which generation (schema) of each projection's read model is live.

Each service's first Alembic migration calls :func:`upgrade` so that the DDL lives only here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = sa.MetaData()

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
    # sha256 chaining this event to the previous one (see eventstore.chain_hash).
    sa.Column("hash", sa.Text, nullable=False),
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


def downgrade(op: Any) -> None:
    bind = op.get_bind()
    op.execute("DROP TRIGGER IF EXISTS events_no_truncate ON events")
    op.execute("DROP TRIGGER IF EXISTS events_no_update_delete ON events")
    metadata.drop_all(bind)
    op.execute("DROP FUNCTION IF EXISTS events_are_immutable()")
