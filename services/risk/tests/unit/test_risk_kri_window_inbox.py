"""The rolling-window KRIs on the kernel's in-memory backend: the inbox (through the kernel's
``InboxWriter``, with its claims) measures on each SLA breach and rating, in the source event's
business case; handling the same tickets events again changes nothing; the daily window roll
lets the values fall as entries leave the 30-day window, once per day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import ConsumerRecord
from risk.app.kri_commands import KriCommands, RollKriWindow
from risk.app.kri_queries import KriQueries
from risk.app.kri_window_roll import KriWindowRoll
from risk.app.kri_windows import WindowKriInbox, customer_satisfaction_spec, sla_breaches_spec
from risk.bootstrap import risk_codec
from risk.domain.kri import kri_stream_id
from risk.domain.kri_events import (
    KriMeasurementRecorded,
    KriStatusChanged,
    KriValueCleared,
    KriWindowEntryRecorded,
)
from risk.domain.kri_windows import CUSTOMER_SATISFACTION, SLA_BREACHES, start_of_day
from shared_kernel.commands import CommandBus
from shared_kernel.domain import DomainEvent
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.errors import Conflict
from shared_kernel.inbox import InboxWriter
from shared_kernel.memory import InMemoryBackend
from shared_kernel.projections import DeadLetters
from shared_kernel.unit_of_work import CommandContext

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RISK_CODEC = risk_codec()  # built once: a codec takes ~0.2 s to build
SLA = kri_stream_id(SLA_BREACHES.kri_id)
CSAT = kri_stream_id(CUSTOMER_SATISFACTION.kri_id)


class RecordedDeadLetters(DeadLetters):
    """Keeps dead letters instead of sending them to Kafka."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, projection: str, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        self.sent.append((projection, error))


def tickets_event(name: str, at: datetime, **data: Any) -> EventEnvelope:
    ticket_id = f"T-{uuid4().hex[:6]}"
    return EventEnvelope(
        id=uuid4(),
        source="/tickets",
        type=f"tickets.{name}.v1",
        subject=ticket_id,
        time=at,
        data={"ticket_id": ticket_id, "at": at.isoformat(), **data},
        stream_type="ticket",
        stream_version=1,
        position=1,
        correlation_id=f"case-{ticket_id}",
        causation_id=str(uuid4()),
        actor=Actor("system:tickets-sla", "system"),
    )


def breach(at: datetime) -> EventEnvelope:
    return tickets_event(
        "SlaBreached",
        at,
        clock="resolution",
        priority=2,
        target_seconds=3600,
        due_at=at.isoformat(),
    )


def rating(at: datetime, stars: int) -> EventEnvelope:
    return tickets_event(
        "TicketRated", at, rating=stars, comment="", rated_by="user:c", queue_id="q", agent=None
    )


def records(envelopes: Sequence[EventEnvelope]) -> list[ConsumerRecord[bytes, bytes]]:
    return [
        ConsumerRecord(
            "tickets.events", 0, n, 0, 0, e.subject.encode(), e.to_json_bytes(), None, 0, 0, []
        )
        for n, e in enumerate(envelopes)
    ]


class Setup:
    def __init__(self) -> None:
        self.backend = InMemoryBackend(RISK_CODEC)
        self.dead = RecordedDeadLetters()
        self.inboxes = {
            SLA: WindowKriInbox(SLA_BREACHES, sla_breaches_spec(2, 3, "risk-office")),
            CSAT: WindowKriInbox(
                CUSTOMER_SATISFACTION, customer_satisfaction_spec(4.0, 3.0, "risk-office")
            ),
        }
        self.commands = KriCommands()
        self.bus = CommandBus(self.backend.make_uow)

    async def feed(self, *envelopes: EventEnvelope) -> int:
        """Both inboxes read the batch (as both consumers read the tickets topic); how many
        events they claimed fresh, together."""
        handled = 0
        for inbox in self.inboxes.values():
            writer = InboxWriter(inbox, "risk", self.backend.make_uow, self.dead)
            await writer.write(records(envelopes))
            handled += writer.handled
        return handled

    async def roll(self, kri_stream: str, at: datetime) -> None:
        context = CommandContext.system("risk-kri-window-roll")
        kri_id = kri_stream.removeprefix("kri:")
        await self.bus.execute(context, self.commands.roll_window, RollKriWindow(kri_id, at))

    def events(self, stream_id: str) -> list[DomainEvent]:
        return [RISK_CODEC.decode_envelope(e) for e in self.backend.events(stream_id)]

    def values(self, stream_id: str) -> list[float | None]:
        return [
            e.value if isinstance(e, KriMeasurementRecorded) else None
            for e in self.events(stream_id)
            if isinstance(e, KriMeasurementRecorded | KriValueCleared)
        ]

    def statuses(self, stream_id: str) -> list[tuple[str | None, str]]:
        changes = [e for e in self.events(stream_id) if isinstance(e, KriStatusChanged)]
        return [(c.from_status, c.to_status) for c in changes]


async def test_each_sla_breach_is_counted_once_in_the_case_of_the_breach() -> None:
    setup = Setup()
    breaches = [breach(T0 + timedelta(hours=n)) for n in range(3)]
    # Each of the two consumers claims every tickets event once.
    assert await setup.feed(*breaches, rating(T0, 5)) == 2 * 4

    assert setup.values(SLA) == [1.0, 2.0, 3.0]
    assert setup.statuses(SLA) == [(None, "green"), ("green", "amber"), ("amber", "red")]
    # Entry, measurement and status change of each breach join its case, caused by it.
    caused = [
        (e.correlation_id, e.causation_id)
        for e in setup.backend.events()
        if e.subject == SLA and e.event_type != "risk.KriDefined"
    ]
    entries = [e for e in setup.backend.events() if e.subject.startswith("kri-window:sla")]
    assert {(e.correlation_id, e.causation_id) for e in entries} == {
        (b.correlation_id, str(b.id)) for b in breaches
    }
    assert set(caused) == {(b.correlation_id, str(b.id)) for b in breaches}

    before = setup.backend.events()
    assert await setup.feed(*breaches) == 0  # a replay: every event claimed already
    assert setup.backend.events() == before
    assert setup.dead.sent == []


async def test_satisfaction_is_the_average_rating_in_the_window() -> None:
    setup = Setup()
    await setup.feed(rating(T0, 5), rating(T0 + timedelta(minutes=1), 4))
    await setup.feed(rating(T0 + timedelta(minutes=2), 1))
    # A rating from before the window (late, say after an outage) is kept but moves nothing.
    await setup.feed(rating(T0 - timedelta(days=40), 1))

    assert setup.values(CSAT) == [5.0, 4.5, pytest.approx(10 / 3)]
    assert setup.statuses(CSAT) == [(None, "green"), ("green", "amber")]
    entries = [
        e
        for e in setup.backend.events()
        if isinstance(RISK_CODEC.decode_envelope(e), KriWindowEntryRecorded)
        and "customer" in e.subject
    ]
    assert len(entries) == 4


async def test_a_malformed_rating_is_dead_lettered_and_never_counted() -> None:
    setup = Setup()
    await setup.feed(rating(T0, 6), rating(T0, 4))
    assert setup.values(CSAT) == [4.0]
    assert [p for p, _ in setup.dead.sent] == ["risk.kri_customer_satisfaction_30d"]


async def test_the_values_fall_as_entries_leave_the_window_at_the_daily_roll() -> None:
    setup = Setup()
    await setup.feed(breach(T0), breach(T0 + timedelta(days=5)), rating(T0, 2))
    await setup.feed(rating(T0 + timedelta(days=5), 5))
    assert (setup.values(SLA), setup.values(CSAT)) == ([1.0, 2.0], [2.0, 3.5])

    day_29 = start_of_day(T0 + timedelta(days=29))  # the first breach's day is the oldest
    day_30 = start_of_day(T0 + timedelta(days=30))  # ... and now it has left
    day_35 = start_of_day(T0 + timedelta(days=35))
    for at in (day_29, day_30, day_35):
        await setup.roll(SLA, at)
        await setup.roll(CSAT, at)

    assert setup.values(SLA) == [1.0, 2.0, 2.0, 1.0, 0.0]
    assert setup.statuses(SLA) == [(None, "green"), ("green", "amber"), ("amber", "green")]
    # The average loses the 2 (back to 5.0), then has nothing left: no value, not red.
    assert setup.values(CSAT) == [2.0, 3.5, 3.5, 5.0, None]
    assert setup.statuses(CSAT) == [(None, "red"), ("red", "amber"), ("amber", "green")]
    cleared = [e for e in setup.events(CSAT) if isinstance(e, KriValueCleared)]
    assert [(c.from_status, c.measured_at) for c in cleared] == [("green", day_35)]

    # Once per day: the same day again, or an empty window, is not due.
    before = setup.backend.events()
    for kri, at in ((SLA, day_35), (CSAT, day_35), (CSAT, day_35 + timedelta(days=1))):
        with pytest.raises(Conflict):
            await setup.roll(kri, at)
    assert setup.backend.events() == before


async def test_an_event_after_a_roll_is_measured_no_earlier_than_the_roll() -> None:
    setup = Setup()
    await setup.feed(breach(T0))
    midnight = start_of_day(T0 + timedelta(days=2))
    await setup.roll(SLA, midnight)
    # A breach of the day before, handled late (risk was down): measured at the roll's time.
    late = breach(T0 + timedelta(days=1))
    await setup.feed(late)
    last = [e for e in setup.events(SLA) if isinstance(e, KriMeasurementRecorded)][-1]
    assert (last.value, last.measured_at, last.current) == (2.0, midnight, True)


class StaleKriQueries(KriQueries):
    """A read model that still lists the KRIs as measured before today's 00:00."""

    def __init__(self, kri_ids: list[str]) -> None:
        self.kri_ids = kri_ids

    async def measured_before(self, kri_ids: list[str], at: datetime) -> list[str]:
        return [k for k in self.kri_ids if k in kri_ids]


async def test_the_roll_sweeper_records_one_reading_per_day_however_often_it_sweeps() -> None:
    setup = Setup()
    await setup.feed(breach(T0))
    clock = [T0 + timedelta(days=31, hours=5)]
    roll = KriWindowRoll(
        setup.bus,
        setup.commands,
        StaleKriQueries([SLA_BREACHES.kri_id]),
        lambda: clock[0],
        interval_seconds=60,
    )

    assert await roll.sweep_once() == 1
    assert await roll.sweep_once() == 0  # listed again by a stale read model: not due
    clock[0] += timedelta(hours=12)  # the next day
    assert await roll.sweep_once() == 1

    assert setup.values(SLA) == [1.0, 0.0, 0.0]
    rolled = [e for e in setup.backend.events(SLA) if e.event_type == "risk.KriMeasurementRecorded"]
    assert [e.causation_id for e in rolled[1:]] == [
        "kri-window-roll:sla-breaches-30d@2026-12-03",
        "kri-window-roll:sla-breaches-30d@2026-12-04",
    ]
    assert rolled[1].actor == Actor("system:risk-kri-window-roll", "system")
