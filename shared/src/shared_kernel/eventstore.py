"""The append-only event store: its port (``EventStore``) and its PostgreSQL backend.

The port is what the kernel and the services rely on; ``PostgresEventStore`` is the production
backend and ``shared_kernel.memory.InMemoryEventStore`` the one for fast unit tests. Both obey
one contract (``shared/tests/contract``). Every method takes the backend's transaction handle
(``Conn``: an ``AsyncConnection`` for PostgreSQL), so that reads and appends join the caller's
transaction.

On PostgreSQL, appends use optimistic concurrency per stream (expected version) and may touch
several streams in one transaction. Commits do not wait for each other, so that PostgreSQL can
group concurrent commits into one fsync:

- Positions come from a sequence: unique and increasing, but with gaps (an aborted transaction
  leaves its positions unused) and committing out of order. The outbox relay still publishes in
  position order and never skips a committed event (``relay_order``): each append takes its
  transaction id *before* its positions, which is what the relay's gap rule relies on.
- Versions are checked exactly, under transaction advisory locks per stream (exclusive for the
  streams appended to, shared for guards): commands on different streams do not wait for each
  other. The unique (stream_id, stream_version) index stays the last line of defence.
- Every append holds the position lock *shared* until commit, so ``UnitOfWork.hold_appends``
  (the same lock, exclusive) waits for every append in flight and holds back new ones.
- Lock order, which keeps all of this deadlock-free: a command's own ``uow.lock`` scopes (two-key
  space) first, then the position lock, then the stream locks (one-key space, in key order, in
  one statement). Nothing takes a lock of an earlier kind after a later one.
- Each event's hash chains to its stream's previous event's hash (tamper evidence per stream);
  the relay chains published events into a global seal (``sealing``). ``verify_chain`` checks
  both and names the first event changed, inserted or deleted behind the system's back.
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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from typing_extensions import TypeVar
from uuid_utils import uuid7

from shared_kernel.bulk_rows import copy_rows
from shared_kernel.domain import Cause
from shared_kernel.envelope import Actor, EventEnvelope, versioned_type
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.schema import events

# Arbitrary but fixed: the advisory lock every append holds shared and ``hold_appends`` exclusive.
POSITION_LOCK_KEY = 0x0BAC_0FF1CE

# From this many events in one append, the rows go in by COPY (a bulk posting); below it, the
# COPY's own round trips cost more than the INSERT they save.
COPY_FROM_ROWS = 100


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
    # The trace context of the span current at the append (``tracing.current_trace``): stored
    # with the events, outside the hash chains; "" when traces are off.
    traceparent: str = ""
    tracestate: str = ""


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


# The transaction id is taken first: the relay's gap rule needs every writer to hold its id
# before it draws a position. Then the locks, in one statement, in one global order (the
# position lock first, then the streams by key): ``OFFSET 0`` keeps the sort below the
# aggregate that takes them. A stream appended to (exclusive) and guarded (shared) is locked
# once, exclusive, so no transaction ever upgrades a lock it holds.
_LOCK_FOR_APPEND = sa.text(
    "SELECT pg_current_xact_id()::text,"
    " (SELECT count(CASE WHEN l.exclusive THEN pg_advisory_xact_lock(l.k)"
    " ELSE pg_advisory_xact_lock_shared(l.k) END)"
    " FROM (SELECT rank, k, exclusive FROM ("
    " SELECT 0 AS rank, CAST(:key AS bigint) AS k, false AS exclusive"
    " UNION ALL"
    " SELECT 1, hashtextextended(s.id, 0), bool_or(s.exclusive)"
    " FROM unnest(CAST(:ids AS text[]), CAST(:exclusive AS boolean[])) AS s(id, exclusive)"
    " GROUP BY 2"
    " ) AS wanted ORDER BY rank, k OFFSET 0) AS l)"
)

# Each stream's newest version and hash (one probe of the unique index per stream), and the
# positions for the new events, drawn once (a materialized CTE) in increasing order.
_VERSIONS_AND_POSITIONS = sa.text(
    "WITH allocated AS MATERIALIZED ("
    " SELECT array_agg(p ORDER BY p) AS positions"
    " FROM (SELECT nextval('events_position_seq') AS p FROM generate_series(1, :n)) AS g)"
    " SELECT s.id, last.stream_version AS version, last.hash,"
    # The positions ride on the first row only: on every row, a bulk append of n new streams
    # would ship n arrays of n positions (20,000 streams: minutes).
    " CASE WHEN s.n = 1 THEN allocated.positions END AS positions"
    " FROM unnest(CAST(:ids AS text[])) WITH ORDINALITY AS s(id, n) CROSS JOIN allocated"
    " LEFT JOIN LATERAL (SELECT e.stream_version, e.hash FROM events e"
    " WHERE e.stream_id = s.id ORDER BY e.stream_version DESC LIMIT 1) AS last ON true"
    " ORDER BY s.n"
)

_CURRENT_VERSIONS = sa.text(
    "SELECT s.id, (SELECT max(e.stream_version) FROM events e WHERE e.stream_id = s.id)"
    " FROM unnest(CAST(:ids AS text[])) AS s(id)"
)

# Built once (building a statement costs more Python than running it takes): any number of
# streams as one array parameter, so one compiled form serves every call.
_READ_STREAMS = (
    sa.select(events)
    .where(events.c.stream_id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.Text))))
    .order_by(events.c.stream_id, events.c.stream_version)
)
_INSERT_EVENTS = events.insert()
_READ_AFTER = (
    sa.select(events)
    .where(events.c.position > sa.bindparam("after"))
    .order_by(events.c.position)
    .limit(sa.bindparam("limit"))
)


def new_event_id() -> UUID:
    """Time-ordered (v7) UUIDs keep the event-id index append-friendly."""
    return UUID(bytes=uuid7().bytes)


# New events, each with the hash that chains it to its stream (``chain_events``).
Chained = list[tuple[EventEnvelope, str]]

# The backend's transaction handle; ``EventStore`` alone (in a type hint) means any backend.
Conn = TypeVar("Conn", default=Any)


def chain_events(
    source: str,
    appends: Sequence[StreamAppend],
    metadata: EventMetadata,
    positions: Sequence[int],
    last_hashes: dict[str, str],
) -> list[tuple[EventEnvelope, str]]:
    """The envelopes of new events at ``positions`` (increasing, one per event), each with its
    hash chained to its stream's previous one (``last_hashes``: the stream's newest stored hash;
    a new stream starts from ``GENESIS_HASH``). The same for every backend, so that each can be
    verified the same way."""
    now = datetime.now(UTC)
    allocated, chained = iter(positions), []
    for append in appends:
        previous_hash = last_hashes.get(append.stream_id, GENESIS_HASH)
        for offset, new in enumerate(append.events, start=1):
            envelope = EventEnvelope(
                id=new_event_id(),
                source=source,
                type=versioned_type(new.event_type, new.version),
                subject=append.stream_id,
                time=now,
                data=new.data,
                stream_type=append.stream_type,
                stream_version=append.expected_version + offset,
                position=next(allocated),
                correlation_id=new.cause.correlation_id if new.cause else metadata.correlation_id,
                causation_id=new.cause.causation_id if new.cause else metadata.causation_id,
                actor=metadata.actor,
                traceparent=metadata.traceparent,
                tracestate=metadata.tracestate,
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

    Positions are global, unique and increasing (a backend may leave gaps: the relay publishes
    in position order and skips no event); stream versions count from 1; every event's hash
    chains to its stream's previous event's. ``append`` raises ``ConcurrencyConflict`` unless
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
    async def head(self, conn: Conn) -> int:
        """The position of the newest event (0 when there is none)."""

    @abstractmethod
    async def verify_chain(self, conn: Conn, *, batch: int = 10_000) -> ChainReport:
        """Recompute the hash chains; name the first event (by position) that breaks them."""


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
            # Only guards: nothing is written, so nothing to order against; the versions count.
            await self.check_versions(conn, appends)
            return []
        (outcome,) = await self.prepare(conn, [(appends, metadata)])
        if isinstance(outcome, ConcurrencyConflict):
            raise outcome
        await self.insert(conn, outcome)
        return [envelope for envelope, _ in outcome]

    async def prepare(
        self,
        conn: AsyncConnection,
        commands: Sequence[tuple[Sequence[StreamAppend], EventMetadata]],
    ) -> list[Chained | ConcurrencyConflict]:
        """Lock, check and chain the appends of several commands in the caller's transaction,
        without writing them (``insert`` does): one lock statement and one read for all of
        them (``group_commit``). The commands are decided in order, each against the streams as
        the ones before it leave them, so that two of them on one stream cannot both pass: per
        command, its new events with their hashes, or the conflict that refuses it (it then
        draws no positions and leaves no trace)."""
        streams: dict[str, bool] = {}  # stream id -> appended to (locked exclusive)
        for appends, _ in commands:
            for append in appends:
                streams[append.stream_id] = streams.get(append.stream_id, False) or bool(
                    append.events
                )
        ids = sorted(streams)
        # 1. The transaction's id, then the locks (position lock shared, then each stream's).
        await conn.execute(
            _LOCK_FOR_APPEND,
            {"key": POSITION_LOCK_KEY, "ids": ids, "exclusive": [streams[i] for i in ids]},
        )
        # 2. A new statement, so a new snapshot: the versions are read under the locks (exact,
        # not optimistic), with each stream's last hash and the positions for the new events.
        count = sum(len(a.events) for appends, _ in commands for a in appends)
        rows = (await conn.execute(_VERSIONS_AND_POSITIONS, {"ids": ids, "n": count})).all()
        current = {row.id: (int(row.version or 0), row.hash) for row in rows}
        positions = iter(sorted(int(p) for p in rows[0].positions or ()))
        outcomes: list[Chained | ConcurrencyConflict] = []
        for appends, metadata in commands:
            stale = [a for a in appends if current[a.stream_id][0] != a.expected_version]
            if stale:
                outcomes.append(version_mismatch(stale[0], current[stale[0].stream_id][0]))
                continue
            last_hashes = {i: str(h) for i, (_, h) in current.items() if h is not None}
            drawn = [next(positions) for a in appends for _ in a.events]
            chained = chain_events(self.source, appends, metadata, drawn, last_hashes)
            for envelope, hash_ in chained:
                current[envelope.subject] = (envelope.stream_version, hash_)
            outcomes.append(chained)
        return outcomes

    async def insert(self, conn: AsyncConnection, chained: Chained) -> None:
        """Write events ``prepare`` chained, in the same transaction."""
        inserted = [event_row(envelope, hash_) for envelope, hash_ in chained]
        if not inserted:
            return
        try:
            if len(inserted) >= COPY_FROM_ROWS:
                await copy_rows(conn, events, inserted)  # bulk: COPY, not a statement per row
            else:
                await conn.execute(_INSERT_EVENTS, inserted)
        except IntegrityError as exc:
            if "events_stream_version_key" in str(exc.orig):
                raise ConcurrencyConflict(
                    "another command changed this record at the same time; reload and retry",
                    code="ConcurrentModification",
                ) from exc
            raise

    async def verify_chain(self, conn: AsyncConnection, *, batch: int = 10_000) -> ChainReport:
        """Check every stream's hash chain and the relay's seal chain over the published events
        (``sealing``); name the first event changed, inserted or deleted behind the system's
        back."""
        from shared_kernel.sealing import verify_postgres  # sealing builds on this module

        return await verify_postgres(conn, self._envelope, batch=batch)

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
        rows = await conn.execute(_READ_STREAMS, {"ids": list(stream_ids)})
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
        rows = await conn.execute(_READ_AFTER, {"after": position, "limit": limit})
        return [self._envelope(row) for row in rows.mappings()]

    async def stream_of(self, conn: AsyncConnection, position: int) -> str | None:
        row = await conn.execute(sa.select(events.c.stream_id).where(events.c.position == position))
        return row.scalar_one_or_none()

    async def head(self, conn: AsyncConnection) -> int:
        result = await conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0)))
        return int(result.scalar_one())

    def _envelope(self, row: Any) -> EventEnvelope:
        """The envelope of an ``events`` row (SQLAlchemy's or the driver's, whose UUIDs are
        its own type: made standard ones)."""
        event_id = row["event_id"]
        return EventEnvelope(
            id=event_id if type(event_id) is UUID else UUID(bytes=event_id.bytes),
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
            traceparent=row.get("traceparent") or "",
            tracestate=row.get("tracestate") or "",
        )


def event_row(envelope: EventEnvelope, hash_: str) -> dict[str, Any]:
    """The ``events`` row of an envelope with its chained hash."""
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
        "hash": hash_,
        # Not in ``hash_``: how the event was traced is not what happened (``chain_hash``).
        "traceparent": envelope.traceparent or None,
        "tracestate": envelope.tracestate or None,
    }
