"""The stream rule of the KRI "open critical IT incidents", fed by the tickets service's events.

The risk service does not depend on the tickets package: it reads ``tickets.TicketOpened``,
``tickets.TicketPriorityChanged`` and ``tickets.TicketStatusChanged`` through its own classes
of them (``tickets_events``), validated when decoded. The facts a count needs (type, priority,
status) are kept per incident ticket in the risk service's own ``WatchedTicket`` streams, so
the count is exact: each tickets event moves it by at most one, and only when the ticket
starts or stops counting.

A ticket counts when it is an incident of priority 1 (critical) that is open, i.e. neither
resolved, closed nor cancelled ("pending" still counts: the incident is not over). Tickets of
other types are never recorded (their type does not change), so their events are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared_kernel.domain import Aggregate, DomainEvent

from risk.domain.kri_events import WatchedTicketRecorded
from risk.domain.tickets_events import TicketOpened, TicketPriorityChanged, TicketStatusChanged

OPEN_CRITICAL_INCIDENTS = "open-critical-incidents"
OPEN_CRITICAL_INCIDENTS_RULE = "tickets.open-critical-incidents"
CRITICAL_PRIORITY = 1
INCIDENT = "incident"
OVER = frozenset({"resolved", "closed", "cancelled"})

STREAM_PREFIX = "watched-ticket:"


@dataclass(frozen=True)
class TicketFacts:
    ticket_type: str
    priority: int
    status: str

    @property
    def is_open_critical_incident(self) -> bool:
        return (
            self.ticket_type == INCIDENT
            and self.priority == CRITICAL_PRIORITY
            and self.status not in OVER
        )


def facts_after(event: DomainEvent, before: TicketFacts | None) -> TicketFacts | None:
    """The ticket's facts after a tickets event, or ``None`` when the rule ignores it (not an
    incident, an event type it does not read, or a change of a ticket never recorded)."""
    match event:
        case TicketOpened():
            if event.ticket_type != INCIDENT:
                return None
            return TicketFacts(event.ticket_type, event.priority, event.status)
        case TicketPriorityChanged() if before is not None:
            return TicketFacts(before.ticket_type, event.priority, before.status)
        case TicketStatusChanged() if before is not None:
            return TicketFacts(before.ticket_type, before.priority, event.status)
    return None


def watched_ticket_stream_id(ticket_id: str) -> str:
    return f"{STREAM_PREFIX}{ticket_id}"


class WatchedTicket(Aggregate):
    """The facts of one incident ticket as the risk service last saw them."""

    stream_type = "watched_ticket"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.ticket_id = aggregate_id.removeprefix(STREAM_PREFIX)
        self.facts: TicketFacts | None = None

    @classmethod
    def of(cls, ticket_id: str) -> WatchedTicket:
        return cls(watched_ticket_stream_id(ticket_id))

    def observe(self, facts: TicketFacts, *, source_event_id: str, source_event_type: str) -> int:
        """Record new facts (if they differ) and answer how the count moves: +1, -1 or 0."""
        if facts == self.facts:
            return 0
        counted_before = self.facts is not None and self.facts.is_open_critical_incident
        self._record(
            WatchedTicketRecorded(
                ticket_id=self.ticket_id,
                ticket_type=facts.ticket_type,
                priority=facts.priority,
                status=facts.status,
                source_event_id=source_event_id,
                source_event_type=source_event_type,
            )
        )
        return int(facts.is_open_critical_incident) - int(counted_before)

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case WatchedTicketRecorded():
                self.facts = TicketFacts(event.ticket_type, event.priority, event.status)
            case _:
                raise TypeError(f"WatchedTicket cannot apply {type(event).__name__}")
