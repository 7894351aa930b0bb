"""The append-only event store: its port (``EventStore``) and its PostgreSQL backend.

The port is what the kernel and the services rely on; ``PostgresEventStore`` is the production
backend and ``shared_kernel.memory.InMemoryEventStore`` the one for fast unit tests. Both obey
one contract (``shared/tests/contract``). Every method takes the backend's transaction handle
(``Conn``: an ``AsyncConnection`` for PostgreSQL), so that reads and appends join the caller's
transaction.

On PostgreSQL, appends use optimistic concurrency per stream (expected version) and may touch
several streams in one transaction. Global positions are allocated under a transaction-scoped
advisory lock, so they are gapless and become visible in position order: a reader that has seen
position N will never later see a smaller one commit (the "gap trap" of sequences that commit
out of order). The lock is taken last, just before the insert, so it is held only for the insert
and commit. Under the same lock each event's hash chains to its predecessor's (tamper evidence
for every service's history: ``verify_chain`` names the first event changed behind the system's
back).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from typing_extensions import TypeVar
from uuid_utils import uuid7

from shared_kernel.domain import Cause
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
    # The business case and cause of this event when not the command's own (``caused_by``).
    cause: Cause | None = None


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


@dataclass(frozen=True)
class ChainReport:
    """The result of a verification run: how many events matched, and the first that did not."""

    checked: int
    broken_at: EventEnvelope | None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


GENESIS_HASH = "0" * 64


def chain_hash(previous_hash: str, envelope: EventEnvelope) -> str:
    """sha256 over the previous hash and the event in a canonical form (sorted-key JSON of
    everything that makes the event: position, ids, stream, type, data, who, when)."""
    canonical = json.dumps(
        {
            "position": envelope.position,
            "id": str(envelope.id),
            "stream": envelope.subject,
            "stream_type": envelope.stream_type,
            "stream_version": envelope.stream_version,
            "type": envelope.type,
            "data": envelope.data,
            "correlation": envelope.correlation_id,
            "causation": envelope.causation_id,
            "actor": envelope.actor.subject,
            "office": envelope.actor.office,
            "time": envelope.time.astimezone(UTC).isoformat(),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()


_CURRENT_VERSIONS = sa.text(
    "SELECT s.id, (SELECT max(e.stream_version) FROM events e WHERE e.stream_id = s.id)"
    " FROM unnest(CAST(:ids AS text[])) AS s(id)"
)


def new_event_id() -> UUID:
    """Time-ordered (v7) UUIDs keep the event-id index append-friendly."""
    return UUID(bytes=uuid7().bytes)


# The backend's transaction handle; ``EventStore`` alone (in a type hint) means any backend.
Conn = TypeVar("Conn", default=Any)


def chain_events(
    source: str,
    appends: Sequence[StreamAppend],
    metadata: EventMetadata,
    after_position: int,
    previous_hash: str,
) -> list[tuple[EventEnvelope, str]]:
    """The envelopes of new events following ``after_position``, each with its chained hash
    (the same for every backend, so that each can be verified the same way)."""
    now = datetime.now(UTC)
    position, chained = after_position, []
    for append in appends:
        for offset, new in enumerate(append.events, start=1):
            position += 1
            envelope = EventEnvelope(
                id=new_event_id(),
                source=source,
                type=versioned_type(new.event_type, new.version),
                subject=append.stream_id,
                time=now,
                data=new.data,
                stream_type=append.stream_type,
                stream_version=append.expected_version + offset,
                position=position,
                correlation_id=new.cause.correlation_id if new.cause else metadata.correlation_id,
                causation_id=new.cause.causation_id if new.cause else metadata.causation_id,
                actor=metadata.actor,
            )
            previous_hash = chain_hash(previous_hash, envelope)
            chained.append((envelope, previous_hash))
    return chained


def version_mismatch(append: StreamAppend, actual: int) -> ConcurrencyConflict:
    """The conflict of a stream found at ``actual`` instead of its expected version."""
    return ConcurrencyConflict(
        f"{append.stream_type} {append.stream_id} is at version {actual}, "
        f"not {append.expected_version}; reload and retry",
        code="VersionMismatch",
    )


class EventStore(ABC, Generic[Conn]):
    """The port: reads and appends the events of one service (``source`` such as ``/ledger``).

    Positions are global, gapless and visible in order; stream versions count from 1; every
    event's hash chains to its predecessor's. ``append`` raises ``ConcurrencyConflict`` unless
    each stream is at its expected version, including the streams of guards (appends with no
    events), and appends everything or nothing."""

    source: str

    @abstractmethod
    async def append(
        self, conn: Conn, appends: Sequence[StreamAppend], metadata: EventMetadata
    ) -> list[EventEnvelope]:
        """Append in the caller's transaction (it commits); may raise ConcurrencyConflict."""

    @abstractmethod
    async def check_versions(self, conn: Conn, appends: Sequence[StreamAppend]) -> None:
        """Raise ConcurrencyConflict unless every stream is at its expected version."""

    @abstractmethod
    async def read_streams(
        self, conn: Conn, stream_ids: Sequence[str]
    ) -> dict[str, list[EventEnvelope]]:
        """The events of each given stream that has any, in stream-version order."""

    async def read_stream(self, conn: Conn, stream_id: str) -> list[EventEnvelope]:
        """The events of one stream in version order (empty for a new stream)."""
        return (await self.read_streams(conn, [stream_id])).get(stream_id, [])

    @abstractmethod
    async def read_last(self, conn: Conn, stream_id: str) -> EventEnvelope | None:
        """The newest event of a stream (its ``stream_version`` is the stream's version)."""

    @abstractmethod
    async def stream_ids(
        self, conn: Conn, stream_type: str, *, after: str | None, limit: int
    ) -> list[str]:
        """Up to ``limit`` ids of the streams of ``stream_type``, in id order, after ``after``."""

    @abstractmethod
    async def read_after(self, conn: Conn, position: int, limit: int) -> list[EventEnvelope]:
        """Up to ``limit`` events after ``position``, in position order."""

    @abstractmethod
    async def read_after_raw(
        self, conn: Conn, position: int, limit: int
    ) -> list[tuple[EventEnvelope, str]]:
        """Like ``read_after`` but with ``data`` as JSON text (for the relay)."""

    @abstractmethod
    async def head(self, conn: Conn) -> int:
        """The position of the newest event (0 when there is none)."""

    @abstractmethod
    async def verify_chain(self, conn: Conn, *, batch: int = 10_000) -> ChainReport:
        """Recompute the hash chain in position order; name the first event that breaks it."""


class PostgresEventStore(EventStore[AsyncConnection]):
    """The event store in a service's PostgreSQL database (the ``events`` table)."""

    def __init__(self, source: str) -> None:
        self.source = source

    async def append(
        self,
        conn: AsyncConnection,
        appends: Sequence[StreamAppend],
        metadata: EventMetadata,
    ) -> list[EventEnvelope]:
        """Append in the caller's transaction (it commits); may raise ConcurrencyConflict.

        An append with no events is a guard: its stream must still be at its expected version
        (a command that read it to decide, e.g. "the period is open", fails if it moved)."""
        if not any(a.events for a in appends):
            # Only guards: nothing to write, so no position lock; the versions still count.
            await self.check_versions(conn, appends)
            return []
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(POSITION_LOCK_KEY)))
        # Checked under the lock, where no other append can interleave: exact, not optimistic.
        await self.check_versions(conn, appends)
        last = (
            await conn.execute(
                sa.select(events.c.position, events.c.hash)
                .order_by(events.c.position.desc())
                .limit(1)
            )
        ).first()
        position, previous_hash = (
            (int(last.position), str(last.hash)) if last else (0, GENESIS_HASH)
        )
        chained = chain_events(self.source, appends, metadata, position, previous_hash)
        rows = [{**_row(envelope), "hash": hash_} for envelope, hash_ in chained]
        try:
            await conn.execute(events.insert(), rows)
        except IntegrityError as exc:
            if "events_stream_version_key" in str(exc.orig):
                raise ConcurrencyConflict(
                    "another command changed this record at the same time; reload and retry",
                    code="ConcurrentModification",
                ) from exc
            raise
        return [envelope for envelope, _ in chained]

    async def verify_chain(self, conn: AsyncConnection, *, batch: int = 10_000) -> ChainReport:
        """Recompute the hash chain over every stored event, in position order, and name the
        first event whose stored hash does not match (changed, inserted or deleted behind the
        system's back)."""
        previous_hash, after, checked = GENESIS_HASH, 0, 0
        while True:
            rows = (
                (
                    await conn.execute(
                        sa.select(events)
                        .where(events.c.position > after)
                        .order_by(events.c.position)
                        .limit(batch)
                    )
                )
                .mappings()
                .all()
            )
            if not rows:
                return ChainReport(checked=checked, broken_at=None)
            for row in rows:
                envelope = self._envelope(row)
                expected = chain_hash(previous_hash, envelope)
                if row["hash"] != expected or row["position"] != after + 1:
                    return ChainReport(checked=checked, broken_at=envelope)
                previous_hash, after, checked = expected, row["position"], checked + 1

    async def check_versions(self, conn: AsyncConnection, appends: Sequence[StreamAppend]) -> None:
        """Raise ConcurrencyConflict unless every stream is at its expected version."""
        # One index probe per stream (the newest version, read backwards from the unique
        # (stream_id, stream_version) index), not a walk over each stream's whole history.
        rows = await conn.execute(_CURRENT_VERSIONS, {"ids": list({a.stream_id for a in appends})})
        current = {stream_id: int(version) for stream_id, version in rows if version is not None}
        for append in appends:
            actual = current.get(append.stream_id, 0)
            if actual != append.expected_version:
                raise version_mismatch(append, actual)

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

    async def read_last(self, conn: AsyncConnection, stream_id: str) -> EventEnvelope | None:
        row = (
            (
                await conn.execute(
                    sa.select(events)
                    .where(events.c.stream_id == stream_id)
                    .order_by(events.c.stream_version.desc())
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else self._envelope(row)

    async def stream_ids(
        self, conn: AsyncConnection, stream_type: str, *, after: str | None, limit: int
    ) -> list[str]:
        # Each stream has exactly one event at version 1: one row per stream, by the index.
        query = (
            sa.select(events.c.stream_id)
            .where(events.c.stream_type == stream_type, events.c.stream_version == 1)
            .order_by(events.c.stream_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(events.c.stream_id > after)
        return [str(stream_id) for stream_id in (await conn.execute(query)).scalars()]

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

    async def read_after_raw(
        self, conn: AsyncConnection, position: int, limit: int
    ) -> list[tuple[EventEnvelope, str]]:
        """Like ``read_after`` but with ``data`` left as the stored JSON text (for the relay)."""
        columns = [c for c in events.c if c.name != "data"]
        rows = await conn.execute(
            sa.select(*columns, sa.cast(events.c.data, sa.Text).label("data_json"))
            .where(events.c.position > position)
            .order_by(events.c.position)
            .limit(limit)
        )
        return [(self._envelope({**row, "data": {}}), row["data_json"]) for row in rows.mappings()]

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
