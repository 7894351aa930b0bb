"""The tickets inbox handler of "open critical incidents", on the kernel's in-memory backend:
the running count, the measurement times across interleaved partitions, the first reading."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from risk.app.kri_stream import OpenCriticalIncidentsInbox, open_critical_incidents_spec
from risk.bootstrap import risk_codec
from risk.domain.kri import Kri, KriStatus, kri_stream_id
from risk.domain.kri_events import KriMeasurementRecorded, KriStatusChanged
from risk.domain.kri_tickets import OPEN_CRITICAL_INCIDENTS
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.memory import InMemoryBackend
from shared_kernel.unit_of_work import CommandContext

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
RISK_CODEC = risk_codec()  # built once: a codec takes ~0.2 s to build
KRI_STREAM = kri_stream_id(OPEN_CRITICAL_INCIDENTS)
CONTEXT = CommandContext.system("risk-test")


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


async def feed(backend: InMemoryBackend, *batches: Sequence[EventEnvelope]) -> Kri:
    """Each batch in its own unit of work, committed as the inbox runner commits it."""
    handler = OpenCriticalIncidentsInbox(open_critical_incidents_spec(2, 4, "risk-office"))
    for batch in batches:
        async with backend.make_uow(CONTEXT) as uow:
            await handler.handle(uow, handler.codec.read_all(batch))
            await uow.commit()
    async with backend.make_uow(CONTEXT) as uow:
        return await uow.get(Kri, KRI_STREAM)


def kri_events(backend: InMemoryBackend) -> list[DomainEvent]:
    return [backend.codec.decode_envelope(e) for e in backend.events(KRI_STREAM)]


def measurements(backend: InMemoryBackend) -> list[tuple[float, datetime]]:
    return [
        (e.value, e.measured_at)
        for e in kri_events(backend)
        if isinstance(e, KriMeasurementRecorded)
    ]


def opened(
    ticket_id: str, minutes: int, priority: int = 1, kind: str = "incident"
) -> EventEnvelope:
    return ticket_event(
        ticket_id, "TicketOpened", minutes, ticket_type=kind, priority=priority, queue_id="q"
    )


async def test_the_first_event_defines_the_kri_and_records_the_count_even_when_zero() -> None:
    backend = InMemoryBackend(RISK_CODEC)
    kri = await feed(backend, [opened("T1", 1, priority=3)])

    assert kri.is_stream_fed
    assert measurements(backend) == [(0.0, T0 + timedelta(minutes=1))]
    assert kri.status is KriStatus.GREEN


async def test_the_count_moves_by_one_per_ticket_that_starts_or_stops_counting() -> None:
    backend = InMemoryBackend(RISK_CODEC)
    kri = await feed(
        backend,
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

    assert [value for value, _ in measurements(backend)] == [1.0, 2.0, 3.0, 2.0]
    changes = [
        (e.from_status, e.to_status) for e in kri_events(backend) if isinstance(e, KriStatusChanged)
    ]
    assert changes == [(None, "green"), ("green", "amber")]  # 3 and 2 stay amber (from 2)
    assert kri.latest is not None and kri.latest.value == 2.0


async def test_events_of_another_partition_that_happened_earlier_keep_the_count_current() -> None:
    backend = InMemoryBackend(RISK_CODEC)
    await feed(backend, [opened("T1", 10)], [opened("T2", 5)])

    assert measurements(backend) == [
        (1.0, T0 + timedelta(minutes=10)),
        (2.0, T0 + timedelta(minutes=10)),
    ]
