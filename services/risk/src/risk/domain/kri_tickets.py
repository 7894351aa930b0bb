"""The stream rule of the KRI "open critical IT incidents", fed by the tickets service's events.

The risk service does not depend on the tickets package: it reads the JSON payloads of
``tickets.TicketOpened``, ``tickets.TicketPriorityChanged`` and ``tickets.TicketStatusChanged``
by field name. The facts a count needs (type, priority, status) are kept per incident ticket in
the risk service's own ``WatchedTicket`` streams, so the count is exact: each tickets event moves
it by at most one, and only when the ticket starts or stops counting.

A ticket counts when it is an incident of priority 1 (critical) that is open, i.e. neither
resolved, closed nor cancelled ("pending" still counts: the incident is not over). Tickets of
other types are never recorded (their type does not change), so their events are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared_kernel.domain import Aggregate, DomainEvent

from risk.domain.kri_events import WatchedTicketRecorded

OPEN_CRITICAL_INCIDENTS = "open-critical-incidents"
OPEN_CRITICAL_INCIDENTS_RULE = "tickets.open-critical-incidents"
CRITICAL_PRIORITY = 1
INCIDENT = "incident"
OVER = frozenset({"resolved", "closed", "cancelled"})

TICKET_OPENED = "tickets.TicketOpened"
TICKET_PRIORITY_CHANGED = "tickets.TicketPriorityChanged"
TICKET_STATUS_CHANGED = "tickets.TicketStatusChanged"
TICKET_EVENTS = frozenset({TICKET_OPENED, TICKET_PRIORITY_CHANGED, TICKET_STATUS_CHANGED})
STREAM_PREFIX = "watched-ticket:"


class MalformedTicketEvent(ValueError):
    """A tickets event lacks a field the rule needs, or has one of the wrong type."""


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


def ticket_id_of(data: Mapping[str, Any]) -> str:
    return _text(data, "ticket_id")


def facts_after(
    event_type: str, data: Mapping[str, Any], before: TicketFacts | None
) -> TicketFacts | None:
    """The ticket's facts after a tickets event, or ``None`` when the rule ignores it (not an
    incident, an event type it does not read, or a change of a ticket never recorded)."""
    if event_type == TICKET_OPENED:
        ticket_type = _text(data, "ticket_type")
        if ticket_type != INCIDENT:
            return None
        status = data.get("status", "new")
        return TicketFacts(ticket_type, _priority(data), str(status))
    if before is None:
        return None
    if event_type == TICKET_PRIORITY_CHANGED:
        return TicketFacts(before.ticket_type, _priority(data), before.status)
    if event_type == TICKET_STATUS_CHANGED:
        return TicketFacts(before.ticket_type, before.priority, _text(data, "status"))
    return None


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedTicketEvent(f"tickets event without a text field {name!r}")
    return value


def _priority(data: Mapping[str, Any]) -> int:
    value = data.get("priority")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        raise MalformedTicketEvent(f"tickets event with priority {value!r}, not 1..4")
    return value


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
