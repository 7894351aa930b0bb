"""Rebuilding a read model beside the live one, on real PostgreSQL and Kafka."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
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
    totals_read_model,
    wait_until,
)
from kernel_totals_projection import KernelTotals, stream_totals
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.kafka import create_producer
from shared_kernel.projections import DeadLetters
from shared_kernel.readmodel import READ_MODEL_SCHEMA, ReadModelStore
from shared_kernel.rebuild import rebuild
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration


async def generation_rows(read_model: ReadModelStore, generation: int) -> dict[str, list[Any]]:
    """Every table of one generation (the projection's and its checkpoints), ordered by key."""
    tables: dict[str, list[Any]] = {}
    async with read_model.engine.connect() as raw:
        conn = await raw.execution_options(
            schema_translate_map={READ_MODEL_SCHEMA: read_model.schema(generation)}
        )
        for table in read_model.metadata.sorted_tables:
            rows = await conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            tables[table.name] = [tuple(row) for row in rows.all()]
    return tables


async def test_rebuild_switches_to_an_identical_generation_that_the_live_runner_follows(
    engine: AsyncEngine, kafka_bootstrap: str, kernel_topics: KernelTopics
) -> None:
    store = PostgresEventStore(SOURCE)
    streams = await append_bulk(engine, store, streams=100, per_stream=30)
    total = 100 * 30
    read_model = totals_read_model(engine)
    topic = TopicReader(kafka_bootstrap, kernel_topics.events, kernel_topics.partitions)
    async with (
        running_relay(engine, kafka_bootstrap, kernel_topics) as relay,
        running_projection(read_model, kafka_bootstrap, kernel_topics) as live,
        topic as r,
    ):
        await wait_until(lambda: relay_reached(engine, total), "relay", timeout=60, watch=[relay])
        await wait_until(lambda: caught_up(read_model, r), "live model", timeout=60, watch=[live])
        assert await read_totals(read_model) == await fold_store(engine)
        old = await read_model.active_generation()
        assert old is not None

        producer = create_producer(kafka_bootstrap, client_id="kernel-test-rebuild")
        await producer.start()
        try:
            report = await rebuild(
                KernelTotals(kernel_topics.namespace, apply_delay=0),
                read_model,
                kafka_bootstrap,
                DeadLetters(producer, kernel_topics.dead_letters),
            )
        finally:
            await producer.stop()

        assert report.generation == old + 1
        assert report.events == total
        assert await read_model.active_generation() == report.generation
        old_rows = await generation_rows(read_model, old)
        new_rows = await generation_rows(read_model, report.generation)
        assert len(old_rows[stream_totals.name]) == len(streams)
        assert new_rows == old_rows

        # Readers see the new generation: a row only it holds is visible through `reading`.
        sentinel = new_stream_id()
        async with engine.begin() as raw:
            conn = await raw.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: read_model.schema(report.generation)}
            )
            await conn.execute(
                stream_totals.insert().values(stream_id=sentinel, events=1, total=0, max_version=1)
            )
        assert sentinel in await read_totals(read_model)
        async with engine.begin() as raw:
            conn = await raw.execution_options(
                schema_translate_map={READ_MODEL_SCHEMA: read_model.schema(report.generation)}
            )
            await conn.execute(stream_totals.delete().where(stream_totals.c.stream_id == sentinel))

        # Events after the rebuild reach the new generation through the live runner.
        for stream_id in streams[:20]:
            await append(engine, store, stream_id, 30, [1, 2, 3])
        fresh = new_stream_id()
        await append(engine, store, fresh, 0, [42])
        await wait_until(
            lambda: relay_reached(engine, total + 61), "relay", timeout=60, watch=[relay]
        )
        await wait_until(
            lambda: caught_up(read_model, r), "live runner on the new generation",
            timeout=60, watch=[live],
        )  # fmt: skip
        live_totals = await read_totals(read_model)
        assert live_totals == await fold_store(engine)
        assert live_totals[fresh].total == 42
