"""The append-only event store on PostgreSQL.

Appends use optimistic concurrency per stream (expected version) and may touch several streams
in one transaction. Global positions are allocated under a transaction-scoped advisory lock, so
they are gapless and become visible in position order: a reader that has seen position N will
never later see a smaller one commit (the "gap trap" of sequences that commit out of order).
The lock is taken last, just before the insert, so it is held only for the insert and commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from uuid_utils import uuid7

from shared_kernel.envelope import Actor, EventEnvelope, versioned_type
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.schema import events

# Arbitrary but fixed: the advisory lock that serialises position allocation in one database.
POSITION_LOCK_KEY = 0x0BAC_0FF1CE


@dataclass(frozen=True)
class NewEvent:
    """An event about to be stored: its type (without version), schema version and JSON data."""

    event_type: str
    version: int
    data: dict[str, Any]


@dataclass(frozen=True)
class StreamAppend:
    """Events for one stream, expected to follow ``expected_version`` (0 for a new stream)."""

    stream_id: str
    stream_type: str
    expected_version: int
    events: Sequence[NewEvent]


@dataclass(frozen=True)
class EventMetadata:
    """Who and why, stamped on every event of one command."""

    actor: Actor
    correlation_id: str
    causation_id: str


def new_event_id() -> UUID:
    """Time-ordered (v7) UUIDs keep the event-id index append-friendly."""
    return UUID(bytes=uuid7().bytes)


class EventStore:
    """Reads and appends the events of one service (``source`` such as ``/ledger``)."""

    def __init__(self, source: str) -> None:
        self.source = source

    async def append(
        self,
        conn: AsyncConnection,
        appends: Sequence[StreamAppend],
        metadata: EventMetadata,
    ) -> list[EventEnvelope]:
        """Append in the caller's transaction (it commits); may raise ConcurrencyConflict."""
        appends = [a for a in appends if a.events]
        if not appends:
            return []
        await self._check_versions(conn, appends)
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(POSITION_LOCK_KEY)))
        head = (
            await conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0)))
        ).scalar_one()
        now = datetime.now(UTC)
        envelopes: list[EventEnvelope] = []
        position = int(head)
        for append in appends:
            for offset, new in enumerate(append.events, start=1):
                position += 1
                envelopes.append(
                    EventEnvelope(
                        id=new_event_id(),
                        source=self.source,
                        type=versioned_type(new.event_type, new.version),
                        subject=append.stream_id,
                        time=now,
                        data=new.data,
                        stream_type=append.stream_type,
                        stream_version=append.expected_version + offset,
                        position=position,
                        correlation_id=metadata.correlation_id,
                        causation_id=metadata.causation_id,
                        actor=metadata.actor,
                    )
                )
        try:
            await conn.execute(events.insert(), [_row(e) for e in envelopes])
        except IntegrityError as exc:
            if "events_stream_version_key" in str(exc.orig):
                raise ConcurrencyConflict(
                    "another command changed this record at the same time; reload and retry",
                    code="ConcurrentModification",
                ) from exc
            raise
        return envelopes

    async def _check_versions(self, conn: AsyncConnection, appends: Sequence[StreamAppend]) -> None:
        ids = [a.stream_id for a in appends]
        rows = await conn.execute(
            sa.select(events.c.stream_id, sa.func.max(events.c.stream_version))
            .where(events.c.stream_id.in_(ids))
            .group_by(events.c.stream_id)
        )
        current = {stream_id: int(version) for stream_id, version in rows}
        for append in appends:
            actual = current.get(append.stream_id, 0)
            if actual != append.expected_version:
                raise ConcurrencyConflict(
                    f"{append.stream_type} {append.stream_id} is at version {actual}, "
                    f"not {append.expected_version}; reload and retry",
                    code="VersionMismatch",
                )

    async def read_stream(self, conn: AsyncConnection, stream_id: str) -> list[EventEnvelope]:
        return (await self.read_streams(conn, [stream_id])).get(stream_id, [])

    async def read_streams(
        self, conn: AsyncConnection, stream_ids: Sequence[str]
    ) -> dict[str, list[EventEnvelope]]:
        rows = await conn.execute(
            sa.select(events)
            .where(events.c.stream_id.in_(list(stream_ids)))
            .order_by(events.c.stream_id, events.c.stream_version)
        )
        streams: dict[str, list[EventEnvelope]] = {}
        for row in rows.mappings():
            streams.setdefault(row["stream_id"], []).append(self._envelope(row))
        return streams

    async def read_after(
        self, conn: AsyncConnection, position: int, limit: int
    ) -> list[EventEnvelope]:
        rows = await conn.execute(
            sa.select(events)
            .where(events.c.position > position)
            .order_by(events.c.position)
            .limit(limit)
        )
        return [self._envelope(row) for row in rows.mappings()]

    async def stream_of(self, conn: AsyncConnection, position: int) -> str | None:
        row = await conn.execute(sa.select(events.c.stream_id).where(events.c.position == position))
        return row.scalar_one_or_none()

    async def head(self, conn: AsyncConnection) -> int:
        result = await conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0)))
        return int(result.scalar_one())

    def _envelope(self, row: Any) -> EventEnvelope:
        return EventEnvelope(
            id=row["event_id"],
            source=self.source,
            type=versioned_type(row["event_type"], row["event_version"]),
            subject=row["stream_id"],
            time=row["recorded_at"],
            data=row["data"],
            stream_type=row["stream_type"],
            stream_version=row["stream_version"],
            position=row["position"],
            correlation_id=row["correlation_id"],
            causation_id=row["causation_id"],
            actor=Actor(subject=row["actor"], office=row["actor_office"]),
        )


def _row(envelope: EventEnvelope) -> dict[str, Any]:
    return {
        "position": envelope.position,
        "event_id": envelope.id,
        "stream_id": envelope.subject,
        "stream_type": envelope.stream_type,
        "stream_version": envelope.stream_version,
        "event_type": envelope.event_type,
        "event_version": envelope.version,
        "data": envelope.data,
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "actor": envelope.actor.subject,
        "actor_office": envelope.actor.office,
        "recorded_at": envelope.time,
    }
