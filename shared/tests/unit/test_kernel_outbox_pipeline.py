"""The relay's pipeline, with a fake producer whose acknowledgements the test hands out: the
cursor only ever reaches a position whose events, and all before it, Kafka acknowledged, also
when acknowledgements come out of order and when a send fails in the middle of the pipeline."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from shared_kernel.memory import InMemoryEventStore
from shared_kernel.outbox import OutboxRelay
from shared_kernel.outbox_records import OutboxRow
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.unit

BATCH = 10


class FakeBuilder:
    def __init__(self) -> None:
        self.positions: list[int] = []
        self.closed = False

    def append(self, *, timestamp: None, key: bytes, value: bytes, headers: object) -> object:
        assert not self.closed
        self.positions.append(int(orjson.loads(value)["position"]))
        return object()

    def close(self) -> None:
        self.closed = True


class FakeProducer:
    """Hands out one future per record batch; the test settles them when and how it likes."""

    def __init__(self) -> None:
        self.sent: list[tuple[list[int], asyncio.Future[None]]] = []

    def create_batch(self) -> FakeBuilder:
        return FakeBuilder()

    async def send_batch(
        self, builder: FakeBuilder, topic: str, *, partition: int
    ) -> asyncio.Future[None]:
        assert builder.closed, "a batch handed over open may linger"
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sent.append((builder.positions, future))
        return future

    def acknowledged_through(self, position: int) -> bool:
        """Every event up to ``position`` that was sent is acknowledged."""
        return all(
            future.done() and future.exception() is None
            for positions, future in self.sent
            if min(positions) <= position
        )


def stored(position: int) -> dict[str, Any]:
    """An outbox row as the relay reads it (``outbox_records.OUTBOX_ROWS``)."""
    return {
        "position": position,
        "event_id": str(uuid4()),
        "stream_id": f"counter-{position % 3}",
        "stream_type": "counter",
        "stream_version": position,
        "event_type": "test.Counted",
        "event_version": 1,
        "correlation_id": "c",
        "causation_id": "c",
        "actor": "system:test",
        "actor_office": "system",
        "recorded_at": datetime.now(UTC),
        "traceparent": None,
        "tracestate": None,
        "data_json": "{}",
    }


class PipelinedRelay(OutboxRelay):
    """The relay over an in-memory outbox of ``events`` events; its cursor writes are recorded,
    each checked against what the producer acknowledged at that moment."""

    def __init__(self, producer: FakeProducer, events: int) -> None:
        super().__init__(
            cast(AsyncEngine, None),
            InMemoryEventStore("/test"),
            cast(AIOKafkaProducer, producer),
            "test.events",
            partitions=1,  # one record batch per relay batch: one future each
            batch_size=BATCH,
            max_in_flight=3,
            checkpoint_interval=0.0,  # a cursor write whenever the acknowledged prefix grows
        )
        self.fake = producer
        self.outbox: list[OutboxRow] = [stored(p) for p in range(1, events + 1)]
        self.cursor_writes: list[int] = []
        self._cursor = 0

    async def _next_batch(self, after: int) -> list[OutboxRow]:
        return self.outbox[after : after + BATCH]

    async def _advance(self, position: int) -> None:
        assert self.fake.acknowledged_through(position), f"cursor to {position} ahead of acks"
        self.cursor_writes.append(position)
        self._cursor = position


async def sent_batches(producer: FakeProducer, count: int) -> None:
    """Let the pipeline run until ``count`` batches are with the producer."""
    for _ in range(1000):
        if len(producer.sent) >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"only {len(producer.sent)} batches sent, expected {count}")


def ack(producer: FakeProducer, batch: int) -> None:
    producer.sent[batch][1].set_result(None)


async def test_a_failed_send_ends_the_run_with_the_cursor_behind_it() -> None:
    producer = FakeProducer()
    relay = PipelinedRelay(producer, events=60)
    run = asyncio.create_task(relay.publish_available())
    await sent_batches(producer, 3)  # the window is full: events 1-30 in flight
    ack(producer, 2)  # events 21-30 first: no cursor move, 11-20 are still open
    await asyncio.sleep(0)
    assert relay.cursor_writes == []
    ack(producer, 0)
    await sent_batches(producer, 4)  # the window moved on: events 31-40 in flight
    assert relay.cursor_writes == [10]
    producer.sent[1][1].set_exception(KafkaError("broker said no"))
    with pytest.raises(KafkaError, match="broker said no"):
        await run
    # Never beyond 10: 21-30 are acknowledged, but 11-20 failed; a restart re-sends from 11.
    assert relay.cursor_writes == [10]
    assert relay.published == 10


async def test_acknowledgements_out_of_order_move_the_cursor_in_order() -> None:
    producer = FakeProducer()
    relay = PipelinedRelay(producer, events=45)
    run = asyncio.create_task(relay.publish_available())
    acked = 0
    while not run.done():
        await asyncio.sleep(0)
        open_batches = [i for i, (_, f) in enumerate(producer.sent) if not f.done()]
        if len(open_batches) == 3 or (open_batches and len(producer.sent) == 5):
            for batch in reversed(open_batches):  # newest first
                ack(producer, batch)
                acked += 1
    assert await run == 45
    assert acked == 5
    assert relay.cursor_writes == sorted(relay.cursor_writes)
    assert relay.cursor_writes[-1] == 45
    assert [p for positions, _ in producer.sent for p in positions] == list(range(1, 46))


async def test_the_read_goes_on_while_acknowledgements_are_pending() -> None:
    producer = FakeProducer()
    relay = PipelinedRelay(producer, events=100)
    run = asyncio.create_task(relay.publish_available())
    await sent_batches(producer, 3)
    # Three batches out and not one acknowledged: the pipeline read ahead, up to its window.
    await asyncio.sleep(0)
    assert len(producer.sent) == 3 and relay.cursor_writes == []
    for batch in range(10):
        await sent_batches(producer, batch + 1)
        ack(producer, batch)
    assert await run == 100
    assert relay.cursor_writes[-1] == 100
