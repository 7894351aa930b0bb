"""The stream-fed KRI "open critical IT incidents": an inbox over the tickets topic.

The kernel inbox hands each batch of tickets events to :class:`OpenCriticalIncidentsInbox`
exactly once; it keeps each incident ticket's facts in a ``WatchedTicket`` stream and records a
measurement of the KRI whenever the count moves, in the same transaction as the inbox rows, so
the count and its status changes are recorded once and never again on a restart or a replay of
the tickets topic.

A measurement is stamped with the time of the tickets event that moved the count, or with the
time of the KRI's latest measurement if that is later (events of different partitions arrive
interleaved; a running count has no "out of order"). Its id is the tickets event's id. The
first tickets event the rule reads also records the count when it does not move it (0), so
that the KRI shows green rather than "never measured".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.commands import CommandBus, Handler
from shared_kernel.domain import DomainEvent, caused_by
from shared_kernel.envelope import EventEnvelope
from shared_kernel.errors import Conflict
from shared_kernel.identity import Caller
from shared_kernel.inbox import InboxHandler
from shared_kernel.kafka import events_topic
from shared_kernel.unit_of_work import CommandContext, UnitOfWork

from risk.domain.kri import Kri, KriDefinition, KriSource, Thresholds, kri_stream_id
from risk.domain.kri_tickets import (
    OPEN_CRITICAL_INCIDENTS,
    OPEN_CRITICAL_INCIDENTS_RULE,
    WatchedTicket,
    facts_after,
    watched_ticket_stream_id,
)
from risk.domain.tickets_events import TICKETS_EVENTS, TicketEvent

log = logging.getLogger(__name__)

SETUP = Caller.system("risk-kri-setup")

# Contenders for one KRI (many systems posting to it, several tickets partitions moving one
# count) queue on this lock instead of colliding and rerunning; only an optimisation, stream
# versions decide. Deadlock-free: a transaction takes at most one, before the commit's lock.
KRI_LOCK = "risk.kri"


@dataclass(frozen=True)
class StreamKriSpec:
    """How the stream-fed KRI is defined when the service first meets it."""

    kri_id: str
    definition: KriDefinition
    thresholds: Thresholds


def open_critical_incidents_spec(amber: float, red: float, owner: str) -> StreamKriSpec:
    return StreamKriSpec(
        OPEN_CRITICAL_INCIDENTS,
        KriDefinition(
            name="Open critical IT incidents",
            description="Incidents of priority 1 that are neither resolved, closed nor "
            "cancelled, counted from the tickets service's events.",
            unit="incidents",
            owner=owner,
            source=KriSource.STREAM,
            stream_rule=OPEN_CRITICAL_INCIDENTS_RULE,
        ),
        Thresholds.of("higher_is_worse", amber, red),
    )


def define_stream_kri(spec: StreamKriSpec, defined_by: str) -> Kri:
    return Kri.define(spec.kri_id, spec.definition, spec.thresholds, defined_by=defined_by)


async def ensure_stream_kri(
    bus: CommandBus, define: Handler[StreamKriSpec], spec: StreamKriSpec
) -> bool:
    """Define the stream-fed KRI at start-up unless it exists (``define``, the KRI handler
    refusing an existing one with a conflict); True when this call did."""
    try:
        await bus.execute(CommandContext(SETUP), define, spec)
    except Conflict:
        return False
    log.info("defined the stream-fed KRI %s", spec.kri_id)
    return True


class OpenCriticalIncidentsInbox(InboxHandler):
    """Counts open critical incidents from ``tickets.events`` into the KRI's measurements."""

    name = "kri_open_critical_incidents"

    def __init__(self, spec: StreamKriSpec, topic_namespace: str = "") -> None:
        self.spec = spec
        self.topics = (events_topic("tickets", topic_namespace),)
        self.codec = EventCodec(TICKETS_EVENTS)

    async def handle(self, uow: UnitOfWork, events: Sequence[RecordedEvent]) -> None:
        ticket_ids = list(dict.fromkeys(_ticket_id(e) for _, e in events))
        tickets = await uow.find_many(
            WatchedTicket, [watched_ticket_stream_id(t) for t in ticket_ids]
        )
        # Batches of several partitions move one count: queue rather than conflict.
        await uow.lock(KRI_LOCK, kri_stream_id(self.spec.kri_id))
        kri = await uow.find(Kri, kri_stream_id(self.spec.kri_id))
        if kri is None:
            kri = define_stream_kri(self.spec, uow.context.actor.subject)
            uow.add(kri)
        for envelope, event in events:
            ticket_id = _ticket_id(event)
            stream_id = watched_ticket_stream_id(ticket_id)
            ticket = tickets.get(stream_id) or WatchedTicket.of(ticket_id)
            facts = facts_after(event, ticket.facts)
            if facts is None:
                continue
            # What a tickets event causes joins its business case, caused by it.
            with caused_by(envelope.cause):
                delta = ticket.observe(
                    facts, source_event_id=str(envelope.id), source_event_type=envelope.event_type
                )
                if stream_id not in tickets:
                    tickets[stream_id] = ticket
                    uow.add(ticket)
                if delta or kri.latest is None:
                    self._count(kri, delta, envelope, uow.context.actor.subject)

    @staticmethod
    def _count(kri: Kri, delta: int, event: EventEnvelope, recorded_by: str) -> None:
        latest = kri.latest
        value = (latest.value if latest else 0.0) + delta
        measured_at = max(event.time, latest.measured_at) if latest else event.time
        kri.record_measurement(
            str(event.id),
            value,
            measured_at,
            source=event.type,
            recorded_by=recorded_by,
            now=measured_at,
            from_stream=True,
        )


def _ticket_id(event: DomainEvent) -> str:
    assert isinstance(event, TicketEvent)  # the codec reads tickets events only
    return event.ticket_id


async def define_stream_kri_at_start(
    bus: CommandBus, define: Handler[StreamKriSpec], spec: StreamKriSpec
) -> None:
    """Background task of the lifespan: define the stream-fed KRI, so that it is listed before
    the first tickets event. Run under the runtime's supervisor, which retries it with
    back-off until the database answers."""
    await ensure_stream_kri(bus, define, spec)
