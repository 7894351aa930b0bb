"""Dead-letter notices -> it-support incidents, on the kernel's in-memory backend: the notices
are the bytes the kernel's ``DeadLetterNotices`` writes, handed to the tickets inbox through
the kernel's ``InboxWriter`` (claims, one notice per unit of work), so replays are covered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from shared_kernel.commands import CommandBus
from shared_kernel.dead_letter_notices import DeadLetterNotices
from shared_kernel.envelope import Actor, EventEnvelope
from shared_kernel.inbox import InboxWriter
from shared_kernel.memory import InMemoryBackend
from shared_kernel.projections import DeadLetters
from shared_kernel.unit_of_work import CommandContext
from tickets.app.commands import TicketCommands
from tickets.app.dead_letters import DeadLetterIncidents
from tickets.bootstrap import tickets_codec
from tickets.domain import AlertSource, Status, Ticket, queue_id_for, source_id_for

pytestmark = pytest.mark.unit

CODEC = tickets_codec()  # built once: building a codec takes a moment
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CONTEXT = CommandContext.system("tickets-test")
NOTICES_TOPIC = "ledger.dead-letter-notices"


class CapturingProducer:
    """Keeps what the kernel would produce, as the records a consumer would read."""

    def __init__(self) -> None:
        self.records: list[ConsumerRecord[bytes, bytes]] = []

    async def send_and_wait(
        self, topic: str, value: bytes | None = None, key: bytes | None = None, **_: Any
    ) -> None:
        offset = len(self.records)
        size = len(value or b"")
        self.records.append(ConsumerRecord(topic, 0, offset, 0, 0, key, value, None, 0, size, ()))


class NoDeadLetters(DeadLetters):
    def __init__(self) -> None:
        pass

    async def send(self, projection: str, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        raise AssertionError(f"the dead-letter inbox dead-lettered a notice: {error}")


class Office:
    """The ledger's notices (as the kernel writes them) and the tickets inbox reading them."""

    def __init__(self) -> None:
        self.backend = InMemoryBackend(CODEC, source="/tickets")
        self.producer = CapturingProducer()
        self.notices = DeadLetterNotices(
            cast(AIOKafkaProducer, self.producer), "ledger", NOTICES_TOPIC
        )
        commands = TicketCommands(clock=lambda: NOW)
        handler = DeadLetterIncidents(
            CommandBus(self.backend.make_uow), commands, "it-managers", services=("ledger",)
        )
        self.inbox = InboxWriter(handler, "tickets", self.backend.make_uow, NoDeadLetters())

    async def dead_letter(
        self, consumer: str, offset: int, original: bytes | None = None, error: str = "boom"
    ) -> ConsumerRecord[bytes, bytes]:
        value = ledger_event() if original is None else original
        poison = ConsumerRecord(
            "ledger.events", 2, offset, 0, 0, b"k", value, None, 0, len(value), ()
        )
        await self.notices.dead_lettered(consumer, poison, error, "ledger.dead-letters")
        return self.producer.records[-1]

    async def recovered(self, consumer: str, run: str) -> ConsumerRecord[bytes, bytes]:
        await self.notices.recovered(consumer, how="rebuild", detail="clean", run=run)
        return self.producer.records[-1]

    async def incident(self, consumer: str) -> Ticket | None:
        async with self.backend.make_uow(CONTEXT) as uow:
            source = await uow.find(AlertSource, source_id_for("ledger", consumer))
            if source is None or source.open_ticket_id is None:
                return None
            return await uow.get(Ticket, source.open_ticket_id)

    def tickets(self) -> list[EventEnvelope]:
        return [e for e in self.backend.events() if e.type == "tickets.TicketOpened.v1"]


def ledger_event(correlation_id: str = "case-1") -> bytes:
    return EventEnvelope(
        id=uuid4(),
        source="/ledger",
        type="ledger.JournalEntryPosted.v1",
        subject="entry-1",
        time=NOW,
        data={"entry_id": "entry-1"},
        stream_type="journal_entry",
        stream_version=1,
        position=7,
        correlation_id=correlation_id,
        causation_id=correlation_id,
        actor=Actor("user:acc", "back"),
    ).to_json_bytes()


async def test_a_dead_letter_opens_a_major_incident_in_it_support_naming_what_broke() -> None:
    office = Office()
    poison = ledger_event("case-7")
    notice = await office.dead_letter("ledger_view_v2", 41, poison, "KeyError: x")
    await office.inbox.write([notice])

    ticket = await office.incident("ledger_view_v2")
    assert ticket is not None
    assert ticket.queue_id == queue_id_for("it-support")  # created as it was missing
    assert (ticket.title, ticket.priority, ticket.status) == (
        "ledger: ledger_view_v2",
        2,  # "major": impact 2, urgency 2
        Status.NEW,
    )
    [opened] = office.tickets()
    original = EventEnvelope.from_json_bytes(poison)
    description = opened.data["description"]
    for part in ("ledger_view_v2", "KeyError: x", "ledger.events partition 2 offset 41"):
        assert part in description
    assert f"ledger.JournalEntryPosted.v1 {original.id}" in description
    assert opened.data["category"] == "dead-letters"
    # It joins the case of the event that could not be handled, caused by the notice.
    assert opened.correlation_id == "case-7" != opened.causation_id
    # "Now" is the notice's time, not the clock's: a retried batch decides the same.
    notice_time = EventEnvelope.from_json_bytes(notice.value or b"").time
    assert datetime.fromisoformat(opened.data["opened_at"]) == notice_time != NOW


async def test_one_incident_per_consumer_while_open_and_replays_change_nothing() -> None:
    office = Office()
    batch = [
        await office.dead_letter("ledger_view_v2", 1),
        await office.dead_letter("ledger_view_v2", 2),
        await office.dead_letter("risk_feed", 3),
    ]
    await office.inbox.write(batch)
    stored = len(office.backend.events())
    # The same records dead-lettered again (a retried batch) send the same notice ids.
    again = [await office.dead_letter("ledger_view_v2", 1)]
    await office.inbox.write(batch)
    await office.inbox.write(again)

    assert len(office.backend.events()) == stored
    assert _id(again[0]) == _id(batch[0])
    assert [e.data["title"] for e in office.tickets()] == [
        "ledger: ledger_view_v2",
        "ledger: risk_feed",
    ]
    alerts = [e for e in office.backend.events() if e.type == "tickets.AlertRecorded.v1"]
    assert [a.data["check"] for a in alerts] == ["ledger_view_v2"] * 2 + ["risk_feed"]


async def test_an_undecodable_record_still_opens_an_incident_in_a_case_of_its_own() -> None:
    office = Office()
    notice = await office.dead_letter("ledger_view_v2", 9, b"\xff not json")
    await office.inbox.write([notice])

    [opened] = office.tickets()
    assert (
        "an undecodable record from ledger.events partition 2 offset 9"
        in (opened.data["description"])
    )
    assert opened.correlation_id == str(_id(notice))


async def test_a_recovery_resolves_the_incident_in_its_case_a_later_dead_letter_reopens() -> None:
    office = Office()
    await office.inbox.write([await office.dead_letter("ledger_view_v2", 1)])
    incident = await office.incident("ledger_view_v2")
    assert incident is not None

    recovery = await office.recovered("ledger_view_v2", "generation 2")
    await office.inbox.write([recovery, recovery])

    assert await office.incident("ledger_view_v2") is None
    async with office.backend.make_uow(CONTEXT) as uow:
        resolved = await uow.get(Ticket, incident.id)
    assert resolved.status is Status.RESOLVED
    [change] = [
        e for e in office.backend.events(incident.id) if e.type == "tickets.TicketStatusChanged.v1"
    ]
    assert "recovered (rebuild): clean" in change.data["reason"]
    assert (change.correlation_id, change.causation_id) == ("case-1", str(_id(recovery)))

    await office.inbox.write([await office.dead_letter("ledger_view_v2", 5)])
    reopened = await office.incident("ledger_view_v2")
    assert reopened is not None and reopened.id != incident.id
    assert len(office.tickets()) == 2


async def test_a_recovery_without_an_open_incident_writes_nothing() -> None:
    office = Office()
    await office.inbox.write([await office.recovered("ledger_view_v2", "generation 2")])

    assert office.backend.events() == []


def _id(record: ConsumerRecord[bytes, bytes]) -> UUID:
    return EventEnvelope.from_json_bytes(record.value or b"").id
