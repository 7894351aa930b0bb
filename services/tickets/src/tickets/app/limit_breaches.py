"""Risk limit breaches in: an inbox over ``risk.events`` that opens one incident per breach
in the ``risk-limits`` queue, adds the measures recorded on the breach as internal notes and
resolves the incident when the exposure is back within the limit (see
``domain.limit_breaches`` for the rules).

Exactly once: the kernel's inbox claims each risk event once; the incident's id derives
from the breach id and the limit's ``LimitWatch`` remembers every breach it opened an
incident for, so even a replay into a fresh claim table cannot open a second one. Each
effect is recorded inside ``caused_by`` its risk event: it joins the breach's case. "Now"
is the risk event's own time, so that a retried batch decides the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared_kernel.codec import EventCodec, RecordedEvent
from shared_kernel.domain import caused_by
from shared_kernel.envelope import EventEnvelope
from shared_kernel.inbox import InboxHandler
from shared_kernel.kafka import events_topic
from shared_kernel.unit_of_work import UnitOfWork

from tickets.app.commands import OpenTicket, TicketCommands
from tickets.domain import Queue, Status, Ticket, queue_id_for
from tickets.domain.limit_breaches import (
    RISK_LIMITS_ESCALATION_GROUP,
    RISK_LIMITS_QUEUE,
    HeldMeasures,
    LimitWatch,
    back_within_note,
    breach_classification,
    incident_id_for,
    incident_text,
    measures_note,
    note_id_for,
    origin_of,
    watch_id_for,
)
from tickets.domain.risk_events import (
    RISK_EVENTS,
    LimitBackWithinThreshold,
    LimitBreached,
    LimitBreachMeasuresRecorded,
)
from tickets.domain.sla import DEFAULT_SLA_POLICY


class LimitBreachIncidents(InboxHandler):
    name = "limit_breach_incidents"

    def __init__(
        self,
        tickets: TicketCommands,
        topic_namespace: str = "",
        *,
        queue_name: str = RISK_LIMITS_QUEUE,
        escalation_group: str = RISK_LIMITS_ESCALATION_GROUP,
    ) -> None:
        self.topics = (events_topic("risk", topic_namespace),)
        self.codec = EventCodec(RISK_EVENTS)
        self.tickets = tickets
        self.queue_name = queue_name
        self.escalation_group = escalation_group

    async def handle(self, uow: UnitOfWork, events: Sequence[RecordedEvent]) -> None:
        batch = _Batch(self, uow)
        for envelope, event in events:
            with caused_by(envelope.cause):
                match event:
                    case LimitBreached():
                        await batch.breached(event)
                    case LimitBreachMeasuresRecorded():
                        await batch.measures_recorded(envelope, event)
                    case LimitBackWithinThreshold(threshold="limit"):
                        await batch.back_within_limit(event)


class _Batch:
    """The aggregates of one batch, each loaded once (a second load would conflict)."""

    def __init__(self, inbox: LimitBreachIncidents, uow: UnitOfWork) -> None:
        self._inbox = inbox
        self._uow = uow
        self._watches: dict[str, LimitWatch] = {}
        self._tickets: dict[str, Ticket | None] = {}
        self._queue: Queue | None = None

    async def breached(self, breach: LimitBreached) -> None:
        watch = await self._watch(breach.limit_id)
        if watch.has_incident(breach.crossing_id):
            return
        impact, urgency = breach_classification(breach.utilisation_bp)
        text = incident_text(breach)
        queue = await self._risk_queue()
        ticket = await self._inbox.tickets.open_in(
            self._uow,
            OpenTicket(
                ticket_type="incident",
                queue_id=queue.id,
                impact=impact,
                urgency=urgency,
                title=text.title,
                description=text.description,
                category="risk-limit",
                requester_kind="system",
                origin=origin_of(breach),
            ),
            ticket_id=incident_id_for(breach.crossing_id),
            at=breach.at,
            queue=queue,
        )
        self._tickets[ticket.id] = ticket
        for held in watch.incident_opened(breach, ticket.id):
            _add_measures(ticket, breach.crossing_id, held)

    async def measures_recorded(
        self, envelope: EventEnvelope, event: LimitBreachMeasuresRecorded
    ) -> None:
        held = HeldMeasures(event.measures, event.recorded_by, str(envelope.id), event.at)
        watch = await self._watch(event.limit_id)
        if not watch.has_incident(event.breach_id):
            watch.hold_measures(event.breach_id, held)  # the breach has not arrived yet
            return
        ticket = await self._ticket(incident_id_for(event.breach_id))
        if ticket is not None:
            _add_measures(ticket, event.breach_id, held)

    async def back_within_limit(self, event: LimitBackWithinThreshold) -> None:
        watch = await self._watch(event.limit_id)
        for breach_id, ticket_id in watch.open_breaches(event.exposure_id):
            ticket = await self._ticket(ticket_id)
            if ticket is not None:
                note = back_within_note(event)
                _note_once(
                    ticket,
                    note_id_for(f"{event.crossing_id}/{breach_id}"),
                    author=self._uow.context.actor.subject,
                    body=note,
                    at=event.at,
                )
                if ticket.is_active:
                    ticket.transition(
                        Status.RESOLVED,
                        reason=note[:500],
                        at=event.at,
                        reopen_window=self._inbox.tickets.reopen_window,
                    )
            watch.incident_closed(breach_id)

    async def _watch(self, limit_id: str) -> LimitWatch:
        watch_id = watch_id_for(limit_id)
        if watch_id not in self._watches:
            found = await self._uow.find(LimitWatch, watch_id)
            if found is None:
                found = LimitWatch.of(limit_id)
                self._uow.add(found)
            self._watches[watch_id] = found
        return self._watches[watch_id]

    async def _ticket(self, ticket_id: str) -> Ticket | None:
        if ticket_id not in self._tickets:
            self._tickets[ticket_id] = await self._uow.find(Ticket, ticket_id)
        return self._tickets[ticket_id]

    async def _risk_queue(self) -> Queue:
        """The risk-limits queue, created (deterministic id from its name) when missing."""
        if self._queue is None:
            found = await self._uow.find(Queue, queue_id_for(self._inbox.queue_name))
            if found is None or not found.exists:
                found = Queue.create(
                    self._inbox.queue_name,
                    escalation_group=self._inbox.escalation_group,
                    sla_policy=DEFAULT_SLA_POLICY,
                )
                self._uow.add(found)
            self._queue = found
        return self._queue


def _add_measures(ticket: Ticket, breach_id: str, held: HeldMeasures) -> None:
    """An internal note by the user who recorded the measures (the event's actor stays the
    inbox)."""
    _note_once(
        ticket,
        note_id_for(held.source_id),
        author=held.recorded_by,
        body=measures_note(breach_id, held.measures),
        at=held.at,
    )


def _note_once(ticket: Ticket, message_id: str, *, author: str, body: str, at: datetime) -> None:
    """A note whose id derives from its source event: added once, even by a replay that
    finds no inbox claim."""
    if message_id not in ticket.message_ids:
        ticket.add_note(message_id, author=author, body=body, at=at)
