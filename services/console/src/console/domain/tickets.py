"""What an operator may do with a ticket now: the policy's routes (``Operator.may``) and the
ticket's state together, so that the page offers only actions the API would accept.

The lifecycle mirrors the tickets service's state machine (tickets/domain/lifecycle.py; the
API does not list a ticket's next statuses). A unit test holds the two equal. The API still
decides every action: this only hides what would certainly be refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from console.domain.operator import Operator

LIST = "GET /tickets/v1/tickets"
READ = "GET /tickets/v1/tickets/{ticket_id}"
CONVERSATION = "GET /tickets/v1/tickets/{ticket_id}/conversation"
HISTORY = "GET /tickets/v1/tickets/{ticket_id}/history"
OPEN = "POST /tickets/v1/tickets"
QUEUES = "GET /tickets/v1/queues"
QUEUE = "GET /tickets/v1/queues/{queue_id}"
REPLY = "POST /tickets/v1/tickets/{ticket_id}/replies"
NOTE = "POST /tickets/v1/tickets/{ticket_id}/notes"
ASSIGN = "POST /tickets/v1/tickets/{ticket_id}/assignment"
TRANSITION = "POST /tickets/v1/tickets/{ticket_id}/transitions"
CLASSIFY = "POST /tickets/v1/tickets/{ticket_id}/classification"
LINK = "POST /tickets/v1/tickets/{ticket_id}/links"
MERGE = "POST /tickets/v1/tickets/{ticket_id}/merge"
RATE = "POST /tickets/v1/tickets/{ticket_id}/rating"

STATUSES = ("new", "open", "pending", "resolved", "closed", "cancelled")
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "resolved", "cancelled"}),
    "open": frozenset({"pending", "resolved", "cancelled"}),
    "pending": frozenset({"open", "resolved", "cancelled"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}
FINAL = frozenset({"closed", "cancelled"})
TICKET_TYPES = ("incident", "service_request", "problem")
LINK_KINDS = ("parent_of", "child_of", "caused_by", "duplicate_of")
LEVELS = (1, 2, 3, 4)


def allowed_transitions(status: str) -> list[str]:
    """The statuses a ticket in ``status`` may move to, in lifecycle order."""
    allowed = TRANSITIONS.get(status, frozenset())
    return [s for s in STATUSES if s in allowed]


@dataclass(frozen=True)
class TicketActions:
    reply: bool
    note: bool
    take: bool
    assign: bool
    transitions: tuple[str, ...]
    classify: bool
    link: bool
    merge: bool
    rate: bool

    @property
    def any_work(self) -> bool:
        """Whether the operator works the ticket (more than replying or rating)."""
        return self.note or self.take or self.assign or bool(self.transitions) or self.classify


def actions_for(operator: Operator, ticket: Mapping[str, Any]) -> TicketActions:
    status = str(ticket.get("status", ""))
    active = status not in FINAL
    is_requester = operator.subject == ticket.get("requester")
    return TicketActions(
        # A requester answers their own ticket; an agent (who may also note) any ticket.
        reply=active and operator.may(REPLY) and (is_requester or operator.may(NOTE)),
        note=operator.may(NOTE),
        take=active and operator.may(ASSIGN) and ticket.get("assignee") != operator.subject,
        assign=active and operator.may(ASSIGN, QUEUE),
        transitions=tuple(allowed_transitions(status)) if operator.may(TRANSITION) else (),
        classify=active and operator.may(CLASSIFY),
        link=operator.may(LINK),
        merge=active and operator.may(MERGE),
        rate=(
            operator.may(RATE)
            and is_requester
            and status == "resolved"
            and ticket.get("rating") is None
        ),
    )
