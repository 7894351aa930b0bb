"""Builders of domain objects for unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tickets.domain import PriorityMatrix, Queue, Status, Ticket
from tickets.domain.priority import DEFAULT_MATRIX
from tickets.domain.sla import DEFAULT_SLA_POLICY

MONDAY_9_BERLIN = datetime(2026, 11, 23, 8, tzinfo=UTC)
ROUTES = {
    Status.OPEN: [Status.OPEN],
    Status.PENDING: [Status.PENDING],
    Status.RESOLVED: [Status.RESOLVED],
    Status.CLOSED: [Status.RESOLVED, Status.CLOSED],
    Status.CANCELLED: [Status.CANCELLED],
}


def queue(
    name: str = "it-support", members: tuple[str, ...] = (), matrix: PriorityMatrix = DEFAULT_MATRIX
) -> Queue:
    made = Queue.create(
        name, escalation_group="it-managers", sla_policy=DEFAULT_SLA_POLICY, matrix=matrix
    )
    for member in members:
        made.add_member(member)
    made.mark_saved()
    return made


def new_ticket(
    impact: int = 3,
    urgency: int = 3,
    *,
    at: datetime = MONDAY_9_BERLIN,
    ticket_type: str = "incident",
    in_queue: Queue | None = None,
    ticket_id: str = "t-1",
) -> Ticket:
    return Ticket.open(
        ticket_id,
        ticket_type=ticket_type,
        queue=in_queue or queue(),
        impact=impact,
        urgency=urgency,
        title="Printer jams",
        description="Floor 3",
        category="hardware",
        configuration_item="printer-3",
        requester="user:tina",
        requester_kind="person",
        at=at,
    )


def walk_to(ticket: Ticket, target: Status, *, at: datetime) -> Ticket:
    for step in ROUTES[target]:
        ticket.transition(step, reason="test", at=at, reopen_window=timedelta(days=7))
    return ticket
