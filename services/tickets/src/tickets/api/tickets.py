"""Routes for tickets: open (front or back office), work (IT support), converse, link,
merge, read (a front-office requester sees only their own tickets, never internal notes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, status
from shared_kernel.errors import DomainError
from shared_kernel.identity import Caller as SignedCaller
from shared_kernel.identity import require_any_role

from tickets.api.dependencies import (
    AGENTS,
    READERS,
    REQUESTERS,
    Caller,
    CommandCall,
    Consistent,
    TicketsDep,
    command_call,
    visibility,
)
from tickets.api.schemas import (
    ID_PATTERN,
    PLAIN,
    AssignmentBody,
    ClassificationBody,
    LinkBody,
    MergeBody,
    MessageBody,
    OpenTicketBody,
    RatingBody,
    TransitionBody,
    Written,
)
from tickets.api.views import Conversation, History, TicketPage, TicketView
from tickets.app.commands import (
    AssignTicket,
    ClassifyTicket,
    LinkTickets,
    MergeTicket,
    OpenTicket,
    PostMessage,
    RateTicket,
    TransitionTicket,
)
from tickets.app.queries import MAX_PAGE, TicketFilter
from tickets.bootstrap import Tickets
from tickets.domain import queue_id_for

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])

TicketId = Annotated[str, Path(pattern=ID_PATTERN)]
TicketStatus = Literal["new", "open", "pending", "resolved", "closed", "cancelled"]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Written)
async def open_ticket(
    body: OpenTicketBody,
    service: TicketsDep,
    cmd: Annotated[CommandCall, Depends(command_call(REQUESTERS, "opening a ticket"))],
) -> Any:
    """Open a ticket; the caller is its requester. The priority follows from impact and
    urgency; the queue's round-robin assigns it to the next available member."""
    command = OpenTicket(
        ticket_type=body.ticket_type,
        queue_id=body.queue_id or queue_id_for(service.settings.default_queue_name),
        impact=body.impact,
        urgency=body.urgency,
        title=body.title,
        description=body.description,
        category=body.category,
        configuration_item=body.configuration_item,
        requester_kind="system" if cmd.caller.kind == "system" else "person",
    )
    return await cmd.written(service.commands.open_ticket, command, location="/v1/tickets/{id}")


@router.get("", response_model=TicketPage, dependencies=[Consistent])
async def list_tickets(
    service: TicketsDep,
    caller: Caller,
    queue_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    queue: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            pattern=PLAIN,
            description="A queue's id or name (e.g. risk-limits); instead of queue_id",
        ),
    ] = None,
    origin_id: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="What opened it, e.g. a breach id")
    ] = None,
    status: Annotated[
        list[TicketStatus] | None,
        Query(description="Repeat for any of several statuses: ?status=new&status=open"),
    ] = None,
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    assignee: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    ticket_type: Literal["incident", "service_request", "problem"] | None = None,
    sla: Literal["breached", "at_risk"] | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, pattern=PLAIN)] = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Any:
    """The queue view: filters, full-text search (``q``, web-search syntax) over title and
    description, newest first. A front-office caller sees their own tickets only."""
    require_any_role(caller, READERS, "reading tickets")
    if queue is not None:
        if queue_id is not None:
            raise DomainError("give queue_id or queue, not both", field="queue")
        queue_id = _queue_id_of(queue)
    where = TicketFilter(
        queue_id=queue_id,
        status=_one_or_several(status),
        priority=priority,
        assignee=assignee,
        requester=visibility(caller).owner,
        sla=sla,
        q=q,
        ticket_type=ticket_type,
        origin_id=origin_id,
    )
    page = await service.queries.tickets(where, cursor, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


def _one_or_several(statuses: Sequence[str] | None) -> str | tuple[str, ...] | None:
    """One status as one (the filter the status indexes serve as before), several as a tuple."""
    if not statuses:
        return None
    distinct = tuple(dict.fromkeys(statuses))
    return distinct[0] if len(distinct) == 1 else distinct


def _queue_id_of(queue: str) -> str:
    """A queue's id as given, or the id its name derives to (queue ids are UUIDs)."""
    try:
        return str(UUID(queue))
    except ValueError:
        return queue_id_for(queue)


async def _visible_ticket(service: Tickets, caller: SignedCaller, ticket_id: str) -> dict[str, Any]:
    """The ticket if the caller may see it; 404 otherwise (a stranger's ticket is not
    revealed to exist)."""
    require_any_role(caller, READERS, "reading a ticket")
    ticket = await service.queries.ticket(ticket_id)
    visibility(caller).require(
        ticket["requester"], f"ticket {ticket_id} does not exist", field="ticket_id"
    )
    return ticket


@router.get("/{ticket_id}", response_model=TicketView, dependencies=[Consistent])
async def get_ticket(ticket_id: TicketId, service: TicketsDep, caller: Caller) -> Any:
    return await _visible_ticket(service, caller, ticket_id)


@router.get("/{ticket_id}/conversation", response_model=Conversation, dependencies=[Consistent])
async def conversation(ticket_id: TicketId, service: TicketsDep, caller: Caller) -> Any:
    """Public replies, and for the back office internal notes too, oldest first."""
    await _visible_ticket(service, caller, ticket_id)
    items = await service.queries.conversation(
        ticket_id, include_internal=visibility(caller).everything
    )
    return {"items": items}


@router.get("/{ticket_id}/history", response_model=History)
async def history(ticket_id: TicketId, service: TicketsDep, caller: Caller) -> Any:
    """Every change from the ticket's events (who, when, what, why); read from the event
    store, so always current. A front-office requester does not see internal notes."""
    require_any_role(caller, READERS, "reading a ticket's history")
    scope = visibility(caller)
    if not scope.everything:
        scope.require(
            await service.history.requester_of(ticket_id),
            f"ticket {ticket_id} does not exist",
            field="ticket_id",
        )
    return {"items": await service.history.of(ticket_id, include_internal=scope.everything)}


@router.post("/{ticket_id}/assignment", response_model=Written)
async def assign(
    ticket_id: TicketId,
    body: AssignmentBody,
    service: TicketsDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(AGENTS, "assigning a ticket", if_match=True, idempotent=False)),
    ],
) -> Any:
    """Assign to a member of the ticket's queue, or (no assignee) take it yourself."""
    command = AssignTicket(ticket_id, body.assignee, expected_version=cmd.expected_version)
    return await cmd.written(service.commands.assign_ticket, command)


@router.post("/{ticket_id}/transitions", response_model=Written)
async def transition(
    ticket_id: TicketId,
    body: TransitionBody,
    service: TicketsDep,
    cmd: Annotated[
        CommandCall,
        Depends(
            command_call(AGENTS, "changing a ticket's status", if_match=True, idempotent=False)
        ),
    ],
) -> Any:
    """Move the ticket along its lifecycle; a forbidden transition is 409 naming the
    allowed ones."""
    command = TransitionTicket(
        ticket_id,
        body.to,
        body.reason,
        resolve_linked_incidents=body.resolve_linked_incidents,
        expected_version=cmd.expected_version,
    )
    return await cmd.written(service.commands.transition_ticket, command)


@router.post("/{ticket_id}/classification", response_model=Written)
async def classify(
    ticket_id: TicketId,
    body: ClassificationBody,
    service: TicketsDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(AGENTS, "reclassifying a ticket", if_match=True, idempotent=False)),
    ],
) -> Any:
    """Change impact and/or urgency; the priority is recomputed through the queue's matrix."""
    command = ClassifyTicket(
        ticket_id, body.impact, body.urgency, body.reason, expected_version=cmd.expected_version
    )
    return await cmd.written(service.commands.classify_ticket, command)


@router.post("/{ticket_id}/replies", status_code=status.HTTP_201_CREATED, response_model=Written)
async def reply(
    ticket_id: TicketId,
    body: MessageBody,
    service: TicketsDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(REQUESTERS, "replying to a ticket", if_match=True))
    ],
) -> Any:
    """A public reply: by an agent (the first one stops the first-response clock), or by the
    ticket's requester (which moves a pending ticket back to open)."""
    command = PostMessage(
        ticket_id,
        body.body,
        internal=False,
        as_agent=cmd.caller.has_any(AGENTS),
        expected_version=cmd.expected_version,
    )
    return await cmd.written(
        service.commands.post_message, command, location=f"/v1/tickets/{ticket_id}/conversation"
    )


@router.post("/{ticket_id}/notes", status_code=status.HTTP_201_CREATED, response_model=Written)
async def add_note(
    ticket_id: TicketId,
    body: MessageBody,
    service: TicketsDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(AGENTS, "adding an internal note", if_match=True))
    ],
) -> Any:
    """An internal note, never shown to the requester."""
    command = PostMessage(
        ticket_id, body.body, internal=True, as_agent=True, expected_version=cmd.expected_version
    )
    return await cmd.written(
        service.commands.post_message, command, location=f"/v1/tickets/{ticket_id}/conversation"
    )


@router.post("/{ticket_id}/links", status_code=status.HTTP_201_CREATED, response_model=Written)
async def link(
    ticket_id: TicketId,
    body: LinkBody,
    service: TicketsDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(AGENTS, "linking tickets", if_match=True, idempotent=False)),
    ],
) -> Any:
    """Link to another ticket (parent/child, caused-by problem, duplicate-of); the inverse
    link is recorded on the other ticket."""
    command = LinkTickets(
        ticket_id, body.kind, body.target_id, expected_version=cmd.expected_version
    )
    return await cmd.written(
        service.commands.link_tickets, command, location=f"/v1/tickets/{ticket_id}"
    )


@router.post("/{ticket_id}/merge", response_model=Written)
async def merge(
    ticket_id: TicketId,
    body: MergeBody,
    service: TicketsDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(AGENTS, "merging tickets", if_match=True, idempotent=False)),
    ],
) -> Any:
    """Merge this ticket (a duplicate) into the survivor: it is closed and points to it."""
    command = MergeTicket(
        ticket_id, body.survivor_id, body.reason, expected_version=cmd.expected_version
    )
    return await cmd.written(service.commands.merge_ticket, command)


@router.post("/{ticket_id}/rating", status_code=status.HTTP_201_CREATED, response_model=Written)
async def rate(
    ticket_id: TicketId,
    body: RatingBody,
    service: TicketsDep,
    cmd: Annotated[CommandCall, Depends(command_call(REQUESTERS, "rating a ticket"))],
) -> Any:
    """The requester's satisfaction with a resolved ticket: 1 (very dissatisfied) to 5 (very
    satisfied) and a comment, once, until the reopen window closes (409 ``AlreadyRated``,
    ``TicketNotResolved``, ``RatingWindowClosed``). Only the requester, a person, may rate:
    403 for a back-office caller who is not, 404 for a ticket the caller may not see."""
    command = RateTicket(
        ticket_id,
        body.rating,
        body.comment,
        sees_every_ticket=visibility(cmd.caller).everything,
    )
    return await cmd.written(
        service.commands.rate_ticket, command, location=f"/v1/tickets/{ticket_id}"
    )
