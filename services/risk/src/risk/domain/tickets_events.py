"""The tickets service's events as the risk service reads them: its side of the published
language (see ``ledger_events``), with only the fields the KRI "open critical incidents"
uses. A tickets event of these types without them, or with a priority outside 1..4 or an
empty text, is malformed: dead-lettered by the inbox, never counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared_kernel.domain import DomainEvent

Priority = Literal[1, 2, 3, 4]


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


TicketEvent = TicketOpened | TicketPriorityChanged | TicketStatusChanged

TICKETS_EVENTS: tuple[type[DomainEvent], ...] = (
    TicketOpened,
    TicketPriorityChanged,
    TicketStatusChanged,
)
