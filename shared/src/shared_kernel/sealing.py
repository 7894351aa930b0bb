"""Tamper evidence across streams: the relay's seal chain, and the verification of both chains.

Each event's hash chains to its stream's previous event's (``eventstore.chain_hash``): a change
inside a stream, or a removal before its end, breaks that stream's chain. What a stream's chain
cannot show (its last event removed, a whole stream removed, an event slipped in at a position
the relay had passed) the seal shows: the relay, in the transaction that moves its cursor,
chains every event it publishes into ``event_seals`` in position order,
``seal_i = sha256(seal_(i-1) + hash_i)``. Events the relay has not published yet are covered
by their streams' chains only, until it does (usually within milliseconds).

A database from before concurrent commits keeps its global chain: the first seal row records
where it ends (its last position and hash), and the events up to it are checked by the old rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared_kernel.bulk_rows import copy_rows
from shared_kernel.envelope import EventEnvelope
from shared_kernel.eventstore import GENESIS_HASH, ChainReport, chain_hash
from shared_kernel.schema import event_seals, events

EnvelopeOf = Callable[[Any], EventEnvelope]


def seal_hash(previous_seal: str, event_hash: str) -> str:
    """The seal of a published event: its hash chained to the seal before it."""
    return hashlib.sha256((previous_seal + event_hash).encode()).hexdigest()


class SealChain:
    """The relay's end of the seal chain: it extends the chain, in the transaction that moves
    the cursor, over the events it published. Only positions after the last seal are sealed
    (a relay catching up on events sealed already, or older than the boundary, adds nothing)."""

    def __init__(self) -> None:
        self._tail: tuple[int, str] | None = None
        self._boundary_missing = False

    async def load(self, conn: AsyncConnection) -> None:
        """Start from the newest stored seal (the chain may have grown under another relay)."""
        row = (
            await conn.execute(
                sa.select(event_seals.c.position, event_seals.c.seal)
                .order_by(event_seals.c.position.desc())
                .limit(1)
            )
        ).first()
        self._tail = (int(row.position), str(row.seal)) if row else (0, GENESIS_HASH)
        # Tables made without the migration (``create_all``) lack the boundary row: the first
        # seals written bring it (position 0: no older chain), so the first row is always it.
        self._boundary_missing = row is None

    async def extend(self, conn: AsyncConnection, through: int) -> None:
        """Seal every event after the last seal up to position ``through`` (the relay's new
        cursor: all of them are published, the missing positions proven never to commit); a
        failed transaction must be followed by ``load`` (the relay reloads on every restart)."""
        if self._tail is None:
            await self.load(conn)
        assert self._tail is not None
        after, seal = self._tail
        if through <= after:
            return
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        rows = await driver.fetch(_HASHES_BETWEEN, after, through)
        sealed = []
        for position, event_hash in rows:
            seal = seal_hash(seal, event_hash)
            sealed.append({"position": position, "seal": seal})
        if sealed:
            if self._boundary_missing:
                sealed.insert(0, {"position": 0, "seal": GENESIS_HASH})
            await copy_rows(conn, event_seals, sealed)
            self._boundary_missing = False
            self._tail = (int(sealed[-1]["position"]), seal)


# The relay's read of the hashes to seal, on the driver's connection (a thousand rows a batch:
# SQLAlchemy's result rows cost more than the read); the seals go in by COPY.
_HASHES_BETWEEN = (
    "SELECT position, hash FROM events WHERE position > $1 AND position <= $2 ORDER BY position"
)


@dataclass
class StreamChainCheck:
    """Pure: fed every event in (stream, version) order, it keeps the lowest-positioned event
    that breaks its stream: a version not following the previous one, a position not after
    it, or (when checked) a hash that does not chain to the stream's previous hash."""

    first_break: EventEnvelope | None = None
    _last: tuple[str, int, int, str] | None = None  # stream, version, position, stored hash

    def feed(self, envelope: EventEnvelope, stored_hash: str, *, check_hash: bool = True) -> None:
        last = self._last
        same = last is not None and last[0] == envelope.subject
        version, previous_hash = (last[1] + 1, last[3]) if same and last else (1, GENESIS_HASH)
        broken = envelope.stream_version != version or (
            same and last is not None and envelope.position <= last[2]
        )
        if not broken and check_hash:
            broken = stored_hash != chain_hash(previous_hash, envelope)
        if broken and (self.first_break is None or envelope.position < self.first_break.position):
            self.first_break = envelope
        self._last = (envelope.subject, envelope.stream_version, envelope.position, stored_hash)

    def feed_all(self, chained: Iterable[tuple[EventEnvelope, str]]) -> EventEnvelope | None:
        for envelope, stored_hash in chained:
            self.feed(envelope, stored_hash)
        return self.first_break


async def verify_postgres(
    conn: AsyncConnection, envelope_of: EnvelopeOf, *, batch: int = 10_000
) -> ChainReport:
    """Check the legacy global chain (up to the boundary), every stream's chain and the seal
    chain; report the lowest-positioned event any of them names."""
    boundary, boundary_seal, last_sealed = await _seal_bounds(conn)
    found = [
        await _legacy_break(conn, envelope_of, boundary, boundary_seal, batch),
        await _stream_break(conn, envelope_of, boundary, batch),
        await _seal_break(conn, envelope_of, boundary, boundary_seal, last_sealed, batch),
    ]
    breaks = [envelope for envelope in found if envelope is not None]
    if not breaks:
        total = await conn.execute(sa.select(sa.func.count()).select_from(events))
        return ChainReport(checked=int(total.scalar_one()), broken_at=None)
    first = min(breaks, key=lambda envelope: envelope.position)
    before = await conn.execute(
        sa.select(sa.func.count()).where(events.c.position < first.position)
    )
    return ChainReport(checked=int(before.scalar_one()), broken_at=first)


async def _seal_bounds(conn: AsyncConnection) -> tuple[int, str, int]:
    """(boundary position, boundary seal, last sealed position); a database whose tables were
    made by ``create_all`` has no boundary row: it starts from nothing."""
    first = (
        await conn.execute(
            sa.select(event_seals.c.position, event_seals.c.seal)
            .order_by(event_seals.c.position)
            .limit(1)
        )
    ).first()
    if first is None:
        return 0, GENESIS_HASH, 0
    last = await conn.execute(sa.select(sa.func.max(event_seals.c.position)))
    return int(first.position), str(first.seal), int(last.scalar_one())


async def _neighbour(
    conn: AsyncConnection, envelope_of: EnvelopeOf, position: int
) -> EventEnvelope | None:
    """The event after a removed ``position`` (the first whose check breaks), or the one
    before it when nothing follows."""
    for query in (
        sa.select(events).where(events.c.position > position).order_by(events.c.position),
        sa.select(events).where(events.c.position < position).order_by(events.c.position.desc()),
    ):
        row = (await conn.execute(query.limit(1))).mappings().first()
        if row is not None:
            return envelope_of(row)
    return None


async def _legacy_break(
    conn: AsyncConnection,
    envelope_of: EnvelopeOf,
    boundary: int,
    boundary_seal: str,
    batch: int,
) -> EventEnvelope | None:
    """The old rule up to the boundary: gapless positions from 1, each hash chained to the
    previous event's, ending at the boundary seal."""
    previous_hash, after = GENESIS_HASH, 0
    while after < boundary:
        rows = (
            (
                await conn.execute(
                    sa.select(events)
                    .where(events.c.position > after, events.c.position <= boundary)
                    .order_by(events.c.position)
                    .limit(batch)
                )
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for row in rows:
            envelope = envelope_of(row)
            expected = chain_hash(previous_hash, envelope)
            if row["hash"] != expected or row["position"] != after + 1:
                return envelope
            previous_hash, after = expected, int(row["position"])
    if after != boundary or previous_hash != boundary_seal:
        return await _neighbour(conn, envelope_of, after + 1 if after < boundary else after)
    return None


async def _stream_break(
    conn: AsyncConnection, envelope_of: EnvelopeOf, boundary: int, batch: int
) -> EventEnvelope | None:
    """Every stream's chain, walked in (stream, version) order by the unique index."""
    check = StreamChainCheck()
    key: tuple[str, int] | None = None
    while True:
        query = sa.select(events).order_by(events.c.stream_id, events.c.stream_version).limit(batch)
        if key is not None:
            query = query.where(
                sa.tuple_(events.c.stream_id, events.c.stream_version) > sa.tuple_(*key)
            )
        rows = (await conn.execute(query)).mappings().all()
        if not rows:
            return check.first_break
        for row in rows:
            check.feed(envelope_of(row), row["hash"], check_hash=row["position"] > boundary)
        key = (rows[-1]["stream_id"], rows[-1]["stream_version"])


async def _seal_break(
    conn: AsyncConnection,
    envelope_of: EnvelopeOf,
    boundary: int,
    boundary_seal: str,
    last_sealed: int,
    batch: int,
) -> EventEnvelope | None:
    """The seal chain over the published events: every event after the boundary up to the
    last seal has its seal, chained in position order, and every seal has its event."""
    previous, after = boundary_seal, boundary
    while after < last_sealed:
        seals = (
            await conn.execute(
                sa.select(event_seals.c.position, event_seals.c.seal)
                .where(event_seals.c.position > after)
                .order_by(event_seals.c.position)
                .limit(batch)
            )
        ).all()
        upto = int(seals[-1].position)
        stored = {
            int(row["position"]): row
            for row in (
                await conn.execute(
                    sa.select(events)
                    .where(events.c.position > after, events.c.position <= upto)
                    .order_by(events.c.position)
                )
            ).mappings()
        }
        sealed = {int(row.position): str(row.seal) for row in seals}
        for position in sorted(stored.keys() | sealed.keys()):
            row = stored.get(position)
            if row is None:
                return await _neighbour(conn, envelope_of, position)  # sealed, then removed
            if position not in sealed:
                return envelope_of(row)  # in the published range without a seal: slipped in
            expected = seal_hash(previous, row["hash"])
            if sealed[position] != expected:
                return envelope_of(row)
            previous = expected
        after = upto
    return None
