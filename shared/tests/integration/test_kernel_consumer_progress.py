"""A projection's progress comes from Kafka offsets, not from the ``position`` inside a message;
a relay duplicate (the same event id at a new offset) is applied once. Records are handed to
the ``ProjectionWriter`` as the broker would deliver them, on a real PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from kernel_harness import EVENT_TYPE, SOURCE, STREAM_TYPE, read_totals, totals_read_model
from kernel_totals_projection import KernelTotals, Totals
from shared_kernel.envelope import Actor, EventEnvelope, versioned_type
from shared_kernel.projections import DeadLetters, GenerationSwitched, ProjectionWriter
from shared_kernel.readmodel import Offsets
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration

TOPIC = "kernel.events"
TP = TopicPartition(TOPIC, 0)


class NoDeadLetters(DeadLetters):
    """None of these records is poison: a dead letter would be a defect."""

    def __init__(self) -> None:
        pass

    async def send(self, projection: str, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        raise AssertionError(f"dead-lettered {record.offset}: {error}")


def envelope(stream_id: str, version: int, position: int, value: int) -> EventEnvelope:
    return EventEnvelope(
        id=uuid4(),
        source=SOURCE,
        type=versioned_type(EVENT_TYPE, 1),
        subject=stream_id,
        time=datetime.now(UTC),
        data={"value": value},
        stream_type=STREAM_TYPE,
        stream_version=version,
        position=position,
        correlation_id=str(uuid4()),
        causation_id=str(uuid4()),
        actor=Actor(subject="user:test", office="back"),
    )


def records(
    first_offset: int, events: Sequence[EventEnvelope]
) -> list[ConsumerRecord[bytes, bytes]]:
    """The events as one partition delivers them, from ``first_offset`` on."""
    made: list[ConsumerRecord[bytes, bytes]] = []
    for offset, event in enumerate(events, start=first_offset):
        value = event.to_json_bytes()
        made.append(
            ConsumerRecord(
                TOPIC, 0, offset, 0, 0, event.subject.encode(), value, None, 0, len(value), []
            )
        )
    return made


async def live_writer(engine: AsyncEngine) -> ProjectionWriter:
    read_model = totals_read_model(engine)
    generation = await read_model.ensure_live()
    return ProjectionWriter(KernelTotals(), read_model, generation, NoDeadLetters())


async def test_a_foreign_message_with_a_huge_position_does_not_hide_later_events(
    engine: AsyncEngine,
) -> None:
    writer = await live_writer(engine)
    stream, foreign = f"counter-{uuid4()}", f"foreign-{uuid4()}"
    await writer.write(TP, records(0, [envelope(stream, 1, 1, 5)]))
    await writer.write(TP, records(1, [envelope(foreign, 1, 10**15, 1)]))
    await writer.write(TP, records(2, [envelope(stream, 2, 2, 7), envelope(stream, 3, 3, 11)]))

    totals = await read_totals(writer.read_model)
    assert totals[stream] == Totals(events=3, total=5 + 7 + 11, max_version=3)
    assert totals[foreign] == Totals(events=1, total=1, max_version=1)
    checkpoint = await writer.checkpoint(TP)
    assert checkpoint is not None and checkpoint.kafka_offset == 3  # progress: the offsets


async def test_a_relay_duplicate_is_applied_once(engine: AsyncEngine) -> None:
    writer = await live_writer(engine)
    stream = f"counter-{uuid4()}"
    first, second, third = (envelope(stream, v, v, 10 * v) for v in (1, 2, 3))
    await writer.write(TP, records(0, [first, second]))
    # The relay crashed before moving its cursor: it sends the batch again at new offsets,
    # then goes on; a duplicate may also share a batch with its original.
    await writer.write(TP, records(2, [first, second, third]))
    await writer.write(TP, records(5, [third, third]))

    assert (await read_totals(writer.read_model))[stream] == Totals(3, 10 + 20 + 30, 3)
    assert writer.applied == 3


async def test_a_live_writer_refuses_a_generation_that_readers_have_left(
    engine: AsyncEngine,
) -> None:
    writer = await live_writer(engine)
    stream = f"counter-{uuid4()}"
    await writer.write(TP, records(0, [envelope(stream, 1, 1, 5)]))
    read_model = writer.read_model
    await read_model.create_generation(writer.generation + 1)

    async def catch_up(targets: Offsets) -> None:
        new = ProjectionWriter(
            KernelTotals(), read_model, writer.generation + 1, NoDeadLetters(), live=False
        )
        await new.write(TP, records(0, [envelope(stream, 1, 1, 5)]))

    await read_model.switch_when_caught_up(writer.generation + 1, catch_up)

    with pytest.raises(GenerationSwitched):
        await writer.write(TP, records(1, [envelope(stream, 2, 2, 7)]))
    assert await read_model.active_generation() == writer.generation + 1


class RecordedDeadLetters(DeadLetters):
    """Keeps what would go to the dead-letter topic: (partition, offset, error)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int, str]] = []

    async def send(self, projection: str, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        self.sent.append((record.partition, record.offset, error))


def on_partition(partition: int, made: list[ConsumerRecord[bytes, bytes]]) -> list[Any]:
    return [dataclasses.replace(record, partition=partition) for record in made]


async def test_a_fetch_with_poison_and_garbage_applies_the_rest_and_dead_letters_each_once(
    engine: AsyncEngine,
) -> None:
    """The whole batch fails (a poison event), so the fetch is written again event by event:
    every good event of both partitions applied once, the garbage and the poison event each
    dead-lettered once, and the checkpoints at the fetch's last offsets."""
    read_model = totals_read_model(engine)
    dead = RecordedDeadLetters()
    writer = ProjectionWriter(KernelTotals(), read_model, await read_model.ensure_live(), dead)
    stream, other = f"counter-{uuid4()}", f"counter-{uuid4()}"
    first = records(0, [envelope(stream, 1, 1, 5)])
    garbage = dataclasses.replace(first[0], offset=1, value=b"\x00not json{")
    poison = records(2, [envelope(stream, 2, 2, 7)])[0]
    poison = dataclasses.replace(
        poison,
        value=poison.value.replace(b'"value":7', b'"value":"boom"') if poison.value else None,
    )
    last = records(3, [envelope(stream, 2, 3, 11)])
    second = TopicPartition(TOPIC, 1)

    await writer.write_many(
        {
            TP: [*first, garbage, poison, *last],
            second: on_partition(1, records(0, [envelope(other, 1, 4, 3)])),
        }
    )

    totals = await read_totals(read_model)
    assert totals[stream] == Totals(events=2, total=5 + 11, max_version=2)
    assert totals[other] == Totals(events=1, total=3, max_version=1)
    assert [(p, o) for p, o, _ in dead.sent] == [(0, 1), (0, 2)]
    assert dead.sent[0][2].startswith("undecodable")
    assert "ValueError" in dead.sent[1][2]
    assert (await writer.checkpoint(TP)) is not None
    assert [
        (await writer.checkpoint(tp)).kafka_offset  # type: ignore[union-attr]
        for tp in (TP, second)
    ] == [3, 0]
    assert writer.applied == 3 and writer.poisoned == 2
