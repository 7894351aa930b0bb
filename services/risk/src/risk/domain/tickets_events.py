"""The tickets service's events as the risk service reads them: its side of the published
language (see ``ledger_events``), with only the fields its KRIs use ("open critical
incidents": opened, priority and status changes; "SLA breaches in the last 30 days":
``SlaBreached``; "customer satisfaction over the last 30 days": ``TicketRated``). A tickets
event of these types without them, or with a priority outside 1..4, a rating outside 1..5, an
empty text or a time without zone, is malformed: dead-lettered by the inbox, never counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared_kernel.domain import DomainEvent

Priority = Literal[1, 2, 3, 4]
Rating = Literal[1, 2, 3, 4, 5]


def _require_text(**fields: str) -> None:
    for name, value in fields.items():
        if not value:
            raise ValueError(f"a tickets event with an empty {name!r}")


@dataclass(frozen=True)
class TicketOpened(DomainEvent):
    event_type = "tickets.TicketOpened"

    ticket_id: str
    ticket_type: str
    priority: Priority
    status: str = "new"

    def __post_init__(self) -> None:
        _require_text(ticket_id=self.ticket_id, ticket_type=self.ticket_type, status=self.status)


@dataclass(frozen=True)
class TicketPriorityChanged(DomainEvent):
    event_type = "tickets.TicketPriorityChanged"

    ticket_id: str
    priority: Priority

    def __post_init__(self) -> None:
        _require_text(ticket_id=self.ticket_id)


@dataclass(frozen=True)
class TicketStatusChanged(DomainEvent):
    event_type = "tickets.TicketStatusChanged"

    ticket_id: str
    status: str

    def __post_init__(self) -> None:
        _require_text(ticket_id=self.ticket_id, status=self.status)


def _require_zone(**fields: datetime) -> None:
    for name, value in fields.items():
        if value.tzinfo is None:
            raise ValueError(f"a tickets event with {name!r} without a time zone")


@dataclass(frozen=True)
class SlaBreached(DomainEvent):
    """An SLA clock of a ticket ran out (``at``: when)."""

    event_type = "tickets.SlaBreached"

    ticket_id: str
    at: datetime

    def __post_init__(self) -> None:
        _require_text(ticket_id=self.ticket_id)
        _require_zone(at=self.at)


@dataclass(frozen=True)
class TicketRated(DomainEvent):
    """The requester rated a resolved ticket, 1 (bad) to 5 (good), at ``at``."""

    event_type = "tickets.TicketRated"

    ticket_id: str
    rating: Rating
    at: datetime

    def __post_init__(self) -> None:
        _require_text(ticket_id=self.ticket_id)
        _require_zone(at=self.at)


TicketEvent = TicketOpened | TicketPriorityChanged | TicketStatusChanged

TICKETS_EVENTS: tuple[type[DomainEvent], ...] = (
    TicketOpened,
    TicketPriorityChanged,
    TicketStatusChanged,
)
