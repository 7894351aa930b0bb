"""Projection runners on real PostgreSQL and Kafka: exactly once in effect across a SIGKILL,
and poison events set aside on the dead-letter topic while the projection moves on."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from kernel_harness import (
    SOURCE,
    KernelTopics,
    TopicReader,
    Worker,
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
from kernel_totals_projection import APPLY_DELAY_ENV, KernelTotals, Totals
from shared_kernel.envelope import EventEnvelope
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.kafka import create_producer, partition_for
from shared_kernel.readmodel import ReadModelStore
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration


async def applied_events(read_model: ReadModelStore) -> int:
    if await read_model.active_generation() is None:
        return 0
    return sum(t.events for t in (await read_totals(read_model)).values())


async def published(engine: AsyncEngine) -> bool:
    """The relay has published every event stored so far."""
    return await relay_reached(engine, await store_head(engine))


async def open_transactions(engine: AsyncEngine) -> int:
    """Other sessions of this database inside a transaction but between statements: here, the
    projector sleeping in the middle of a batch."""
    async with engine.connect() as conn:
        row = await conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
            )
        )
        return int(row.scalar_one())


async def test_projector_killed_mid_batch_applies_every_event_exactly_once(
    engine: AsyncEngine,
    kernel_database: str,
    kafka_bootstrap: str,
    kernel_topics: KernelTopics,
    tmp_path: Path,
) -> None:
    total = 12_000
    await append_bulk(engine, PostgresEventStore(SOURCE), streams=300, per_stream=40, per_tx=30)
    async with running_relay(engine, kafka_bootstrap, kernel_topics) as relay:
        await wait_until(
            lambda: relay_reached(engine, total), "the backlog on Kafka", timeout=60, watch=[relay]
        )

    read_model = totals_read_model(engine)
    projector = Worker(
        [
            "project",
            "--database-url", kernel_database,
            "--bootstrap", kafka_bootstrap,
            "--projection", f"kernel_totals_projection:{KernelTotals.__name__}",
            "--topic-namespace", kernel_topics.namespace,
            "--group", f"{kernel_topics.namespace}kernel.totals",
            "--dead-letter-topic", kernel_topics.dead_letters,
            "--max-records", "600",
        ],
        tmp_path / "projector.log",
    )  # fmt: skip

    async def mid_batch() -> bool:
        return await applied_events(read_model) > 0 and await open_transactions(engine) > 0

    # Slowed down inside each batch's transaction, so that the kill lands in the middle of one.
    await projector.start(env={APPLY_DELAY_ENV: "0.05"})
    try:
        await wait_until(
            mid_batch, "the projector inside a batch", timeout=60, interval=0.01, watch=[projector]
        )
        await projector.kill()
        applied_at_kill = await applied_events(read_model)
        assert 0 < applied_at_kill < total

        await projector.start()
        async with TopicReader(
            kafka_bootstrap, kernel_topics.events, kernel_topics.partitions
        ) as r:
            await wait_until(
                lambda: caught_up(read_model, r),
                "the restarted projector to catch up",
                timeout=90,
                watch=[projector],
            )
    finally:
        await projector.stop()
    assert await read_totals(read_model) == await fold_store(engine)


async def test_poison_events_go_to_dead_letters_and_later_events_are_projected(
    engine: AsyncEngine, kafka_bootstrap: str, kernel_topics: KernelTopics
) -> None:
    store = PostgresEventStore(SOURCE)
    stream = new_stream_id()
    others = [new_stream_id() for _ in range(5)]
    partition = partition_for(stream, kernel_topics.partitions)
    read_model = totals_read_model(engine)
    topic = TopicReader(kafka_bootstrap, kernel_topics.events, kernel_topics.partitions)
    async with (
        running_relay(engine, kafka_bootstrap, kernel_topics) as relay,
        running_projection(read_model, kafka_bootstrap, kernel_topics) as projection,
        topic as r,
    ):
        await append(engine, store, stream, 0, [1, 2, 3])
        for other in others:
            await append(engine, store, other, 0, [5])
        await wait_until(lambda: published(engine), "the relay", timeout=60, watch=[relay])
        await wait_until(
            lambda: caught_up(read_model, r),
            "the good events",
            timeout=60,
            watch=[relay, projection],
        )

        # On the stream's partition: garbage, then a stored event the projection cannot apply,
        # then good events again.
        producer = create_producer(kafka_bootstrap, client_id="kernel-test-garbage")
        await producer.start()
        try:
            await producer.send_and_wait(
                kernel_topics.events,
                value=b"\x00not json{",
                key=stream.encode(),
                partition=partition,
            )
        finally:
            await producer.stop()
        [poison] = await append(engine, store, stream, 3, ["boom"])
        await append(engine, store, stream, 4, [10, 20])
        for other in others:
            await append(engine, store, other, 1, [7])
        await wait_until(lambda: published(engine), "the relay", timeout=60, watch=[relay])
        await wait_until(
            lambda: caught_up(read_model, r),
            "the later events",
            timeout=60,
            watch=[relay, projection],
        )

    totals = await read_totals(read_model)
    assert totals[stream] == Totals(events=5, total=1 + 2 + 3 + 10 + 20, max_version=6)
    assert all(totals[o] == Totals(events=2, total=12, max_version=2) for o in others)
    assert totals == await fold_store(engine)

    async with TopicReader(kafka_bootstrap, kernel_topics.dead_letters, 1) as d:
        dead = await d.read_all()
    assert len(dead) == 2
    garbage, rejected = dead
    for record in dead:
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["dlq.projection"] == KernelTotals.name
        assert headers["dlq.topic"] == kernel_topics.events
        assert headers["dlq.partition"] == str(partition)
        assert record.key == stream.encode()
    assert garbage.value == b"\x00not json{"
    assert dict(garbage.headers)["dlq.error"].startswith(b"undecodable")
    assert EventEnvelope.from_json_bytes(rejected.value or b"").id == poison.id
    assert b"ValueError" in dict(rejected.headers)["dlq.error"]
    assert int(dict(garbage.headers)["dlq.offset"]) < int(dict(rejected.headers)["dlq.offset"])
