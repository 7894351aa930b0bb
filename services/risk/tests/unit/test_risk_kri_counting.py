"""The tickets inbox handler of "open critical incidents", against an in-memory unit of work:
the running count, the measurement times across interleaved partitions, the first reading."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import uuid4

import pytest
from risk.app.kri_stream import OpenCriticalIncidentsInbox, open_critical_incidents_spec
from risk.domain.kri import Kri, KriStatus, kri_stream_id
from risk.domain.kri_events import KriMeasurementRecorded, KriStatusChanged
from risk.domain.kri_tickets import OPEN_CRITICAL_INCIDENTS
from shared_kernel.domain import Aggregate, DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.unit_of_work import CommandContext, UnitOfWork

pytestmark = pytest.mark.unit

A = TypeVar("A", bound=Aggregate)
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class InMemoryUnitOfWork(UnitOfWork):
    """Streams in a dict; ``commit`` stores pending events (no database)."""

    def __init__(self, streams: dict[str, list[DomainEvent]]) -> None:
        self.streams = streams
        self.context = CommandContext.system("risk-test")
        self._tracked: list[Aggregate] = []

    async def find_many(self, cls: type[A], aggregate_ids: list[str]) -> dict[str, A]:
        found = {i: cls.load(i, self.streams[i]) for i in aggregate_ids if i in self.streams}
        self._tracked.extend(found.values())
        return found

    async def find(self, cls: type[A], aggregate_id: str) -> A | None:
        return (await self.find_many(cls, [aggregate_id])).get(aggregate_id)

    def add(self, aggregate: Aggregate) -> None:
        if aggregate not in self._tracked:
            self._tracked.append(aggregate)

    def save(self) -> None:
        for aggregate in self._tracked:
            self.streams.setdefault(aggregate.id, []).extend(aggregate.pending_events())
            aggregate.mark_saved()


async def no_lock(uow: UnitOfWork, stream_id: str) -> None:
    """One handler at a time here: nothing to queue behind."""


def ticket_event(ticket_id: str, name: str, minutes: int, **data: Any) -> EventEnvelope:
    return EventEnvelope(
        id=uuid4(),
        source="/tickets",
        type=f"tickets.{name}.v1",
        subject=ticket_id,
        time=T0 + timedelta(minutes=minutes),
        data={"ticket_id": ticket_id, **data},
        stream_type="ticket",
        stream_version=1,
        position=minutes,
        correlation_id="c",
        causation_id="c",
        actor=Actor("user:op", "back"),
    )


async def feed(streams: dict[str, list[DomainEvent]], *batches: Sequence[EventEnvelope]) -> Kri:
    handler = OpenCriticalIncidentsInbox(
        open_critical_incidents_spec(2, 4, "risk-office"), lock=no_lock
    )
    for batch in batches:
        uow = InMemoryUnitOfWork(streams)
        await handler.handle(uow, batch)
        uow.save()
    return Kri.load(
        kri_stream_id(OPEN_CRITICAL_INCIDENTS), streams[kri_stream_id(OPEN_CRITICAL_INCIDENTS)]
    )


def measurements(streams: dict[str, list[DomainEvent]]) -> list[tuple[float, datetime]]:
    return [
        (e.value, e.measured_at)
        for e in streams[kri_stream_id(OPEN_CRITICAL_INCIDENTS)]
        if isinstance(e, KriMeasurementRecorded)
    ]


def opened(
    ticket_id: str, minutes: int, priority: int = 1, kind: str = "incident"
) -> EventEnvelope:
    return ticket_event(
        ticket_id, "TicketOpened", minutes, ticket_type=kind, priority=priority, queue_id="q"
    )


async def test_the_first_event_defines_the_kri_and_records_the_count_even_when_zero() -> None:
    streams: dict[str, list[DomainEvent]] = {}
    kri = await feed(streams, [opened("T1", 1, priority=3)])

    assert kri.is_stream_fed
    assert measurements(streams) == [(0.0, T0 + timedelta(minutes=1))]
    assert kri.status is KriStatus.GREEN


async def test_the_count_moves_by_one_per_ticket_that_starts_or_stops_counting() -> None:
    streams: dict[str, list[DomainEvent]] = {}
    kri = await feed(
        streams,
        [opened("T1", 1), opened("T2", 2), opened("T3", 3, kind="problem")],
        [
            ticket_event("T4", "TicketOpened", 4, ticket_type="incident", priority=2, queue_id="q"),
            ticket_event("T4", "TicketPriorityChanged", 5, priority=1),
            ticket_event("T1", "TicketStatusChanged", 6, status="pending"),
            ticket_event("T2", "TicketStatusChanged", 7, status="cancelled"),
            ticket_event("T3", "TicketPriorityChanged", 8, priority=1),
            ticket_event("T1", "TicketAssigned", 9, assignee="user:x"),
        ],
    )

    assert [value for value, _ in measurements(streams)] == [1.0, 2.0, 3.0, 2.0]
    changes = [
        (e.from_status, e.to_status) for e in streams[kri.id] if isinstance(e, KriStatusChanged)
    ]
    assert changes == [(None, "green"), ("green", "amber")]  # 3 and 2 stay amber (from 2)
    assert kri.latest is not None and kri.latest.value == 2.0


async def test_events_of_another_partition_that_happened_earlier_keep_the_count_current() -> None:
    streams: dict[str, list[DomainEvent]] = {}
    await feed(streams, [opened("T1", 10)], [opened("T2", 5)])

    assert measurements(streams) == [
        (1.0, T0 + timedelta(minutes=10)),
        (2.0, T0 + timedelta(minutes=10)),
    ]
