"""The in-memory backend of the kernel's ports, for unit tests that run in milliseconds.

``MemoryDatabase`` holds what a service database holds for the kernel (events with their
per-stream hash chains, idempotency answers, inbox claims); ``MemoryTransaction`` stages a
transaction's writes and publishes them all at once on commit, or drops them.
``InMemoryEventStore`` and ``InMemoryUnitOfWork`` implement the ports on top, and obey the same
contract as the PostgreSQL backend (``shared/tests/contract``): a unit test of a command handler
gets the real concurrency, guard and idempotency rules, not a hand-written fake's.

Simpler than PostgreSQL (which lets appends to different streams commit concurrently), a
transaction that appends holds the database's position lock until it ends, so versions are
checked and positions allocated with no other append in between: positions here have no gaps,
which the contract allows but does not promise.

    backend = InMemoryBackend(codec)
    result = await CommandBus(backend.make_uow).execute(context, handler, command)
    assert backend.events()[-1].type == "ledger.AccountOpened.v1"
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from shared_kernel.codec import EventCodec
from shared_kernel.envelope import EventEnvelope
from shared_kernel.eventstore import (
    ChainReport,
    EventMetadata,
    EventStore,
    StreamAppend,
    chain_events,
    version_mismatch,
)
from shared_kernel.sealing import StreamChainCheck
from shared_kernel.unit_of_work import CommandContext, UnitOfWork

DEFAULT_SOURCE = "/memory"


class MemoryDatabase:
    """The committed state: events in position order, each with its stream-chained hash;
    idempotency answers by (owner, key); inbox claims by (consumer, event id)."""

    def __init__(self) -> None:
        self.events: list[EventEnvelope] = []
        self.hashes: list[str] = []
        self.answers: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.claims: set[tuple[str, UUID]] = set()
        self.position_lock = asyncio.Lock()
        self.locks: dict[tuple[str, str], asyncio.Lock] = {}

    def begin(self) -> MemoryTransaction:
        return MemoryTransaction(self)


class MemoryTransaction:
    """A transaction's view: the committed state plus its own staged writes."""

    def __init__(self, database: MemoryDatabase) -> None:
        self.database = database
        self.events: list[EventEnvelope] = []
        self.hashes: list[str] = []
        self.answers: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.claims: set[tuple[str, UUID]] = set()
        self.released: set[tuple[str, UUID]] = set()
        self.active = True
        self._holds_position_lock = False
        self._held: dict[tuple[str, str], asyncio.Lock] = {}

    def visible_events(self) -> list[EventEnvelope]:
        return self.database.events + self.events

    def visible_hashes(self) -> list[str]:
        return self.database.hashes + self.hashes

    async def take_position_lock(self) -> None:
        if not self._holds_position_lock:
            await self.database.position_lock.acquire()
            self._holds_position_lock = True

    async def lock(self, scope: str, keys: Sequence[str]) -> None:
        """Hold each key's lock until the transaction ends (re-entrant, in key order)."""
        for key in sorted(set(keys)):
            if (scope, key) not in self._held:
                lock = self.database.locks.setdefault((scope, key), asyncio.Lock())
                await lock.acquire()
                self._held[(scope, key)] = lock

    def commit(self) -> None:
        """Publish every staged write at once (no await: nothing can interleave)."""
        self._check_active()
        db = self.database
        db.events.extend(self.events)
        db.hashes.extend(self.hashes)
        db.answers.update(self.answers)
        db.claims.difference_update(self.released)
        db.claims.update(self.claims)
        # Published: reads after the commit see them once, in the database.
        self.events, self.hashes, self.answers, self.claims = [], [], {}, set()
        self.released = set()
        self._end()

    def rollback(self) -> None:
        if self.active:
            self._end()

    def _check_active(self) -> None:
        if not self.active:
            raise RuntimeError("transaction already ended")

    def _end(self) -> None:
        self.active = False
        for lock in self._held.values():
            lock.release()
        self._held.clear()
        if self._holds_position_lock:
            self._holds_position_lock = False
            self.database.position_lock.release()


class InMemoryEventStore(EventStore[MemoryTransaction]):
    """The event store port over a ``MemoryDatabase`` (reads see the transaction's own writes)."""

    def __init__(self, source: str = DEFAULT_SOURCE) -> None:
        self.source = source

    async def append(
        self, conn: MemoryTransaction, appends: Sequence[StreamAppend], metadata: EventMetadata
    ) -> list[EventEnvelope]:
        if not any(a.events for a in appends):
            await self.check_versions(conn, appends)
            return []
        await conn.take_position_lock()
        await self.check_versions(conn, appends)
        wanted = {a.stream_id for a in appends}
        last_hashes = {
            event.subject: hash_
            for event, hash_ in zip(conn.visible_events(), conn.visible_hashes(), strict=True)
            if event.subject in wanted
        }
        head = len(conn.visible_events())
        count = sum(len(a.events) for a in appends)
        positions = range(head + 1, head + count + 1)
        chained = chain_events(self.source, appends, metadata, positions, last_hashes)
        conn.events.extend(envelope for envelope, _ in chained)
        conn.hashes.extend(hash_ for _, hash_ in chained)
        return [envelope for envelope, _ in chained]

    async def check_versions(
        self, conn: MemoryTransaction, appends: Sequence[StreamAppend]
    ) -> None:
        wanted = {a.stream_id for a in appends}
        current: dict[str, int] = {}
        for event in conn.visible_events():
            if event.subject in wanted:
                current[event.subject] = event.stream_version
        for append in appends:
            actual = current.get(append.stream_id, 0)
            if actual != append.expected_version:
                raise version_mismatch(append, actual)

    async def read_streams(
        self, conn: MemoryTransaction, stream_ids: Sequence[str]
    ) -> dict[str, list[EventEnvelope]]:
        wanted = set(stream_ids)
        streams: dict[str, list[EventEnvelope]] = {}
        for event in conn.visible_events():
            if event.subject in wanted:
                streams.setdefault(event.subject, []).append(event)
        return streams

    async def read_last(self, conn: MemoryTransaction, stream_id: str) -> EventEnvelope | None:
        stream = await self.read_stream(conn, stream_id)
        return stream[-1] if stream else None

    async def stream_ids(
        self, conn: MemoryTransaction, stream_type: str, *, after: str | None, limit: int
    ) -> list[str]:
        found = sorted(
            e.subject
            for e in conn.visible_events()
            if e.stream_type == stream_type
            and e.stream_version == 1
            and (after is None or e.subject > after)
        )
        return found[:limit]

    async def read_after(
        self, conn: MemoryTransaction, position: int, limit: int
    ) -> list[EventEnvelope]:
        # Positions here are gapless from 1: position N is at index N - 1.
        return conn.visible_events()[max(position, 0) : max(position, 0) + limit]

    async def head(self, conn: MemoryTransaction) -> int:
        return len(conn.visible_events())

    async def verify_chain(self, conn: MemoryTransaction, *, batch: int = 10_000) -> ChainReport:
        # Every stream's chain (there is no relay here, so no seal chain), and positions in order.
        chained = list(zip(conn.visible_events(), conn.visible_hashes(), strict=True))
        by_stream = sorted(chained, key=lambda pair: (pair[0].subject, pair[0].stream_version))
        broken = StreamChainCheck().feed_all(by_stream)
        for (before, _), (after, _) in itertools.pairwise(chained):
            if after.position <= before.position and (
                broken is None or after.position < broken.position
            ):
                broken = after
        if broken is None:
            return ChainReport(checked=len(chained), broken_at=None)
        checked = sum(1 for event, _ in chained if event.position < broken.position)
        return ChainReport(checked=checked, broken_at=broken)


class InMemoryUnitOfWork(UnitOfWork):
    """The unit-of-work port over a ``MemoryDatabase``: one ``MemoryTransaction`` per use."""

    def __init__(
        self,
        database: MemoryDatabase,
        store: EventStore[MemoryTransaction],
        codec: EventCodec,
        context: CommandContext,
    ) -> None:
        super().__init__(store, codec, context)
        self.database = database
        self._tx: MemoryTransaction | None = None

    async def __aenter__(self) -> Self:
        self._tx = self.database.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tx is not None
        self._tx.rollback()

    @property
    def transaction(self) -> MemoryTransaction:
        if self._tx is None:
            raise RuntimeError("UnitOfWork used outside 'async with'")
        return self._tx

    async def lock(self, scope: str, *keys: str) -> None:
        await self.transaction.lock(scope, keys)

    async def hold_appends(self) -> None:
        await self.transaction.take_position_lock()

    async def claim(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        tx = self.transaction
        fresh: set[UUID] = set()
        for event_id in event_ids:
            key = (consumer, event_id)
            claimed = key in self.database.claims and key not in tx.released
            if not claimed and key not in tx.claims:
                tx.claims.add(key)
                fresh.add(event_id)
        return fresh

    async def release(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        tx = self.transaction
        released: set[UUID] = set()
        for event_id in event_ids:
            key = (consumer, event_id)
            if key in tx.claims:
                tx.claims.discard(key)
                released.add(event_id)
            elif key in self.database.claims and key not in tx.released:
                tx.released.add(key)
                released.add(event_id)
        return released

    async def _stored_answer(self, owner: str, key: str) -> tuple[str, dict[str, Any]] | None:
        tx = self.transaction
        return tx.answers.get((owner, key)) or self.database.answers.get((owner, key))

    async def _store_answer(
        self, owner: str, key: str, request_hash: str, result: dict[str, Any]
    ) -> bool:
        if await self._stored_answer(owner, key) is not None:
            return False
        self.transaction.answers[(owner, key)] = (request_hash, dict(result))
        return True

    async def _commit_transaction(self) -> None:
        # Nothing awaits between storing the answer and this commit, so no other transaction
        # can have stored the same key meanwhile (PostgreSQL's unique key does that there).
        self.transaction.commit()


class InMemoryBackend:
    """One service's kernel state in memory, and the ``make_uow`` its handlers are given."""

    def __init__(self, codec: EventCodec, source: str = DEFAULT_SOURCE) -> None:
        self.codec = codec
        self.database = MemoryDatabase()
        self.store = InMemoryEventStore(source)

    def make_uow(self, context: CommandContext) -> InMemoryUnitOfWork:
        """A new unit of work for one command (the ``MakeUnitOfWork`` of the composition root)."""
        return InMemoryUnitOfWork(self.database, self.store, self.codec, context)

    def events(self, stream_id: str | None = None) -> list[EventEnvelope]:
        """The committed events, of one stream or of all, in position order."""
        return [e for e in self.database.events if stream_id is None or e.subject == stream_id]
