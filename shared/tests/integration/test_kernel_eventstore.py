"""The event store on real PostgreSQL: optimistic concurrency per stream, and history that the
database itself refuses to change."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from kernel_harness import SOURCE, append, new_stream_id
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.schema import events
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration


async def test_two_appends_at_the_same_expected_version_one_wins(engine: AsyncEngine) -> None:
    store = PostgresEventStore(SOURCE)
    for round_ in range(20):
        stream_id = new_stream_id()
        expected = round_ % 3  # new streams and streams that already have history
        if expected:
            await append(engine, store, stream_id, 0, list(range(expected)))
        outcomes = await asyncio.gather(
            append(engine, store, stream_id, expected, [1, 2]),
            append(engine, store, stream_id, expected, [10, 20, 30]),
            return_exceptions=True,
        )
        winners = [o for o in outcomes if isinstance(o, list)]
        losers = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(winners) == 1, outcomes
        assert len(losers) == 1 and isinstance(losers[0], ConcurrencyConflict), outcomes
        async with engine.connect() as conn:
            stored = await store.read_stream(conn, stream_id)
        # Only the winner's events follow the history: nothing of the loser was written.
        assert [e.stream_version for e in stored] == list(range(1, len(stored) + 1))
        assert [e.id for e in stored[expected:]] == [e.id for e in winners[0]]


async def test_a_stale_expected_version_is_refused(engine: AsyncEngine) -> None:
    store = PostgresEventStore(SOURCE)
    stream_id = new_stream_id()
    await append(engine, store, stream_id, 0, [1, 2])
    with pytest.raises(ConcurrencyConflict):
        await append(engine, store, stream_id, 1, [3])
    with pytest.raises(ConcurrencyConflict):
        await append(engine, store, stream_id, 3, [3])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET data = '{\"value\": 0}' WHERE stream_id = :stream",
        "DELETE FROM events WHERE stream_id = :stream",
        "TRUNCATE events",
    ],
    ids=["update", "delete", "truncate"],
)
async def test_the_database_refuses_to_change_history(engine: AsyncEngine, statement: str) -> None:
    store = PostgresEventStore(SOURCE)
    stream_id = new_stream_id()
    stored = await append(engine, store, stream_id, 0, [7])
    with pytest.raises(DBAPIError, match="events are immutable"):
        async with engine.begin() as conn:
            await conn.execute(sa.text(statement), {"stream": stream_id})
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(events).where(events.c.stream_id == stream_id))).one()
    assert row.event_id == stored[0].id and row.data == {"value": 7}
