"""Outbox relay throughput to Kafka, beside a bare producer sending the same messages.

The relay reads batches after its cursor from PostgreSQL, turns the rows into CloudEvents JSON
(``outbox_records``) and sends them with the kernel's producer settings (idempotent, acks=all,
zstd), pipelined: it reads the next batch while earlier ones wait for their acknowledgements,
and moves its cursor over acknowledged batches only. The baseline sends the same records
(value, key, partition, headers) pre-serialised, from memory, with a producer built the same
way, one ``send`` per record, in batches of the same size, each awaited before the next (send,
then gather), to a fresh topic.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer
from bench_common import (
    PARTITIONS,
    Report,
    Result,
    create_database,
    fill,
    kafka_bootstrap,
    ledger_appends,
    namespace,
    profiled,
    topic_size,
)
from shared_kernel.db import create_engine
from shared_kernel.eventstore import EventStore, PostgresEventStore
from shared_kernel.kafka import TopicSpec, create_producer, ensure_topics, partition_for
from shared_kernel.outbox import OutboxRelay
from sqlalchemy.ext.asyncio import AsyncEngine

EVENTS = 50_000
ACCOUNTS = 200
BATCH = 1000  # the relay's default batch size
ROUNDS = 2
HEADERS = [("content-type", b"application/cloudevents+json")]

Message = tuple[bytes, bytes, int]  # value, key, partition


async def relay_until(relay: OutboxRelay, position: int) -> float:
    """Runs the relay's pipeline until its cursor reaches ``position`` (the relay started at 0,
    so that is when it has published ``position`` events); returns the seconds taken."""
    started = time.perf_counter()
    await relay.publish_available(until=position)
    if relay.published < position:
        raise RuntimeError(f"relay stopped at {relay.published}, short of {position}")
    return time.perf_counter() - started


async def bare_send(producer: AIOKafkaProducer, topic: str, messages: list[Message]) -> float:
    started = time.perf_counter()
    for i in range(0, len(messages), BATCH):
        acks = [
            await producer.send(topic, value=value, key=key, partition=partition, headers=HEADERS)
            for value, key, partition in messages[i : i + BATCH]
        ]
        await asyncio.gather(*acks)
    return time.perf_counter() - started


async def serialised(engine: AsyncEngine, store: EventStore) -> list[Message]:
    """Every stored event as the relay would send it."""
    messages: list[Message] = []
    async with engine.connect() as conn:
        position = 0
        while batch := await store.read_after(conn, position, 10_000):
            messages += [
                (e.to_json_bytes(), e.subject.encode(), partition_for(e.subject, PARTITIONS))
                for e in batch
            ]
            position = batch[-1].position
    return messages


async def run(report: Report) -> None:
    url = await create_database("relay")
    engine = create_engine(url)
    store = PostgresEventStore(source="/ledger")
    relay_topic, bare_topic = f"{namespace()}ledger.events", f"{namespace()}ledger.events"
    try:
        await ensure_topics(
            kafka_bootstrap(),
            [TopicSpec(relay_topic, PARTITIONS), TopicSpec(bare_topic, PARTITIONS)],
        )
        filled = await fill(engine, store, ledger_appends(ACCOUNTS, EVENTS - ACCOUNTS))
        async with engine.connect() as conn:
            head = await store.head(conn)
        assert filled == EVENTS == head, (filled, head)

        messages = await serialised(engine, store)
        relay_producer = create_producer(kafka_bootstrap(), client_id="bench-relay")
        bare_producer = create_producer(kafka_bootstrap(), client_id="bench-bare-producer")
        await relay_producer.start()
        await bare_producer.start()
        try:
            # Metadata fetched before the clock starts.
            await relay_producer.partitions_for(relay_topic)
            await bare_producer.partitions_for(bare_topic)
            relay = OutboxRelay(
                engine, store, relay_producer, relay_topic, PARTITIONS, batch_size=BATCH
            )
            # Alternate halves, so that a load spike from other processes hits both alike.
            relay_seconds = bare_seconds = 0.0
            half = EVENTS // ROUNDS
            for n in range(ROUNDS):
                with profiled("outbox relay"):
                    relay_seconds += await relay_until(relay, (n + 1) * half)
                bare_seconds += await bare_send(
                    bare_producer, bare_topic, messages[n * half : (n + 1) * half]
                )
        finally:
            await relay_producer.stop()
            await bare_producer.stop()

        assert await relay.cursor() == head, "the relay's stored cursor is not at the head"
        sizes = (await topic_size(relay_topic), await topic_size(bare_topic))
        average = sum(len(m[0]) for m in messages) / len(messages)
        result = Result(
            name="outbox relay to Kafka",
            value=EVENTS / relay_seconds,
            unit="events/s",
            detail=f"({EVENTS:,} in {relay_seconds:.1f}s)",
            baseline_name="bare AIOKafkaProducer",
            baseline_value=EVENTS / bare_seconds,
            baseline_detail=f"({bare_seconds:.1f}s)",
            figure="relay",
        )
        if sizes != (EVENTS, EVENTS):
            result.notes.append(f"WARNING: topics hold {sizes} records, expected {EVENTS} each")
        result.notes.append(
            f"{average:.0f}-byte CloudEvents, {PARTITIONS} partitions, batches of {BATCH}, "
            "idempotent acks=all zstd producer, relay pipelined (up to 4 batches in flight)"
        )
        report.add(result)
    finally:
        await engine.dispose()
