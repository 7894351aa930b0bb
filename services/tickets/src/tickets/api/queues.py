"""Routes for queues: create (admin), members and their availability, read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from shared_kernel.errors import PermissionDenied
from shared_kernel.identity import require_any_role
from shared_kernel.web import IdempotencyKeyHeader, command_context

from tickets.api.dependencies import (
    AGENTS,
    QUEUE_MANAGERS,
    READERS,
    Caller,
    Consistent,
    IfMatch,
    TicketsDep,
)
from tickets.api.schemas import (
    ID_PATTERN,
    AvailabilityBody,
    CreateQueueBody,
    MemberBody,
    Written,
)
from tickets.api.views import QueueList, QueueView
from tickets.app.commands import (
    AddQueueMember,
    CreateQueue,
    RemoveQueueMember,
    SetMemberAvailability,
)
from tickets.domain import DEFAULT_MATRIX, PriorityMatrix
from tickets.domain.sla import DEFAULT_SLA_POLICY

router = APIRouter(prefix="/v1/queues", tags=["queues"])

QueueId = Annotated[str, Path(pattern=ID_PATTERN)]
MemberPath = Annotated[str, Path(pattern=ID_PATTERN)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Written)
async def create_queue(
    body: CreateQueueBody,
    request: Request,
    response: Response,
    service: TicketsDep,
    caller: Caller,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Create a queue; its id derives from its name (a name is taken once)."""
    require_any_role(caller, QUEUE_MANAGERS, "creating a queue")
    context = command_context(caller, request, body, idempotency_key)
    command = CreateQueue(
        name=body.name,
        escalation_group=body.escalation_group,
        sla_policy=body.sla_policy.to_policy() if body.sla_policy else DEFAULT_SLA_POLICY,
        matrix=(
            PriorityMatrix.from_rows(body.priority_matrix)
            if body.priority_matrix is not None
            else DEFAULT_MATRIX
        ),
        auto_assign=body.auto_assign,
        members=tuple(body.members),
    )
    result = await service.commands.execute(context, service.commands.create_queue, command)
    response.headers["Location"] = f"/v1/queues/{result.aggregate_id}"
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


@router.get("", response_model=QueueList, dependencies=[Consistent])
async def list_queues(service: TicketsDep, caller: Caller) -> Any:
    require_any_role(caller, READERS, "reading queues")
    return {"items": await service.queries.queues()}


@router.get("/{queue_id}", response_model=QueueView, dependencies=[Consistent])
async def get_queue(queue_id: QueueId, service: TicketsDep, caller: Caller) -> Any:
    require_any_role(caller, READERS, "reading a queue")
    return await service.queries.queue(queue_id)


@router.post("/{queue_id}/members", status_code=status.HTTP_201_CREATED, response_model=Written)
async def add_member(
    queue_id: QueueId,
    body: MemberBody,
    request: Request,
    response: Response,
    service: TicketsDep,
    caller: Caller,
    version: IfMatch,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    require_any_role(caller, QUEUE_MANAGERS, "adding a queue member")
    context = command_context(caller, request, body, idempotency_key)
    command = AddQueueMember(queue_id, body.member, expected_version=version)
    result = await service.commands.execute(context, service.commands.add_queue_member, command)
    response.headers["Location"] = f"/v1/queues/{queue_id}"
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


@router.delete("/{queue_id}/members/{member}", response_model=Written)
async def remove_member(
    queue_id: QueueId,
    member: MemberPath,
    request: Request,
    service: TicketsDep,
    caller: Caller,
    version: IfMatch,
) -> Any:
    require_any_role(caller, QUEUE_MANAGERS, "removing a queue member")
    context = command_context(caller, request, None, None)
    command = RemoveQueueMember(queue_id, member, expected_version=version)
    result = await service.commands.execute(context, service.commands.remove_queue_member, command)
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


@router.put("/{queue_id}/members/{member}/availability", response_model=Written)
async def set_availability(
    queue_id: QueueId,
    member: MemberPath,
    body: AvailabilityBody,
    request: Request,
    service: TicketsDep,
    caller: Caller,
    version: IfMatch,
) -> Any:
    """Mark a member (un)available for round-robin: an admin for anyone, an agent for
    themselves."""
    require_any_role(caller, QUEUE_MANAGERS | AGENTS, "changing a member's availability")
    if not caller.has_any(QUEUE_MANAGERS) and member != caller.subject:
        raise PermissionDenied(
            "an agent may change only their own availability", code="NotYourAvailability"
        )
    context = command_context(caller, request, body, None)
    command = SetMemberAvailability(queue_id, member, body.available, expected_version=version)
    result = await service.commands.execute(
        context, service.commands.set_member_availability, command
    )
    return Written(id=result.aggregate_id, version=result.version, position=result.position)
