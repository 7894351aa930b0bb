"""Re-driving an inbox's dead letters, on the in-memory backend: what failed is handled once
its cause is fixed, exactly once however often the re-drive runs, and the recovery is announced
only when nothing failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from aiokafka import ConsumerRecord
from kernel_contract import CODEC, Counter
from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.errors import ConcurrencyConflict
from shared_kernel.inbox import InboxHandler, InboxWriter
from shared_kernel.memory import InMemoryBackend
from shared_kernel.projections import DeadLetters
from shared_kernel.redrive import redrive
from shared_kernel.unit_of_work import CommandContext, UnitOfWork

pytestmark = pytest.mark.unit

TOTAL = "counter-total"


@dataclass(frozen=True)
class Added(DomainEvent):
    event_type = "source.Added"

    by: int


class CountingInbox(InboxHandler):
    """Counts what other services add; cannot count a negative amount until fixed."""

    name = "counting"
    topics = ("source.events",)
    codec = EventCodec([Added])

    def __init__(self) -> None:
        self.fixed = False

    async def handle(self, uow: UnitOfWork, events: Sequence[RecordedEvent]) -> None:
        total = await uow.find(Counter, TOTAL)
        if total is None:
            total = Counter(TOTAL)
            uow.add(total)
        for _, event in events:
            assert isinstance(event, Added)
            if event.by < 0 and not self.fixed:
                raise ValueError(f"cannot count {event.by}")
            total.count(event.by)


class DeadLetterTopic(DeadLetters):
    """The dead-letter topic in memory: records with their ``dlq.*`` headers, and recoveries."""

    def __init__(self) -> None:
        self.records: list[ConsumerRecord[bytes, bytes]] = []
        self.recoveries: list[tuple[str, str, str]] = []

    async def send(self, projection: str, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        headers = (
            ("dlq.projection", projection.encode()),
            ("dlq.error", error.encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
        )
        value = record.value or b""
        offset = len(self.records)
        self.records.append(
            ConsumerRecord("dl", 0, offset, 0, 0, None, value, None, 0, len(value), headers)
        )

    async def recovered(self, consumer: str, *, how: str, detail: str, run: str) -> None:
        self.recoveries.append((consumer, how, run))


def added(offset: int, by: int | str) -> ConsumerRecord[bytes, bytes]:
    value = EventEnvelope(
        id=uuid4(),
        source="/source",
        type="source.Added.v1",
        subject="s",
        time=datetime(2026, 11, 26, tzinfo=UTC),
        data={"by": by},
        stream_type="thing",
        stream_version=offset + 1,
        position=offset + 1,
        correlation_id="c",
        causation_id="c",
        actor=Actor("user:x", "back"),
    ).to_json_bytes()
    return ConsumerRecord("source.events", 0, offset, 0, 0, None, value, None, 0, len(value), ())


async def total(backend: InMemoryBackend) -> int:
    async with backend.make_uow(CommandContext.system("test")) as uow:
        counter = await uow.find(Counter, TOTAL)
    return counter.total if counter else 0


async def test_a_fixed_inbox_handles_its_dead_letters_once_and_recovers() -> None:
    backend, handler, dead = InMemoryBackend(CODEC), CountingInbox(), DeadLetterTopic()
    writer = InboxWriter(handler, "svc", backend.make_uow, dead)
    source = [added(0, 5), added(1, -2), added(2, 7)]
    await writer.write(source)
    assert await total(backend) == 12 and len(dead.records) == 1

    still_broken = await redrive(writer, dead.records, dead, run="dl@1")
    assert (still_broken.redriven, len(still_broken.failed)) == (0, 1)
    assert "source.events[0]@1: ValueError: cannot count -2" in still_broken.failed[0]
    assert dead.recoveries == [] and await total(backend) == 12

    handler.fixed = True
    report = await redrive(writer, dead.records, dead, run="dl@1")
    assert (report.redriven, report.skipped, report.clean) == (1, 0, True)
    assert await total(backend) == 10
    assert dead.recoveries == [("svc.counting", "redrive", "dl@1")]

    # Again, and a replay of the source: nothing is handled twice.
    again = await redrive(writer, dead.records, dead, run="dl@1")
    await writer.write(source)
    assert (again.redriven, again.skipped) == (0, 1)
    assert await total(backend) == 10


async def test_an_event_handled_normally_is_never_re_driven() -> None:
    backend, handler, dead = InMemoryBackend(CODEC), CountingInbox(), DeadLetterTopic()
    writer = InboxWriter(handler, "svc", backend.make_uow, dead)
    record = added(0, 5)
    await writer.write([record])
    # A forged dead letter of a handled event (or one of another consumer) changes nothing.
    await dead.send("svc.counting", record, "forged")
    await dead.send("svc.other", added(1, 3), "not ours")

    report = await redrive(writer, dead.records, dead, run="dl@2")

    assert (report.redriven, report.skipped, report.failed) == (0, 1, [])
    assert await total(backend) == 5


async def test_a_conflicts_retry_does_not_dead_letter_a_malformed_event_again() -> None:
    """The batch's first commit conflicts (another writer moved the counter); the retry handles
    the batch, and the malformed event in it reaches the dead-letter topic once."""
    backend, handler, dead = InMemoryBackend(CODEC), CountingInbox(), DeadLetterTopic()
    conflicts = [ConcurrencyConflict("the counter moved", code="VersionMismatch")]

    def make_uow(context: CommandContext) -> UnitOfWork:
        uow = backend.make_uow(context)
        if conflicts:
            conflict = conflicts.pop()

            async def commit() -> None:
                raise conflict

            uow.commit = commit  # type: ignore[method-assign,assignment]
        return uow

    writer = InboxWriter(handler, "svc", make_uow, dead)
    await writer.write([added(0, 5), added(1, "five"), added(2, 7)])

    assert conflicts == [] and await total(backend) == 12
    assert [dict(r.headers)["dlq.offset"] for r in dead.records] == [b"1"]
