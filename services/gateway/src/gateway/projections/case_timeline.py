"""The case timeline: one row per event of every service, found by its case (correlation id).

Why in the gateway: the gateway is the one component that sees every service and decides who
sees what, so the timeline is a read model of the edge. No service knows the others' events
(each reads only the few types its processes need), and a timeline in one of them would make it
the reader of all; the gateway already answers every caller and knows their office.

It reads ``<ns><service>.events`` of every service the gateway fronts and its own, with the
kernel's projection machinery (Kafka offsets checkpointed with the rows, event ids claimed once
per generation, rebuilt beside the live generation and switched to). A row is a pure function
of its event, keyed by the event id, so a replay from offset zero changes nothing and a rebuild
gives the same rows. A batch's rows are written in one ``executemany`` of ``INSERT ... ON
CONFLICT DO NOTHING``, which SQLAlchemy sends as multi-row INSERTs of one cached statement
(five times the rate of building a VALUES list per batch: about 5,000 to 11,000 events a
second in a rebuild on this two-core machine under load, against 2,000).

Cost: it holds a row for every event of the office (about 330 bytes with its index entry by
case), plus the kernel's applied-event id per event (about 90 bytes), so it grows with the
union of every service's event store; a rebuild reads every topic from offset zero (a million
events: a few minutes). It is a read model, not a record: the topics remain the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from shared_kernel.codec import EventCodec
from shared_kernel.envelope import EventEnvelope
from shared_kernel.projections import Projection
from shared_kernel.readmodel import READ_MODEL_SCHEMA
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.case_events import CASE_EVENTS
from gateway.domain.case_summaries import summarize

metadata = sa.MetaData(schema=READ_MODEL_SCHEMA)

case_events = sa.Table(
    "case_events",
    metadata,
    sa.Column("event_id", PG_UUID(as_uuid=True), primary_key=True),
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.Column("causation_id", sa.Text, nullable=False),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("stream_type", sa.Text, nullable=False),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("actor_subject", sa.Text, nullable=False),
    sa.Column("actor_office", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    # A detail of the back office's work, not shown to whoever sees only its own cases.
    sa.Column("internal", sa.Boolean, nullable=False),
    # The timeline's order: time, then the service's own order (see app/cases.py).
    sa.Index("ix_case_events_case", "correlation_id", "time", "service", "position", "event_id"),
)

#: Longest kept value of the envelope's texts: ids, names and types are short; a longer one
#: comes from a foreign producer and must not make its row fail (an index entry has a limit).
MAX_TEXT = 200
BIGINT = 2**63 - 1


class CaseTimeline(Projection):
    """Every event of the given topics as a row of its case."""

    # Summaries are stored: a change of a summary or of the rows bumps the version, and the
    # new name is built from offset zero (as any read model whose tables change).
    name = "case_timeline_v1"
    metadata = metadata

    def __init__(self, topics: Sequence[str], codec: EventCodec | None = None) -> None:
        self.topics = tuple(topics)
        self.codec = codec or EventCodec(CASE_EVENTS)

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        rows = [self.row(envelope) for envelope in events]
        if rows:
            await conn.execute(
                pg_insert(case_events).on_conflict_do_nothing(index_elements=["event_id"]), rows
            )

    def row(self, envelope: EventEnvelope) -> dict[str, Any]:
        """The timeline's row of one event: a pure function of the event."""
        try:
            recorded = self.codec.read(envelope)
            event = recorded.event if recorded is not None else None
        except Exception:  # data that does not fit the timeline's class: the generic summary
            event = None
        summary = summarize(event, envelope.event_type, envelope.stream_type, envelope.subject)
        return {
            "event_id": envelope.id,
            "correlation_id": _text(envelope.correlation_id),
            "causation_id": _text(envelope.causation_id),
            "service": _text(envelope.source.lstrip("/")) or "unknown",
            "event_type": _text(envelope.event_type),
            "subject": _text(envelope.subject),
            "stream_type": _text(envelope.stream_type),
            "time": envelope.time,
            "position": max(-BIGINT, min(envelope.position, BIGINT)),
            "actor_subject": _text(envelope.actor.subject),
            "actor_office": _text(envelope.actor.office),
            "summary": summary.text,
            "internal": summary.internal,
        }


def _text(value: str) -> str:
    """PostgreSQL text holds no NUL character; an over-long value is cut."""
    return value.replace("\x00", "")[:MAX_TEXT]
