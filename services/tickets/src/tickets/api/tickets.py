"""Routes for tickets: open (front or back office), work (IT support), converse, link,
merge, read (a front-office requester sees only their own tickets, never internal notes)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status
from shared_kernel.identity import Identity, require_any_role
from shared_kernel.unit_of_work import CommandResult
from shared_kernel.web import IdempotencyKeyHeader, command_context

from tickets.api.dependencies import (
    AGENTS,
    READERS,
    REQUESTERS,
    Caller,
    Consistent,
    IfMatch,
    TicketsDep,
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
    TransitionTicket,
)
from tickets.app.queries import MAX_PAGE, TicketFilter
from tickets.bootstrap import Tickets
from tickets.domain import queue_id_for

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])

TicketId = Annotated[str, Path(pattern=ID_PATTERN)]


def _written(result: CommandResult) -> Written:
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Written)
async def open_ticket(
    body: OpenTicketBody,
    request: Request,
    response: Response,
    service: TicketsDep,
    caller: Caller,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Open a ticket; the caller is its requester. The priority follows from impact and
    urgency; the queue's round-robin assigns it to the next available member."""
    require_any_role(caller, REQUESTERS, "opening a ticket")
    context = command_context(caller, request, body, idempotency_key)
    command = OpenTicket(
        ticket_type=body.ticket_type,
        queue_id=body.queue_id or queue_id_for(service.settings.default_queue_name),
        impact=body.impact,
        urgency=body.urgency,
        title=body.title,
        description=body.description,
        category=body.category,
        configuration_item=body.configuration_item,
        requester_kind="system" if caller.kind == "system" else "person",
    )
    result = await service.commands.execute(context, service.commands.open_ticket, command)
    response.headers["Location"] = f"/v1/tickets/{result.aggregate_id}"
    return _written(result)


@router.get("", response_model=TicketPage, dependencies=[Consistent])
async def list_tickets(
    service: TicketsDep,
    caller: Caller,
    queue_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    status: Literal["new", "open", "pending", "resolved", "closed", "cancelled"] | None = None,
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
    where = TicketFilter(
        queue_id=queue_id,
        status=status,
        priority=priority,
        assignee=assignee,
        requester=visibility(caller).owner,
        sla=sla,
        q=q,
        ticket_type=ticket_type,
    )
    page = await service.queries.tickets(where, cursor, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


async def _visible_ticket(service: Tickets, caller: Identity, ticket_id: str) -> dict[str, Any]:
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
    request: Request,
    service: TicketsDep,
    caller: Caller,
    version: IfMatch,
) -> Any:
    """Assign to a member of the ticket's queue, or (no assignee) take it yourself."""
    require_any_role(caller, AGENTS, "assigning a ticket")
    context = command_context(caller, request, body, None)
    command = AssignTicket(ticket_id, body.assignee, expected_version=version)
    return _written(
        await service.commands.execute(context, service.commands.assign_ticket, command)
    )


@router.post("/{ticket_id}/transitions", response_model=Written)
async def transition(
    ticket_id: TicketId,
    body: TransitionBody,
    request: Request,
    service: TicketsDep,
    caller: Caller,
    version: IfMatch,
) -> Any:
    """Move the ticket along its lifecycle; a forbidden transition is 409 naming the
    allowed ones."""
    require_any_role(caller, AGENTS, "changing a ticket's status")
    context = command_context(caller, request, body, None)
    command = TransitionTicket(
        ticket_id,
        body.to,
        body.reason,
        resolve_linked_incidents=body.resolve_linked_incidents,
        expected_version=version,
    )
    return _written(
        await service.commands.execute(context, service.commands.transition_ticket, command)
    )


@router.post("/{ticket_id}/classification", response_model=Written)
async def classify(
    ticket_id: TicketId,
    body: ClassificationBody,
    request: Request,
    service: TicketsDep,
    caller: Caller,
    version: IfMatch,
) -> Any:
    """Change impact and/or urgency; the priority is recomputed through the queue's matrix."""
    require_any_role(caller, AGENTS, "reclassifying a ticket")
    context = command_context(caller, request, body, None)
    command = ClassifyTicket(
        ticket_id, body.impact, body.urgency, body.reason, expected_version=version
    )
    return _written(
        await service.commands.execute(context, service.commands.classify_ticket, command)
    )


@router.post("/{ticket_id}/replies", status_code=status.HTTP_201_CREATED, response_model=Written)
async def reply(
    ticket_id: TicketId,
    body: MessageBody,
    request: Request,
    response: Response,
    service: TicketsDep,
    caller: Caller,
    version: IfMatch,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """A public reply: by an agent (the first one stops the first-response clock), or by the
    ticket's requester (which moves a pending ticket back to open)."""
    require_any_role(caller, REQUESTERS, "replying to a ticket")
    context = command_context(caller, request, body, idempotency_key)
    command = PostMessage(
        ticket_id,
        body.body,
        internal=False,
        as_agent=caller.has_any(AGENTS),
        expected_version=version,
    )
    response.headers["Location"] = f"/v1/tickets/{ticket_id}/conversation"
    return _written(await service.commands.execute(context, service.commands.post_message, command))


@router.post("/{ticket_id}/notes", status_code=status.HTTP_201_CREATED, response_model=Written)
async def add_note(
    ticket_id: TicketId,
    body: MessageBody,
    request: Request,
    response: Response,
    service: TicketsDep,
    caller: Caller,
    version: IfMatch,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """An internal note, never shown to the requester."""
    require_any_role(caller, AGENTS, "adding an internal note")
    context = command_context(caller, request, body, idempotency_key)
    command = PostMessage(
        ticket_id, body.body, internal=True, as_agent=True, expected_version=version
    )
    response.headers["Location"] = f"/v1/tickets/{ticket_id}/conversation"
    return _written(await service.commands.execute(context, service.commands.post_message, command))


@router.post("/{ticket_id}/links", status_code=status.HTTP_201_CREATED, response_model=Written)
async def link(
    ticket_id: TicketId,
    body: LinkBody,
    request: Request,
    response: Response,
    service: TicketsDep,
    caller: Caller,
    version: IfMatch,
) -> Any:
    """Link to another ticket (parent/child, caused-by problem, duplicate-of); the inverse
    link is recorded on the other ticket."""
    require_any_role(caller, AGENTS, "linking tickets")
    context = command_context(caller, request, body, None)
    command = LinkTickets(ticket_id, body.kind, body.target_id, expected_version=version)
    response.headers["Location"] = f"/v1/tickets/{ticket_id}"
    return _written(await service.commands.execute(context, service.commands.link_tickets, command))


@router.post("/{ticket_id}/merge", response_model=Written)
async def merge(
    ticket_id: TicketId,
    body: MergeBody,
    request: Request,
    service: TicketsDep,
    caller: Caller,
    version: IfMatch,
) -> Any:
    """Merge this ticket (a duplicate) into the survivor: it is closed and points to it."""
    require_any_role(caller, AGENTS, "merging tickets")
    context = command_context(caller, request, body, None)
    command = MergeTicket(ticket_id, body.survivor_id, body.reason, expected_version=version)
    return _written(await service.commands.execute(context, service.commands.merge_ticket, command))
