"""Tamper evidence under concurrent commits: per-stream hash chains plus the relay's seal chain
name the first event changed, removed or slipped in behind the system's back, and a database
from before (one global chain) stays verifiable after the migration."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from kernel_harness import (
    SOURCE,
    STREAM_TYPE,
    KernelTopics,
    append,
    metadata_for,
    new_events,
    new_stream_id,
    relay_reached,
    running_relay,
    store_head,
    wait_until,
)
from shared_kernel import schema
from shared_kernel.envelope import EventEnvelope
from shared_kernel.eventstore import (
    GENESIS_HASH,
    ChainReport,
    PostgresEventStore,
    StreamAppend,
    chain_hash,
    event_row,
    new_event_id,
)
from shared_kernel.schema import event_seals, events
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration

STORE = PostgresEventStore(SOURCE)


async def sealed(engine: AsyncEngine, kafka_bootstrap: str, topics: KernelTopics) -> None:
    """Run the relay until it has published (and sealed) everything stored."""
    head = await store_head(engine)
    async with running_relay(engine, kafka_bootstrap, topics) as relay:
        await wait_until(
            lambda: relay_reached(engine, head), "the relay", timeout=30, watch=[relay]
        )


@pytest.fixture
async def history(
    engine: AsyncEngine, kafka_bootstrap: str, kernel_topics: KernelTopics
) -> AsyncIterator[dict[str, list[EventEnvelope]]]:
    """Three streams written in turns, with an aborted append leaving a gap, all sealed."""
    a, b, c = new_stream_id(), new_stream_id(), new_stream_id()
    streams: dict[str, list[EventEnvelope]] = {a: [], b: [], c: []}
    streams[a] += await append(engine, STORE, a, 0, [1, 2])
    streams[b] += await append(engine, STORE, b, 0, [3])
    async with engine.connect() as conn, conn.begin():
        await STORE.append(
            conn, [StreamAppend(c, STREAM_TYPE, 0, new_events([0]))], metadata_for("x")
        )
        await conn.rollback()  # positions drawn and never used: a gap
    streams[c] += await append(engine, STORE, c, 0, [4])
    streams[a] += await append(engine, STORE, a, 2, [5])
    streams[b] += await append(engine, STORE, b, 1, [6, 7])
    streams[c] += await append(engine, STORE, c, 1, [8])
    await sealed(engine, kafka_bootstrap, kernel_topics)
    yield streams


async def behind_the_systems_back(engine: AsyncEngine, statement: Any, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE events DISABLE TRIGGER events_no_update_delete"))
        await conn.execute(
            statement if not isinstance(statement, str) else sa.text(statement), params
        )
        await conn.execute(sa.text("ALTER TABLE events ENABLE TRIGGER events_no_update_delete"))


async def verify(engine: AsyncEngine) -> ChainReport:
    async with engine.connect() as conn:
        return await STORE.verify_chain(conn, batch=3)  # small batches: the paging is checked too


def in_position_order(streams: dict[str, list[EventEnvelope]]) -> list[EventEnvelope]:
    return sorted((e for s in streams.values() for e in s), key=lambda e: e.position)


def named(report: ChainReport) -> int | None:
    return None if report.broken_at is None else report.broken_at.position


async def test_an_untouched_history_is_intact(
    engine: AsyncEngine, history: dict[str, list[EventEnvelope]]
) -> None:
    report = await verify(engine)
    assert report.intact and report.checked == len(in_position_order(history))


async def test_a_changed_event_is_named(
    engine: AsyncEngine, history: dict[str, list[EventEnvelope]]
) -> None:
    ordered = in_position_order(history)
    target = ordered[3]
    await behind_the_systems_back(
        engine, "UPDATE events SET data = '{\"value\": 999}' WHERE position = :p", p=target.position
    )
    report = await verify(engine)
    assert (named(report), report.checked) == (target.position, 3)


async def test_a_changed_event_with_its_stream_rehashed_is_named_by_the_seal(
    engine: AsyncEngine, history: dict[str, list[EventEnvelope]]
) -> None:
    """The forger recomputes the stream's hashes from the change on: every stream chain holds,
    the seal chain does not."""
    a = next(iter(history))
    first, second, third = history[a]
    forged = replace(second, data={"value": 999})
    forged_hash = chain_hash(chain_hash(GENESIS_HASH, first), forged)
    following_hash = chain_hash(forged_hash, third)
    for envelope, hash_ in ((forged, forged_hash), (third, following_hash)):
        await behind_the_systems_back(
            engine,
            "UPDATE events SET data = CAST(:data AS jsonb), hash = :hash WHERE position = :p",
            data=json.dumps(envelope.data),
            hash=hash_,
            p=envelope.position,
        )
    assert named(await verify(engine)) == second.position


async def test_the_last_event_of_a_stream_removed_is_found_at_the_next_event(
    engine: AsyncEngine, history: dict[str, list[EventEnvelope]]
) -> None:
    ordered = in_position_order(history)
    a = next(iter(history))
    last_of_a = history[a][-1]  # its stream's chain alone cannot show this
    await behind_the_systems_back(
        engine, "DELETE FROM events WHERE position = :p", p=last_of_a.position
    )
    after = ordered[ordered.index(last_of_a) + 1]
    assert named(await verify(engine)) == after.position


async def test_an_event_removed_with_its_seal_is_found_at_the_next_event(
    engine: AsyncEngine, history: dict[str, list[EventEnvelope]]
) -> None:
    ordered = in_position_order(history)
    c = list(history)[2]
    gone = history[c][0]  # the whole stream's start: its second event breaks too
    await behind_the_systems_back(engine, "DELETE FROM events WHERE position = :p", p=gone.position)
    await behind_the_systems_back(
        engine, "DELETE FROM event_seals WHERE position = :p", p=gone.position
    )
    assert named(await verify(engine)) == ordered[ordered.index(gone) + 1].position


async def test_the_newest_event_removed_is_found_though_nothing_follows(
    engine: AsyncEngine, history: dict[str, list[EventEnvelope]]
) -> None:
    ordered = in_position_order(history)
    await behind_the_systems_back(
        engine, "DELETE FROM events WHERE position = :p", p=ordered[-1].position
    )
    report = await verify(engine)
    assert not report.intact and named(report) == ordered[-2].position  # its neighbour


async def test_an_event_slipped_into_a_gap_is_named(
    engine: AsyncEngine, history: dict[str, list[EventEnvelope]]
) -> None:
    """A well-formed event (its stream's next version, correctly hashed) at a position an
    aborted transaction left unused: only the seal chain knows it was never published."""
    ordered = in_position_order(history)
    positions = [e.position for e in ordered]
    gap = next(p for p in range(positions[0], positions[-1]) if p not in positions)
    b = list(history)[1]
    previous = history[b][-1]
    stored_hash = await _stored_hash(engine, previous.position)
    forged = replace(
        previous, id=new_event_id(), position=gap, stream_version=previous.stream_version + 1
    )
    await behind_the_systems_back(
        engine, events.insert().values(**event_row(forged, chain_hash(stored_hash, forged)))
    )
    report = await verify(engine)
    # The version check of its stream may name it too; either way it is the one named.
    assert named(report) == gap


async def _stored_hash(engine: AsyncEngine, position: int) -> str:
    async with engine.connect() as conn:
        row = await conn.execute(sa.select(events.c.hash).where(events.c.position == position))
        return str(row.scalar_one())


async def test_a_database_from_before_keeps_its_global_chain_verifiable(
    engine: AsyncEngine, kafka_bootstrap: str, kernel_topics: KernelTopics
) -> None:
    """Events written by the old rule (one global chain, gapless positions), then the migration,
    then new events: all verify; a change in the old part is still named."""
    legacy_stream = new_stream_id()
    previous, legacy = GENESIS_HASH, []
    for position in range(1, 5):
        envelope = EventEnvelope(
            id=new_event_id(),
            source=SOURCE,
            type="kernel.ValueRecorded.v1",
            subject=legacy_stream if position % 2 else new_stream_id(),
            time=(await _now(engine)),
            data={"value": position},
            stream_type=STREAM_TYPE,
            stream_version=1 if position < 3 else 2 if position == 3 else 1,
            position=position,
            correlation_id="c",
            causation_id="c",
            actor=metadata_for("legacy").actor,
        )
        previous = chain_hash(previous, envelope)
        legacy.append(event_row(envelope, previous))
    async with engine.begin() as conn:
        await conn.execute(events.insert(), legacy)
        for statement in schema.CONCURRENT_COMMITS_DDL:
            await conn.execute(sa.text(statement))
        for statement in schema.CONCURRENT_COMMITS_DDL:  # idempotent
            await conn.execute(sa.text(statement))
        boundary = (await conn.execute(sa.select(event_seals))).all()
    assert [tuple(row) for row in boundary] == [(4, previous)]
    # New events, one continuing a legacy stream (chained to its legacy hash).
    continued = await append(engine, STORE, legacy_stream, 2, [10])
    assert continued[0].position == 5  # the sequence continues after the legacy positions
    await append(engine, STORE, new_stream_id(), 0, [11, 12])
    await sealed(engine, kafka_bootstrap, kernel_topics)
    report = await verify(engine)
    assert report.intact and report.checked == 7

    await behind_the_systems_back(
        engine, "UPDATE events SET data = '{\"value\": 0}' WHERE position = 2"
    )
    assert named(await verify(engine)) == 2


async def _now(engine: AsyncEngine) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(sa.func.now()))).scalar_one()
