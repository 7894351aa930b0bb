"""Concurrent commits on real PostgreSQL and Kafka: appends to different streams do not wait
for each other, yet the relay publishes every committed event once, in position order,
skipping only positions of aborted transactions; guards stay exact; ``hold_appends`` still
holds every append."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import pytest
import sqlalchemy as sa
from kernel_harness import (
    SOURCE,
    STREAM_TYPE,
    KernelTopics,
    TopicReader,
    append,
    decode_all,
    metadata_for,
    new_events,
    new_stream_id,
    relay_cursor,
    relay_reached,
    running_relay,
    store_head,
    wait_until,
)
from shared_kernel.db import create_engine
from shared_kernel.envelope import EventEnvelope
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.eventstore import POSITION_LOCK_KEY, PostgresEventStore, StreamAppend
from shared_kernel.relay_order import OrderedReader
from shared_kernel.schema import event_seals, events
from shared_kernel.testing import CreateDatabase
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

pytestmark = pytest.mark.integration

STORE = PostgresEventStore(SOURCE)
# Long enough for the relay (polling every 20 ms) or a lock to have acted many times over.
SETTLE = 0.5


@contextlib.asynccontextmanager
async def appended(
    engine: AsyncEngine, appends: Sequence[StreamAppend]
) -> AsyncIterator[tuple[AsyncConnection, list[EventEnvelope]]]:
    """An append in a transaction left open: the caller commits it, or leaving rolls it back."""
    async with engine.connect() as conn:
        await conn.begin()
        yield conn, await STORE.append(conn, appends, metadata_for("open"))


def new(stream_id: str, expected: int, values: Sequence[int]) -> StreamAppend:
    return StreamAppend(stream_id, STREAM_TYPE, expected, new_events(values))


def guard(stream_id: str, expected: int) -> StreamAppend:
    return StreamAppend(stream_id, STREAM_TYPE, expected, ())


async def commit_append(
    engine: AsyncEngine, appends: Sequence[StreamAppend]
) -> list[EventEnvelope]:
    async with engine.begin() as conn:
        return await STORE.append(conn, appends, metadata_for("commit"))


async def stored_positions(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(events.c.position).order_by(events.c.position))
        return list(rows.scalars())


async def test_a_long_transaction_holds_the_relay_back_and_aborted_positions_are_skipped(
    engine: AsyncEngine, kafka_bootstrap: str, kernel_topics: KernelTopics
) -> None:
    before = await append(engine, STORE, new_stream_id(), 0, [1, 2])
    aborted: list[int] = []
    short: list[EventEnvelope] = []
    async with running_relay(engine, kafka_bootstrap, kernel_topics) as relay:
        await wait_until(
            lambda: relay_reached(engine, before[-1].position), "the first events", timeout=30
        )
        async with (
            appended(engine, [new(new_stream_id(), 0, [100, 101])]) as (long_tx, long_events),
            appended(engine, [new(new_stream_id(), 0, [7])]) as (slow_abort, slow_events),
        ):
            # The long transaction took its positions first; short ones commit after it, some
            # abort at once, and one (``slow_abort``) stays open and aborts later.
            for n in range(30):
                short += await append(engine, STORE, new_stream_id(), 0, [n])
                if n % 7 == 0:
                    async with appended(engine, [new(new_stream_id(), 0, [n, n])]) as (_, gone):
                        aborted += [e.position for e in gone]  # rolled back on leaving
            assert long_events[-1].position < slow_events[0].position < short[0].position
            await asyncio.sleep(SETTLE)
            # The relay waits at the long transaction's position: it skips nothing still open.
            assert await relay_cursor(engine) == before[-1].position
            await slow_abort.rollback()
            aborted += [e.position for e in slow_events]
            await asyncio.sleep(SETTLE)
            assert await relay_cursor(engine) == before[-1].position
            await long_tx.commit()
        head = await store_head(engine)
        await wait_until(lambda: relay_reached(engine, head), "everything", timeout=30)
        relay.check_alive()

    committed = await stored_positions(engine)
    # Exactly the aborted transactions' positions are missing between the first and the last.
    assert set(range(committed[0], committed[-1] + 1)) - set(committed) == set(aborted)
    async with TopicReader(kafka_bootstrap, kernel_topics.events, kernel_topics.partitions) as r:
        records = await r.read_all()
    published = [e.position for e in decode_all(records)]
    assert sorted(published) == committed  # every committed event, exactly once
    for partition in range(kernel_topics.partitions):
        on_partition = [
            e.position
            for record, e in zip(records, decode_all(records), strict=True)
            if record.partition == partition
        ]
        assert on_partition == sorted(on_partition)  # in position order, the long one first
    async with engine.connect() as conn:
        # The first seal row is the boundary (position 0 here: no older global chain).
        seals = sa.select(event_seals.c.position).order_by(event_seals.c.position).offset(1)
        sealed = list((await conn.execute(seals)).scalars())
        report = await STORE.verify_chain(conn)
    assert sealed == committed and report.intact and report.checked == len(committed)


async def test_appends_to_different_streams_do_not_wait_for_each_other(
    engine: AsyncEngine,
) -> None:
    async with appended(engine, [new(new_stream_id(), 0, [1])]) as (first, first_events):
        # Committed while the first is still open: no global lock between them.
        other = await asyncio.wait_for(commit_append(engine, [new(new_stream_id(), 0, [2])]), 5)
        assert other[0].position > first_events[0].position
        await first.commit()


async def test_a_guard_waits_for_an_append_in_flight_to_its_stream_then_fails(
    engine: AsyncEngine,
) -> None:
    guarded, other = new_stream_id(), new_stream_id()
    await append(engine, STORE, guarded, 0, [1])
    async with appended(engine, [new(guarded, 1, [2])]) as (moving, _):
        decided = asyncio.create_task(
            commit_append(engine, [new(other, 0, [3]), guard(guarded, 1)])
        )
        await asyncio.sleep(SETTLE)
        assert not decided.done()  # its check waits: it must not pass on the old version
        await moving.commit()
    with pytest.raises(ConcurrencyConflict):
        await decided
    async with engine.connect() as conn:
        assert await STORE.read_stream(conn, other) == []


async def test_an_append_waits_for_a_guard_in_flight_then_follows_it(engine: AsyncEngine) -> None:
    guarded, other = new_stream_id(), new_stream_id()
    await append(engine, STORE, guarded, 0, [1])
    async with appended(engine, [new(other, 0, [3]), guard(guarded, 1)]) as (deciding, decided):
        moving = asyncio.create_task(commit_append(engine, [new(guarded, 1, [2])]))
        await asyncio.sleep(SETTLE)
        assert not moving.done()
        await deciding.commit()
    moved = await moving  # the guard's command came first; this one follows it
    assert moved[0].position > decided[0].position


async def decide_on(
    engine: AsyncEngine, guarded: str, other: str, pause: float
) -> list[EventEnvelope]:
    """A command that decided on ``guarded`` at version 1 and writes ``other``."""
    async with appended(engine, [new(other, 0, [3]), guard(guarded, 1)]) as (tx, stored):
        await asyncio.sleep(pause)
        await tx.commit()
        return stored


async def move(engine: AsyncEngine, guarded: str, pause: float) -> list[EventEnvelope]:
    """A command that appends to ``guarded`` (from version 1)."""
    async with appended(engine, [new(guarded, 1, [2])]) as (tx, stored):
        await asyncio.sleep(pause)
        await tx.commit()
        return stored


async def test_guards_and_appends_racing_on_one_stream_never_both_pass_out_of_order(
    engine: AsyncEngine,
) -> None:
    """Whichever wins, a guard that passed was checked before the append to its stream: both
    succeed only with the guarded command first in position order."""
    for round_ in range(30):
        guarded, other = new_stream_id(), new_stream_id()
        await append(engine, STORE, guarded, 0, [1])
        pauses = (0.01 * (round_ % 3), 0.01 * ((round_ + 1) % 3))
        decided, moved = await asyncio.gather(
            decide_on(engine, guarded, other, pauses[0]),
            move(engine, guarded, pauses[1]),
            return_exceptions=True,
        )
        assert not isinstance(moved, BaseException), moved  # an append never fails on a guard
        if isinstance(decided, BaseException):
            assert isinstance(decided, ConcurrencyConflict), decided
        else:
            assert decided[0].position < moved[0].position


async def test_hold_appends_waits_for_appends_in_flight_and_holds_new_ones(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as holder:
        await holder.begin()
        async with appended(engine, [new(new_stream_id(), 0, [1])]) as (in_flight, _):
            hold = asyncio.create_task(
                holder.execute(sa.select(sa.func.pg_advisory_xact_lock(POSITION_LOCK_KEY)))
            )
            await asyncio.sleep(SETTLE)
            assert not hold.done()  # the append in flight holds the position lock shared
            await in_flight.commit()
        await asyncio.wait_for(hold, 5)
        later = asyncio.create_task(commit_append(engine, [new(new_stream_id(), 0, [2])]))
        await asyncio.sleep(SETTLE)
        assert not later.done()  # held back until the holder ends
        await holder.rollback()
    await asyncio.wait_for(later, 5)


async def test_a_long_write_in_another_database_does_not_hold_the_gaps_here(
    engine: AsyncEngine, create_database: CreateDatabase
) -> None:
    """Transaction ids are cluster-wide, the gap rule's xmin is this database's: another
    service's long write on the same server does not stall this relay at an aborted position."""
    other = create_engine(await create_database("other"), pool_size=1)
    reader = OrderedReader(engine)
    try:
        async with other.connect() as foreign:
            await foreign.begin()
            await foreign.execute(sa.select(sa.func.pg_current_xact_id()))  # older than the gap
            async with appended(engine, [new(new_stream_id(), 0, [1])]) as (_, gone):
                pass  # rolled back: its position is a gap
            after = await append(engine, STORE, new_stream_id(), 0, [2])
            assert gone[0].position < after[0].position
            await reader.read_after(0, 10)  # the gap is seen (and maybe settled) here
            published = await reader.read_after(0, 10)
            assert [row["position"] for row in published] == [after[0].position]
    finally:
        await other.dispose()
