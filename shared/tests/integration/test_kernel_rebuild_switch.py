"""A rebuild beside a live runner that keeps applying: readers never go back in time, and the
poison records the live generation dead-lettered are not dead-lettered again."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from itertools import pairwise

import pytest
from kernel_harness import (
    SOURCE,
    KernelTopics,
    TopicReader,
    append,
    append_bulk,
    caught_up,
    fold_store,
    new_stream_id,
    read_totals,
    relay_reached,
    running_projection,
    running_relay,
    store_head,
    totals_read_model,
    wait_until,
)
from kernel_totals_projection import KernelTotals
from shared_kernel.envelope import EventEnvelope
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.kafka import create_producer
from shared_kernel.projections import DeadLetters
from shared_kernel.readmodel import ReadModelStore
from shared_kernel.rebuild import RebuildReport, rebuild
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

pytestmark = pytest.mark.integration


class InterruptedTotals(KernelTotals):
    """Runs ``meanwhile`` once, before the first batch the rebuild applies: after the rebuild
    has taken the topic's end offsets, so what happens then is beyond them."""

    def __init__(self, namespace: str, meanwhile: Callable[[], Awaitable[None]]) -> None:
        super().__init__(namespace, apply_delay=0)
        self._meanwhile: Callable[[], Awaitable[None]] | None = meanwhile

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[EventEnvelope]) -> None:
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            await meanwhile()
        await super().apply_batch(conn, events)


async def rebuild_with(
    projection: KernelTotals, read_model: ReadModelStore, bootstrap: str, topics: KernelTopics
) -> RebuildReport:
    producer = create_producer(bootstrap, client_id="kernel-test-rebuild")
    await producer.start()
    try:
        return await rebuild(
            projection, read_model, bootstrap, DeadLetters(producer, topics.dead_letters)
        )
    finally:
        await producer.stop()


async def test_the_switch_waits_until_the_new_generation_has_what_readers_saw(
    engine: AsyncEngine, kafka_bootstrap: str, kernel_topics: KernelTopics
) -> None:
    store = PostgresEventStore(SOURCE)
    streams = await append_bulk(engine, store, streams=20, per_stream=5)
    read_model = totals_read_model(engine)
    await read_model.ensure_live()
    late = new_stream_id()
    topic = TopicReader(kafka_bootstrap, kernel_topics.events, kernel_topics.partitions)
    async with (
        running_relay(engine, kafka_bootstrap, kernel_topics) as relay,
        contextlib.AsyncExitStack() as live_runner,
        topic as r,
    ):
        live = await live_runner.enter_async_context(
            running_projection(read_model, kafka_bootstrap, kernel_topics)
        )
        await wait_until(lambda: relay_reached(engine, 100), "relay", timeout=60, watch=[relay])
        await wait_until(lambda: caught_up(read_model, r), "live model", timeout=60, watch=[live])
        seen: dict[str, object] = {}

        async def live_runner_goes_on() -> None:
            await append(engine, store, late, 0, [1, 2, 3])
            await append(engine, store, streams[0], 5, [1000])
            await wait_until(lambda: relay_reached(engine, 104), "relay", timeout=60)
            await wait_until(
                lambda: caught_up(read_model, r), "live model", timeout=60, watch=[live]
            )
            seen.update(await read_totals(read_model))
            # Stopped, so that nothing but the rebuild itself can bring the new generation
            # up to what readers have seen.
            await live_runner.aclose()

        await rebuild_with(
            InterruptedTotals(kernel_topics.namespace, live_runner_goes_on),
            read_model,
            kafka_bootstrap,
            kernel_topics,
        )

        assert late in seen  # the reader saw the late events on the old generation ...
        after = await read_totals(read_model)
        assert after == seen  # ... and still sees them on the new one
        assert after == await fold_store(engine)


async def test_under_load_a_reader_never_sees_the_read_model_go_back(
    engine: AsyncEngine, kafka_bootstrap: str, kernel_topics: KernelTopics
) -> None:
    store = PostgresEventStore(SOURCE)
    streams = await append_bulk(engine, store, streams=100, per_stream=20)
    versions = dict.fromkeys(streams, 20)
    read_model = totals_read_model(engine)
    await read_model.ensure_live()
    topic = TopicReader(kafka_bootstrap, kernel_topics.events, kernel_topics.partitions)
    rebuilding = True
    seen: list[int] = []

    async def write() -> None:
        while rebuilding:
            stream = random.choice(streams)
            await append(engine, store, stream, versions[stream], [1])
            versions[stream] += 1
            await asyncio.sleep(0.005)

    async def read() -> None:
        while rebuilding:
            seen.append(sum(t.events for t in (await read_totals(read_model)).values()))
            await asyncio.sleep(0.002)

    async with (
        running_relay(engine, kafka_bootstrap, kernel_topics) as relay,
        running_projection(read_model, kafka_bootstrap, kernel_topics) as live,
        topic as r,
    ):
        await wait_until(lambda: relay_reached(engine, 2000), "relay", timeout=60, watch=[relay])
        await wait_until(lambda: caught_up(read_model, r), "live model", timeout=60, watch=[live])
        writer, reader = asyncio.create_task(write()), asyncio.create_task(read())
        try:
            for _ in range(2):
                await rebuild_with(
                    KernelTotals(kernel_topics.namespace, apply_delay=0),
                    read_model,
                    kafka_bootstrap,
                    kernel_topics,
                )
                await asyncio.sleep(0.3)
        finally:
            rebuilding = False
            await asyncio.gather(writer, reader)
        head = await store_head(engine)
        await wait_until(lambda: relay_reached(engine, head), "relay", timeout=60, watch=[relay])
        await wait_until(lambda: caught_up(read_model, r), "live model", timeout=60, watch=[live])
        assert await read_totals(read_model) == await fold_store(engine)

    drops = [(before, after) for before, after in pairwise(seen) if after < before]
    assert len(seen) > 50 and seen[-1] > 2000
    assert drops == []


async def test_a_rebuild_does_not_dead_letter_again_what_the_live_generation_did(
    engine: AsyncEngine, kafka_bootstrap: str, kernel_topics: KernelTopics
) -> None:
    store = PostgresEventStore(SOURCE)
    stream = new_stream_id()
    read_model = totals_read_model(engine)
    await read_model.ensure_live()
    topic = TopicReader(kafka_bootstrap, kernel_topics.events, kernel_topics.partitions)
    dead_letters = TopicReader(kafka_bootstrap, kernel_topics.dead_letters, 1)
    async with (
        running_relay(engine, kafka_bootstrap, kernel_topics) as relay,
        running_projection(read_model, kafka_bootstrap, kernel_topics) as live,
        topic as r,
        dead_letters as d,
    ):
        await append(engine, store, stream, 0, [1, "boom", 2])
        head = await store_head(engine)
        await wait_until(lambda: relay_reached(engine, head), "relay", timeout=60, watch=[relay])
        await wait_until(lambda: caught_up(read_model, r), "live model", timeout=60, watch=[live])
        assert await d.size() == 1

        for _ in range(2):
            await rebuild_with(
                KernelTotals(kernel_topics.namespace, apply_delay=0),
                read_model,
                kafka_bootstrap,
                kernel_topics,
            )
        assert await d.size() == 1
        assert (await read_totals(read_model))[stream].total == 3
