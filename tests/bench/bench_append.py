"""Event store append throughput, beside raw INSERTs of rows of the same shape.

``EventStore.append`` does, per transaction: take the position advisory lock, check the
streams' versions (SELECT max(stream_version) ... GROUP BY stream_id), read the last position
and hash, chain a sha256 hash over each new event (in Python), one multi-row INSERT; the lock
is held until COMMIT. The baseline inserts the same rows (same columns, same constraints and
indexes, the same JSONB data, a 64-character hash) into a copy of the events table, with
positions from a counter in this process: no lock, no version check, no hashing, the same
driver (SQLAlchemy over asyncpg).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from bench_common import (
    ACTOR,
    Report,
    Result,
    create_database,
    metadata,
    profiled,
    sample_entry_data,
)
from shared_kernel.db import create_engine
from shared_kernel.eventstore import (
    NewEvent,
    PostgresEventStore,
    StreamAppend,
    new_event_id,
)
from shared_kernel.schema import events
from sqlalchemy.ext.asyncio import AsyncEngine

SINGLE_N = 2_000
BATCH_N = 50_000
BATCH_SIZE = 100
WRITERS = 8
ROUNDS = 4
HASH = "0" * 64

Write = Callable[[int], Awaitable[None]]

raw_events = sa.Table(
    "raw_events", sa.MetaData(), *(sa.Column(c.name, c.type) for c in events.columns)
)


class Writers:
    """The event store and the raw baseline, writing the same data."""

    def __init__(self, engine: AsyncEngine, data: dict[str, Any]) -> None:
        self.engine = engine
        self.store = PostgresEventStore(source="/bench")
        self.data = data
        self.positions = itertools.count(1)

    async def store_append(self, size: int) -> None:
        append = StreamAppend(
            str(uuid.uuid4()),
            "bench",
            0,
            [NewEvent("bench.EntryPosted", 1, self.data) for _ in range(size)],
        )
        async with self.engine.begin() as conn:
            await self.store.append(conn, [append], metadata())

    async def raw_insert(self, size: int) -> None:
        stream_id = str(uuid.uuid4())
        correlation = str(uuid.uuid4())
        now = datetime.now(UTC)
        rows = [
            {
                "position": next(self.positions),
                "event_id": new_event_id(),
                "stream_id": stream_id,
                "stream_type": "bench",
                "stream_version": version,
                "event_type": "bench.EntryPosted",
                "event_version": 1,
                "data": self.data,
                "correlation_id": correlation,
                "causation_id": correlation,
                "actor": ACTOR.subject,
                "actor_office": ACTOR.office,
                "recorded_at": now,
                "hash": HASH,
            }
            for version in range(1, size + 1)
        ]
        async with self.engine.begin() as conn:
            await conn.execute(raw_events.insert(), rows)


async def compare(
    measured: Write, baseline: Write, transactions: int, size: int, writers: int
) -> tuple[float, float]:
    """Events per second of ``transactions`` writes of ``size`` events by ``writers`` tasks,
    for the measured path and the baseline. They alternate in ROUNDS slices, so that a load
    spike from other processes on the machine hits both alike."""

    async def spread(write: Write, count: int) -> float:
        share, extra = divmod(count, writers)

        async def writer(n: int) -> None:
            for _ in range(n):
                await write(size)

        started = time.perf_counter()
        await asyncio.gather(*(writer(share + (1 if i < extra else 0)) for i in range(writers)))
        return time.perf_counter() - started

    # Warm up: open the pool's connections and prepare the statements.
    await spread(measured, writers * 3)
    await spread(baseline, writers * 3)
    seconds = [0.0, 0.0]
    per_round = transactions // ROUNDS
    for _ in range(ROUNDS):
        with profiled("event store append"):
            seconds[0] += await spread(measured, per_round)
        seconds[1] += await spread(baseline, per_round)
    events = per_round * ROUNDS * size
    return events / seconds[0], events / seconds[1]


async def run(report: Report) -> None:
    url = await create_database("append")
    engine = create_engine(url, pool_size=WRITERS + 2)
    try:
        async with engine.begin() as conn:
            # Same columns, constraints and indexes as the events table; triggers are not copied.
            await conn.execute(sa.text("CREATE TABLE raw_events (LIKE events INCLUDING ALL)"))
        data = sample_entry_data()
        report.note(
            f"rows carry {len(str(data))} chars of JSONB data (a three-line journal entry); "
            "fsync on, synchronous_commit on"
        )
        w = Writers(engine, data)
        cases = [
            ("event store append (single, 1 writer)", SINGLE_N, 1, 1, "1 row/tx"),
            (f"event store append (single, {WRITERS} writers)", SINGLE_N, 1, WRITERS, "1 row/tx"),
            (
                f"event store append (batch {BATCH_SIZE}, 1 writer)",
                BATCH_N,
                BATCH_SIZE,
                1,
                f"{BATCH_SIZE} rows/tx",
            ),
        ]
        for name, n, size, writers, shape in cases:
            measured, baseline = await compare(
                w.store_append, w.raw_insert, n // size, size, writers
            )
            report.add(
                Result(
                    name=name,
                    value=measured,
                    unit="events/s",
                    baseline_name=f"raw INSERT {shape}",
                    baseline_value=baseline,
                    baseline_unit="rows/s",
                )
            )
    finally:
        await engine.dispose()
