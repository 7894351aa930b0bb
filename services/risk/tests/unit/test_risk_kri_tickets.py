"""The "open critical incidents" rule: which tickets count, and how each tickets event moves
the count."""

from __future__ import annotations

from typing import Any

import pytest
from risk.domain.kri_tickets import (
    TICKET_OPENED,
    TICKET_PRIORITY_CHANGED,
    TICKET_STATUS_CHANGED,
    MalformedTicketEvent,
    TicketFacts,
    WatchedTicket,
    facts_after,
)

pytestmark = pytest.mark.unit


def replay(*events: tuple[str, dict[str, Any]]) -> list[int]:
    """Feed tickets events to one watched ticket; the count deltas, one per event."""
    ticket = WatchedTicket.of("T-1")
    deltas = []
    for number, (event_type, data) in enumerate(events):
        facts = facts_after(event_type, {"ticket_id": "T-1", **data}, ticket.facts)
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
    assert facts_after(TICKET_STATUS_CHANGED, {"ticket_id": "x", "status": "open"}, None) is None


@pytest.mark.parametrize(
    "data",
    [
        {"ticket_type": "incident"},
        {"ticket_type": "incident", "priority": 0},
        {"ticket_type": "incident", "priority": "1"},
        {"ticket_type": "incident", "priority": True},
        {"priority": 1},
    ],
)
def test_a_malformed_opening_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(MalformedTicketEvent):
        facts_after(TICKET_OPENED, data, None)


def test_facts_say_what_counts() -> None:
    assert TicketFacts("incident", 1, "new").is_open_critical_incident
    assert TicketFacts("incident", 1, "pending").is_open_critical_incident
    assert not TicketFacts("incident", 2, "open").is_open_critical_incident
    assert not TicketFacts("problem", 1, "open").is_open_critical_incident
    assert not TicketFacts("incident", 1, "closed").is_open_critical_incident
