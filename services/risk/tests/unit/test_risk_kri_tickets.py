"""The "open critical incidents" rule: which tickets count, and how each tickets event moves
the count."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from risk.domain.kri_tickets import TicketFacts, WatchedTicket, facts_after
from risk.domain.tickets_events import TICKETS_EVENTS
from shared_kernel.codec import EventCodec
from shared_kernel.domain import DomainEvent

pytestmark = pytest.mark.unit

TICKET_OPENED = "tickets.TicketOpened"
TICKET_PRIORITY_CHANGED = "tickets.TicketPriorityChanged"
TICKET_STATUS_CHANGED = "tickets.TicketStatusChanged"
# The risk service's classes of the tickets events it reads (the published language).
CODEC = EventCodec(TICKETS_EVENTS)


def typed(event_type: str, data: dict[str, Any]) -> DomainEvent | None:
    """The tickets event as the risk inbox hands it over; None for a type it does not read."""
    return CODEC.decode(event_type, 1, data) if CODEC.knows(event_type) else None


def replay(*events: tuple[str, dict[str, Any]]) -> list[int]:
    """Feed tickets events to one watched ticket; the count deltas, one per event."""
    ticket = WatchedTicket.of("T-1")
    deltas = []
    for number, (event_type, data) in enumerate(events):
        event = typed(event_type, {"ticket_id": "T-1", **data})
        facts = None if event is None else facts_after(event, ticket.facts)
        deltas.append(
            0
            if facts is None
            else ticket.observe(facts, source_event_id=str(number), source_event_type=event_type)
        )
    return deltas


def test_an_open_critical_incident_counts_until_it_is_resolved() -> None:
    assert replay(
        (TICKET_OPENED, {"ticket_type": "incident", "priority": 1}),
        (TICKET_STATUS_CHANGED, {"status": "open", "previous_status": "new"}),
        (TICKET_STATUS_CHANGED, {"status": "pending", "previous_status": "open"}),
        (TICKET_STATUS_CHANGED, {"status": "resolved", "previous_status": "pending"}),
        (TICKET_STATUS_CHANGED, {"status": "closed", "previous_status": "resolved"}),
    ) == [1, 0, 0, -1, 0]


def test_priority_changes_move_an_incident_in_and_out_of_the_count() -> None:
    assert replay(
        (TICKET_OPENED, {"ticket_type": "incident", "priority": 3}),
        (TICKET_PRIORITY_CHANGED, {"priority": 1}),
        (TICKET_PRIORITY_CHANGED, {"priority": 1}),
        (TICKET_PRIORITY_CHANGED, {"priority": 2}),
        (TICKET_STATUS_CHANGED, {"status": "cancelled"}),
        (TICKET_PRIORITY_CHANGED, {"priority": 1}),
        (TICKET_STATUS_CHANGED, {"status": "open"}),
    ) == [0, 1, 0, -1, 0, 0, 1]


def test_other_ticket_types_and_unknown_tickets_are_ignored() -> None:
    assert replay(
        (TICKET_OPENED, {"ticket_type": "service_request", "priority": 1}),
        (TICKET_STATUS_CHANGED, {"status": "open"}),
        (TICKET_PRIORITY_CHANGED, {"priority": 1}),
        ("tickets.TicketAssigned", {"assignee": "user:x"}),
    ) == [0, 0, 0, 0]
    changed = typed(TICKET_STATUS_CHANGED, {"ticket_id": "x", "status": "open"})
    assert changed is not None and facts_after(changed, None) is None


@pytest.mark.parametrize(
    "data",
    [
        {"ticket_type": "incident"},
        {"ticket_type": "incident", "priority": 0},
        {"ticket_type": "incident", "priority": "1"},
        {"ticket_type": "", "priority": 1},
        {"priority": 1},
    ],
)
def test_a_malformed_opening_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        typed(TICKET_OPENED, {"ticket_id": "T-1", **data})


def test_facts_say_what_counts() -> None:
    assert TicketFacts("incident", 1, "new").is_open_critical_incident
    assert TicketFacts("incident", 1, "pending").is_open_critical_incident
    assert not TicketFacts("incident", 2, "open").is_open_critical_incident
    assert not TicketFacts("problem", 1, "open").is_open_critical_incident
    assert not TicketFacts("incident", 1, "closed").is_open_critical_incident
