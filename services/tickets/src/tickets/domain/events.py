"""Events of the tickets service: facts in the past tense, with JSON-friendly fields only.

Every event that matters for an SLA clock carries the instant it happened (``at``): the clocks
are folded from events alone, so a rebuild computes the same deadlines. Who did it travels in
the envelope (actor); why in ``reason`` where a person gives one.

The risk service reads ``TicketOpened``, ``TicketPriorityChanged`` and ``TicketStatusChanged``
by field name from the ``tickets.events`` topic: keep those fields stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from shared_kernel.domain import DomainEvent

# ---------------------------------------------------------------- queues


@dataclass(frozen=True)
class QueueCreated(DomainEvent):
    """A queue (a group of agents working tickets) was set up.

    ``sla_policy`` is ``SlaPolicy.to_dict()``; ``priority_matrix`` is ``PriorityMatrix.to_rows()``
    (4 rows of 4 priorities, impact 1..4 by urgency 1..4)."""

    event_type: ClassVar[str] = "tickets.QueueCreated"

    queue_id: str
    name: str
    escalation_group: str
    sla_policy: dict[str, Any]
    priority_matrix: list[list[int]]
    auto_assign: bool = True


@dataclass(frozen=True)
class QueueMemberAdded(DomainEvent):
    """An operator (``member``) joined a queue and is assigned its tickets in turn."""

    event_type: ClassVar[str] = "tickets.QueueMemberAdded"

    queue_id: str
    member: str


@dataclass(frozen=True)
class QueueMemberRemoved(DomainEvent):
    """An operator (``member``) left a queue and is assigned none of its tickets any more."""

    event_type: ClassVar[str] = "tickets.QueueMemberRemoved"

    queue_id: str
    member: str


@dataclass(frozen=True)
class QueueMemberAvailabilityChanged(DomainEvent):
    """A member became (un)available: round-robin skips unavailable members."""

    event_type: ClassVar[str] = "tickets.QueueMemberAvailabilityChanged"

    queue_id: str
    member: str
    available: bool


@dataclass(frozen=True)
class QueueRoundRobinAdvanced(DomainEvent):
    """Round-robin handed a ticket of this queue to ``member``. Recorded on the queue's stream
    in the same commit as the ticket's assignment, so concurrent creations serialise on the
    queue's version and the turns stay balanced."""

    event_type: ClassVar[str] = "tickets.QueueRoundRobinAdvanced"

    queue_id: str
    member: str
    ticket_id: str


# ---------------------------------------------------------------- tickets


@dataclass(frozen=True)
class TicketOpened(DomainEvent):
    """A ticket was opened. ``sla_policy`` is the queue's policy at that moment
    (``SlaPolicy.to_dict()``): the ticket's deadlines depend on its own events only."""

    event_type: ClassVar[str] = "tickets.TicketOpened"

    ticket_id: str
    ticket_type: str  # "incident" | "service_request" | "problem"
    priority: int
    queue_id: str
    impact: int
    urgency: int
    title: str
    description: str
    category: str
    configuration_item: str | None
    requester: str
    requester_kind: str  # "person" | "system"
    opened_at: datetime
    sla_policy: dict[str, Any]
    status: str = "new"
    # What opened it when not a person or a monitoring alert, e.g. {"service": "risk",
    # "kind": "limit_breach", "id": <breach id>, "limit_id": ..., "exposure_id": ...}.
    origin: dict[str, str] | None = None


@dataclass(frozen=True)
class TicketClassified(DomainEvent):
    """Impact and/or urgency were changed (the priority follows in TicketPriorityChanged)."""

    event_type: ClassVar[str] = "tickets.TicketClassified"

    ticket_id: str
    impact: int
    urgency: int
    reason: str
    at: datetime


@dataclass(frozen=True)
class TicketPriorityChanged(DomainEvent):
    """A ticket's priority changed from ``previous_priority`` to ``priority``, for ``reason``."""

    event_type: ClassVar[str] = "tickets.TicketPriorityChanged"

    ticket_id: str
    priority: int
    previous_priority: int
    reason: str
    at: datetime


@dataclass(frozen=True)
class TicketStatusChanged(DomainEvent):
    """A ticket's status changed from ``previous_status`` to ``status``, for ``reason``."""

    event_type: ClassVar[str] = "tickets.TicketStatusChanged"

    ticket_id: str
    status: str
    previous_status: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class TicketAssigned(DomainEvent):
    """``how`` is "take" (an agent took it), "assign" (someone assigned it) or "round_robin"."""

    event_type: ClassVar[str] = "tickets.TicketAssigned"

    ticket_id: str
    assignee: str
    previous_assignee: str | None
    how: str
    at: datetime


@dataclass(frozen=True)
class TicketReplied(DomainEvent):
    """A public reply, visible to the requester. ``by_agent`` replies stop the first-response
    clock."""

    event_type: ClassVar[str] = "tickets.TicketReplied"

    ticket_id: str
    message_id: str
    author: str
    body: str
    by_agent: bool
    at: datetime


@dataclass(frozen=True)
class TicketNoteAdded(DomainEvent):
    """An internal note: never shown to the requester."""

    event_type: ClassVar[str] = "tickets.TicketNoteAdded"

    ticket_id: str
    message_id: str
    author: str
    body: str
    at: datetime


@dataclass(frozen=True)
class TicketLinked(DomainEvent):
    """``kind``: "parent_of", "child_of", "caused_by" (an incident caused by a problem),
    "duplicate_of"."""

    event_type: ClassVar[str] = "tickets.TicketLinked"

    ticket_id: str
    kind: str
    target_id: str
    at: datetime


@dataclass(frozen=True)
class TicketMerged(DomainEvent):
    """This ticket was a duplicate of ``survivor_id`` and was merged into it (and closed)."""

    event_type: ClassVar[str] = "tickets.TicketMerged"

    ticket_id: str
    survivor_id: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class TicketDuplicateAbsorbed(DomainEvent):
    """The survivor side of a merge: ``duplicate_id`` was merged into this ticket."""

    event_type: ClassVar[str] = "tickets.TicketDuplicateAbsorbed"

    ticket_id: str
    duplicate_id: str
    at: datetime


@dataclass(frozen=True)
class AlertRecorded(DomainEvent):
    """A monitoring alert about this incident's host and check arrived."""

    event_type: ClassVar[str] = "tickets.AlertRecorded"

    ticket_id: str
    host: str
    check: str
    state: str  # "firing" | "resolved"
    summary: str
    severity: str | None
    occurred_at: datetime
    at: datetime


@dataclass(frozen=True)
class SlaWarningRaised(DomainEvent):
    """``clock`` ("first_response" | "resolution") reached the warning ratio of its target."""

    event_type: ClassVar[str] = "tickets.SlaWarningRaised"

    ticket_id: str
    clock: str
    priority: int
    target_seconds: int
    warning_at: datetime
    at: datetime


@dataclass(frozen=True)
class SlaBreached(DomainEvent):
    """A ticket's SLA ``clock`` ran out: it was due at ``due_at`` (``target_seconds`` after it
    started, for its ``priority``) and was not met by then."""

    event_type: ClassVar[str] = "tickets.SlaBreached"

    ticket_id: str
    clock: str
    priority: int
    target_seconds: int
    due_at: datetime
    at: datetime


@dataclass(frozen=True)
class TicketEscalated(DomainEvent):
    """A ticket was handed to ``escalated_to`` (a group or person), for ``reason``."""

    event_type: ClassVar[str] = "tickets.TicketEscalated"

    ticket_id: str
    escalated_to: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class TicketRated(DomainEvent):
    """The requester rated a resolved ticket (1 = very dissatisfied ... 5 = very satisfied).
    ``agent`` is the assignee when it was resolved; read by risk (satisfaction KRI)."""

    event_type: ClassVar[str] = "tickets.TicketRated"

    ticket_id: str
    rating: int
    comment: str
    rated_by: str
    queue_id: str | None
    agent: str | None
    at: datetime


# ---------------------------------------------------------------- alert sources


@dataclass(frozen=True)
class AlertIncidentOpened(DomainEvent):
    """The (host, check) alert source now has an open incident."""

    event_type: ClassVar[str] = "tickets.AlertIncidentOpened"

    source_id: str
    host: str
    check: str
    ticket_id: str


@dataclass(frozen=True)
class AlertIncidentRecovered(DomainEvent):
    """A recovery alert ended the source's open incident."""

    event_type: ClassVar[str] = "tickets.AlertIncidentRecovered"

    source_id: str
    ticket_id: str


# ---------------------------------------------------------------- limit breaches


@dataclass(frozen=True)
class LimitBreachIncidentOpened(DomainEvent):
    """A risk limit breach opened incident ``ticket_id`` (stream per limit)."""

    event_type: ClassVar[str] = "tickets.LimitBreachIncidentOpened"

    limit_id: str
    breach_id: str
    exposure_id: str
    ticket_id: str


@dataclass(frozen=True)
class LimitBreachMeasuresHeld(DomainEvent):
    """Measures on a breach arrived before the breach itself (other partition): kept until
    its incident opens, then added to it as notes."""

    event_type: ClassVar[str] = "tickets.LimitBreachMeasuresHeld"

    limit_id: str
    breach_id: str
    measures: str
    recorded_by: str
    source_id: str
    at: datetime


@dataclass(frozen=True)
class LimitBreachIncidentClosed(DomainEvent):
    """The exposure went back within the limit: the breach's incident was resolved."""

    event_type: ClassVar[str] = "tickets.LimitBreachIncidentClosed"

    limit_id: str
    breach_id: str
    ticket_id: str


ALL_EVENTS: tuple[type[DomainEvent], ...] = (
    QueueCreated,
    QueueMemberAdded,
    QueueMemberRemoved,
    QueueMemberAvailabilityChanged,
    QueueRoundRobinAdvanced,
    TicketOpened,
    TicketClassified,
    TicketPriorityChanged,
    TicketStatusChanged,
    TicketAssigned,
    TicketReplied,
    TicketNoteAdded,
    TicketLinked,
    TicketMerged,
    TicketDuplicateAbsorbed,
    AlertRecorded,
    SlaWarningRaised,
    SlaBreached,
    TicketEscalated,
    AlertIncidentOpened,
    AlertIncidentRecovered,
    TicketRated,
    LimitBreachIncidentOpened,
    LimitBreachMeasuresHeld,
    LimitBreachIncidentClosed,
)
