"""The tickets service's events as the case timeline reads them (see ``case_events``)."""

from __future__ import annotations

from dataclasses import dataclass

from shared_kernel.domain import DomainEvent


@dataclass(frozen=True)
class TicketOpened(DomainEvent):
    event_type = "tickets.TicketOpened"

    ticket_type: str
    priority: int
    queue_id: str
    title: str
    requester: str


@dataclass(frozen=True)
class TicketNoteAdded(DomainEvent):
    event_type = "tickets.TicketNoteAdded"

    author: str
    body: str


@dataclass(frozen=True)
class TicketReplied(DomainEvent):
    event_type = "tickets.TicketReplied"

    author: str
    body: str


@dataclass(frozen=True)
class TicketStatusChanged(DomainEvent):
    event_type = "tickets.TicketStatusChanged"

    status: str
    previous_status: str
    reason: str = ""


@dataclass(frozen=True)
class TicketAssigned(DomainEvent):
    event_type = "tickets.TicketAssigned"

    assignee: str


@dataclass(frozen=True)
class TicketPriorityChanged(DomainEvent):
    event_type = "tickets.TicketPriorityChanged"

    priority: int
    previous_priority: int
    reason: str = ""


@dataclass(frozen=True)
class TicketEscalated(DomainEvent):
    event_type = "tickets.TicketEscalated"

    escalated_to: str
    reason: str = ""


@dataclass(frozen=True)
class SlaBreached(DomainEvent):
    event_type = "tickets.SlaBreached"

    clock: str
    priority: int


@dataclass(frozen=True)
class SlaWarningRaised(DomainEvent):
    event_type = "tickets.SlaWarningRaised"

    clock: str
    priority: int


@dataclass(frozen=True)
class TicketRated(DomainEvent):
    event_type = "tickets.TicketRated"

    rating: int
    rated_by: str
    comment: str = ""


@dataclass(frozen=True)
class AlertRecorded(DomainEvent):
    event_type = "tickets.AlertRecorded"

    host: str
    check: str
    state: str
    summary: str = ""


@dataclass(frozen=True)
class LimitBreachIncidentOpened(DomainEvent):
    event_type = "tickets.LimitBreachIncidentOpened"

    limit_id: str
    ticket_id: str


@dataclass(frozen=True)
class LimitBreachIncidentClosed(DomainEvent):
    event_type = "tickets.LimitBreachIncidentClosed"

    limit_id: str
    ticket_id: str


@dataclass(frozen=True)
class LimitBreachMeasuresHeld(DomainEvent):
    event_type = "tickets.LimitBreachMeasuresHeld"

    limit_id: str
    recorded_by: str


TICKETS_EVENTS: tuple[type[DomainEvent], ...] = (
    TicketOpened,
    TicketNoteAdded,
    TicketReplied,
    TicketStatusChanged,
    TicketAssigned,
    TicketPriorityChanged,
    TicketEscalated,
    SlaBreached,
    SlaWarningRaised,
    TicketRated,
    AlertRecorded,
    LimitBreachIncidentOpened,
    LimitBreachIncidentClosed,
    LimitBreachMeasuresHeld,
)
