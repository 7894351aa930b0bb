"""Routes for queues: create (admin), members and their availability, read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status
from shared_kernel.errors import PermissionDenied
from shared_kernel.identity import require_any_role

from tickets.api.dependencies import (
    AGENTS,
    QUEUE_MANAGERS,
    READERS,
    Caller,
    CommandCall,
    Consistent,
    TicketsDep,
    command_call,
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
    service: TicketsDep,
    cmd: Annotated[CommandCall, Depends(command_call(QUEUE_MANAGERS, "creating a queue"))],
) -> Any:
    """Create a queue; its id derives from its name (a name is taken once)."""
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
    return await cmd.written(service.commands.create_queue, command, location="/v1/queues/{id}")


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
    service: TicketsDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(QUEUE_MANAGERS, "adding a queue member", if_match=True))
    ],
) -> Any:
    command = AddQueueMember(queue_id, body.member, expected_version=cmd.expected_version)
    return await cmd.written(
        service.commands.add_queue_member, command, location=f"/v1/queues/{queue_id}"
    )


@router.delete("/{queue_id}/members/{member}", response_model=Written)
async def remove_member(
    queue_id: QueueId,
    member: MemberPath,
    service: TicketsDep,
    cmd: Annotated[
        CommandCall,
        Depends(
            command_call(QUEUE_MANAGERS, "removing a queue member", if_match=True, idempotent=False)
        ),
    ],
) -> Any:
    command = RemoveQueueMember(queue_id, member, expected_version=cmd.expected_version)
    return await cmd.written(service.commands.remove_queue_member, command)


@router.put("/{queue_id}/members/{member}/availability", response_model=Written)
async def set_availability(
    queue_id: QueueId,
    member: MemberPath,
    body: AvailabilityBody,
    service: TicketsDep,
    cmd: Annotated[
        CommandCall,
        Depends(
            command_call(
                QUEUE_MANAGERS | AGENTS,
                "changing a member's availability",
                if_match=True,
                idempotent=False,
            )
        ),
    ],
) -> Any:
    """Mark a member (un)available for round-robin: an admin for anyone, an agent for
    themselves."""
    if not cmd.caller.has_any(QUEUE_MANAGERS) and member != cmd.caller.subject:
        raise PermissionDenied(
            "an agent may change only their own availability", code="NotYourAvailability"
        )
    command = SetMemberAvailability(
        queue_id, member, body.available, expected_version=cmd.expected_version
    )
    return await cmd.written(service.commands.set_member_availability, command)
