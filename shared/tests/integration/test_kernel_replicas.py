"""Replicas of a service start side by side: what each does at start-up must not break the
others' (``LEDGER_REPLICAS=2 make run`` starts both at once)."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from kernel_harness import (
    SOURCE,
    KernelTopics,
    TopicReader,
    Worker,
    append,
    decode_all,
    new_stream_id,
    totals_read_model,
    wait_until,
)
from kernel_totals_projection import stream_totals
from shared_kernel.db import create_engine
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.outbox import STALE_LEADER_SECONDS
from shared_kernel.readmodel import READ_MODEL_SCHEMA
from shared_kernel.schema import events
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration


async def test_replicas_ensuring_a_read_model_at_once_create_one_generation_and_keep_it(
    kernel_database: str,
) -> None:
    # One engine each, as separate processes have: their DDL really runs side by side.
    engines = [create_engine(kernel_database) for _ in range(4)]
    try:
        stores = [totals_read_model(engine) for engine in engines]
        generations = await asyncio.gather(*(store.ensure_live() for store in stores))
        assert generations == [1, 1, 1, 1]
        # What the first replica's runner applies is kept when another replica starts later.
        async with engines[0].begin() as conn:
            translated = await conn.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: stores[0].schema(1)}
            )
            await translated.execute(
                sa.insert(stream_totals).values(stream_id="s-1", events=1, total=5, max_version=1)
            )
        assert await asyncio.gather(*(store.ensure_live() for store in stores[1:])) == [1, 1, 1]
        async with engines[1].connect() as conn:
            translated = await conn.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: stores[1].schema(1)}
            )
            totals = (await translated.execute(sa.select(stream_totals.c.total))).scalars()
            assert list(totals) == [5]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_stopped_relay_leader_is_ended_by_a_standby_that_publishes_on(
    engine: AsyncEngine,
    kernel_database: str,
    kafka_bootstrap: str,
    kernel_topics: KernelTopics,
    tmp_path: Path,
) -> None:
    """SIGSTOP keeps the leader's connection, and with it the lock, open for ever: its heartbeat
    stops, and a standby ends that connection after ``STALE_LEADER_SECONDS`` and publishes. The
    stopped leader, resumed, steps down; every stored event is on the topic, none lost."""
    relay_args = [
        "relay",
        "--database-url", kernel_database,
        "--bootstrap", kafka_bootstrap,
        "--topic", kernel_topics.events,
        "--partitions", str(kernel_topics.partitions),
        "--source", SOURCE,
    ]  # fmt: skip
    first = Worker(relay_args, tmp_path / "first.log")
    second = Worker(relay_args, tmp_path / "second.log")
    store = PostgresEventStore(SOURCE)
    async with TopicReader(kafka_bootstrap, kernel_topics.events, kernel_topics.partitions) as r:

        async def all_published() -> bool:
            return {e.id for e in decode_all(await r.read_all())} == await stored_ids(engine)

        await first.start()
        try:
            await append(engine, store, new_stream_id(), 0, [1, 2, 3])
            await wait_until(all_published, "the first relay publishes", timeout=60, watch=[first])
            await second.start()
            await asyncio.sleep(3)  # the second is a standby by now (it checks every second)
            assert first.process is not None
            first.process.send_signal(signal.SIGSTOP)
            stopped = time.monotonic()
            await append(engine, store, new_stream_id(), 0, [4, 5, 6])
            await wait_until(
                all_published,
                "the standby to take over",
                timeout=STALE_LEADER_SECONDS + 30,
                interval=0.2,
                watch=[second],
            )
            took = time.monotonic() - stopped
            print(f"\nstopped relay leader replaced after {took:.1f} s")
            assert took >= STALE_LEADER_SECONDS - 1  # not before it was stale
            assert "untouched for" in second.log()

            first.process.send_signal(signal.SIGCONT)
            await append(engine, store, new_stream_id(), 0, [7, 8])
            await wait_until(all_published, "the events after", timeout=60, watch=[second])
            await asyncio.sleep(2)
            first.check_alive()  # stepped down and stands by; the process lives on
            assert "leadership" in first.log()
        finally:
            if first.process is not None and first.process.returncode is None:
                first.process.send_signal(signal.SIGCONT)
            await first.stop()
            await second.stop()


async def stored_ids(engine: AsyncEngine) -> set[object]:
    async with engine.connect() as conn:
        return set((await conn.execute(sa.select(events.c.event_id))).scalars().all())
