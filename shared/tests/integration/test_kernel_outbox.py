"""The transactional outbox on real PostgreSQL and Kafka: every committed event reaches the
topic, in stream order, also with concurrent writers and when the relay is killed."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiokafka import ConsumerRecord
from kernel_harness import (
    SOURCE,
    STREAM_TYPE,
    KernelTopics,
    TopicReader,
    Worker,
    append_bulk,
    caught_up,
    decode_all,
    fold_store,
    metadata_for,
    new_events,
    new_stream_id,
    read_totals,
    relay_cursor,
    relay_reached,
    running_projection,
    running_relay,
    store_head,
    totals_read_model,
    wait_until,
)
from shared_kernel.envelope import EventEnvelope
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.eventstore import EventStore, PostgresEventStore, StreamAppend
from shared_kernel.group_commit import GroupCommit
from shared_kernel.kafka import partition_for
from shared_kernel.schema import event_seals, events
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

pytestmark = pytest.mark.integration

WorkItem = list[tuple[str, list[int]]]  # one transaction: values for one or two streams


def plan_work(total: int, streams: list[str]) -> list[WorkItem]:
    """Transactions of 1 to 16 events on random streams; one in five spans two streams."""
    items: list[WorkItem] = []
    remaining = total
    while remaining:
        size = min(random.randint(1, 16), remaining)
        remaining -= size
        values = [random.randint(-1000, 1000) for _ in range(size)]
        if size >= 2 and random.random() < 0.2:
            first, second = random.sample(streams, 2)
            cut = random.randint(1, size - 1)
            items.append([(first, values[:cut]), (second, values[cut:])])
        else:
            items.append([(random.choice(streams), values)])
    return items


async def stream_versions(conn: AsyncConnection, stream_ids: list[str]) -> dict[str, int]:
    rows = await conn.execute(
        sa.select(events.c.stream_id, sa.func.max(events.c.stream_version))
        .where(events.c.stream_id.in_(stream_ids))
        .group_by(events.c.stream_id)
    )
    return {stream_id: int(version) for stream_id, version in rows.all()}


async def write(
    engine: AsyncEngine,
    store: EventStore,
    name: str,
    work: asyncio.Queue[WorkItem],
    group: GroupCommit | None = None,
) -> int:
    """Append work items, each in a transaction of its own or, with ``group``, in the group
    commit's transactions; returns how often it had to retry."""
    conflicts = 0
    while not work.empty():
        item = work.get_nowait()
        while True:
            try:
                async with engine.begin() as conn:
                    current = await stream_versions(conn, [s for s, _ in item])
                    appends = [
                        StreamAppend(s, STREAM_TYPE, current.get(s, 0), new_events(values))
                        for s, values in item
                    ]
                    if group is None:
                        await store.append(conn, appends, metadata_for(name))
                if group is not None:
                    await group.commit(appends, metadata_for(name), None)
                break
            except ConcurrencyConflict:
                conflicts += 1
    return conflicts


def first_occurrences(records: list[ConsumerRecord[bytes, bytes]]) -> list[EventEnvelope]:
    seen: set[object] = set()
    first: list[EventEnvelope] = []
    for envelope in decode_all(records):
        if envelope.id not in seen:
            seen.add(envelope.id)
            first.append(envelope)
    return first


def assert_stream_order(records: list[ConsumerRecord[bytes, bytes]], partitions: int) -> None:
    """Each stream is on its key's partition, and its versions (first publications) come as
    1, 2, 3, ... in offset order: nothing missing, nothing out of order."""
    versions: dict[str, list[int]] = defaultdict(list)
    for record, envelope in zip(records, decode_all(records), strict=True):
        assert record.partition == partition_for(envelope.subject, partitions)
        assert record.key == envelope.subject.encode()
    for envelope in first_occurrences(records):
        versions[envelope.subject].append(envelope.stream_version)
    for stream_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"{stream_id} arrived as {seen}"


async def stored_ids(engine: AsyncEngine) -> set[object]:
    async with engine.connect() as conn:
        return set((await conn.execute(sa.select(events.c.event_id))).scalars().all())


@pytest.mark.parametrize("grouped", [False, True], ids=["alone", "group commit"])
async def test_concurrent_writers_every_committed_event_reaches_kafka_once_in_order(
    engine: AsyncEngine, kafka_bootstrap: str, kernel_topics: KernelTopics, grouped: bool
) -> None:
    total, writers = 20_000, 8
    store = PostgresEventStore(SOURCE)
    group = GroupCommit(engine, store) if grouped else None
    work: asyncio.Queue[WorkItem] = asyncio.Queue()
    for item in plan_work(total, [new_stream_id() for _ in range(500)]):
        work.put_nowait(item)

    async with running_relay(engine, kafka_bootstrap, kernel_topics, batch_size=500) as relay:
        await asyncio.gather(
            *(write(engine, store, f"writer-{w}", work, group) for w in range(writers))
        )
        published_while_writing = relay.extra["relay"].published
        head = await store_head(engine)  # positions have gaps (conflicts abort): not ``total``
        await wait_until(
            lambda: relay_reached(engine, head),
            "the relay to publish every event",
            timeout=60,
            watch=[relay],
        )
    # The relay published while the writers were still committing (the gap trap's setting).
    assert 0 < published_while_writing < total
    if group is not None:  # the commands did share transactions
        assert group.commands > group.groups

    async with TopicReader(kafka_bootstrap, kernel_topics.events, kernel_topics.partitions) as r:
        records = await r.read_all()
    envelopes = decode_all(records)
    missing = await stored_ids(engine) - {e.id for e in envelopes}
    assert not missing, f"{len(missing)} committed events never reached Kafka"
    assert len(records) == total  # no duplicates: the relay never restarted
    assert len(records) == total  # no duplicates: the relay never restarted
    for partition in range(kernel_topics.partitions):
        positions = [
            e.position for r, e in zip(records, envelopes, strict=True) if r.partition == partition
        ]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert_stream_order(records, kernel_topics.partitions)

    async with engine.connect() as conn:
        count, last = (
            await conn.execute(sa.select(sa.func.count(), sa.func.max(events.c.position)))
        ).one()
        seals = sa.select(sa.func.count()).where(event_seals.c.position > 0)  # 0: the boundary
        sealed = (await conn.execute(seals)).scalar()
        report = await store.verify_chain(conn)
    # Positions are unique (the key) but not gapless; every committed event was sealed once,
    # in publication order, and both chains hold.
    assert (count, last, sealed) == (total, head, total)
    assert report.intact and report.checked == total


async def test_relay_killed_mid_stream_resumes_and_duplicates_change_no_read_model(
    engine: AsyncEngine,
    kernel_database: str,
    kafka_bootstrap: str,
    kernel_topics: KernelTopics,
    tmp_path: Path,
) -> None:
    total = 20_000
    await append_bulk(engine, PostgresEventStore(SOURCE), streams=400, per_stream=50, per_tx=20)
    relay = Worker(
        [
            "relay",
            "--database-url", kernel_database,
            "--bootstrap", kafka_bootstrap,
            "--topic", kernel_topics.events,
            "--partitions", str(kernel_topics.partitions),
            "--source", SOURCE,
            "--batch-size", "250",
        ],
        tmp_path / "relay.log",
    )  # fmt: skip
    kills: list[tuple[int, int]] = []  # (events on the topic, relay cursor) after each kill
    async with TopicReader(kafka_bootstrap, kernel_topics.events, kernel_topics.partitions) as r:

        async def on_topic_at_least(events: int) -> bool:
            return await r.size() >= events

        async def acknowledged_beyond_cursor() -> bool:
            return await r.size() > await relay_cursor(engine)

        await relay.start()
        try:
            # First kill: wherever the relay happens to be once 15% are out.
            await wait_until(
                lambda: on_topic_at_least(total * 15 // 100), "15% on the topic",
                timeout=60, interval=0.01, watch=[relay],
            )  # fmt: skip
            await relay.kill()
            kills.append((await r.size(), await relay_cursor(engine)))
            await relay.start()

            # Second kill: after Kafka acknowledged a batch, before the cursor moved. Holding a
            # lock on the cursor table stalls the relay exactly there.
            await wait_until(
                lambda: on_topic_at_least(total * 55 // 100), "55% on the topic",
                timeout=60, interval=0.01, watch=[relay],
            )  # fmt: skip
            async with engine.begin() as conn:
                await conn.execute(sa.text("LOCK TABLE outbox_cursor IN SHARE MODE"))
                await wait_until(
                    acknowledged_beyond_cursor, "a batch acknowledged but not checkpointed",
                    timeout=30, interval=0.01, watch=[relay],
                )  # fmt: skip
                await relay.kill()
                kills.append((await r.size(), await relay_cursor(engine)))
            await relay.start()
            await wait_until(
                lambda: relay_reached(engine, total),
                "the restarted relay to publish every event",
                timeout=60,
                watch=[relay],
            )
        finally:
            await relay.stop()
        records = await r.read_all()

        # Both kills hit the relay in the middle of the backlog, the second one after Kafka had
        # acknowledged events whose cursor update never happened: those went out twice.
        assert all(0 < on_topic < total for on_topic, _ in kills), kills
        assert kills[1][0] > kills[1][1], kills
        assert len(records) >= total + kills[1][0] - kills[1][1]
        ids = {e.id for e in decode_all(records)}
        assert ids == await stored_ids(engine)  # none missing
        assert_stream_order(records, kernel_topics.partitions)

        read_model = totals_read_model(engine)
        async with running_projection(read_model, kafka_bootstrap, kernel_topics) as projection:
            await wait_until(
                lambda: caught_up(read_model, r),
                "the projection to reach the end of the topic",
                timeout=60,
                watch=[projection],
            )
        assert await read_totals(read_model) == await fold_store(engine)
