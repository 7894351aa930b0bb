"""Reports: the backlog and mean time to resolve, per queue and priority; customer
satisfaction per queue or agent over a period."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from shared_kernel.errors import DomainError
from shared_kernel.identity import require_any_role

from tickets.api.dependencies import FULL_READERS, Caller, Consistent, TicketsDep
from tickets.api.views import Backlog, ResolutionTimes, Satisfaction

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/backlog", response_model=Backlog, dependencies=[Consistent])
async def backlog(service: TicketsDep, caller: Caller) -> Any:
    """Active tickets (new, open, pending) per queue, priority and status, with how many
    have breached an SLA and the oldest opening time."""
    require_any_role(caller, FULL_READERS, "reading the backlog")
    return {"items": await service.queries.backlog()}


@router.get("/resolution-times", response_model=ResolutionTimes, dependencies=[Consistent])
async def resolution_times(service: TicketsDep, caller: Caller) -> Any:
    """Mean time to resolve per queue and priority: wall clock and business time (the
    queue's SLA calendar), over resolved and closed tickets."""
    require_any_role(caller, FULL_READERS, "reading resolution times")
    return {"items": await service.queries.resolution_times()}


@router.get("/satisfaction", response_model=Satisfaction, dependencies=[Consistent])
async def satisfaction(
    service: TicketsDep,
    caller: Caller,
    by: Literal["queue", "agent"] = "queue",
    since: Annotated[datetime | None, Query(description="Ratings from (RFC 3339)")] = None,
    until: Annotated[datetime | None, Query(description="Ratings before (RFC 3339)")] = None,
) -> Any:
    """Requesters' ratings of resolved tickets per queue (or per agent, the assignee at
    resolution, and queue) rated in ``since`` .. ``until``: count, average (1..5) and how
    many of each score."""
    require_any_role(caller, FULL_READERS, "reading customer satisfaction")
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise DomainError(
                f"{name} must carry its offset, e.g. 2026-11-26T10:00:00Z", field=name
            )
    if since is not None and until is not None and until <= since:
        raise DomainError("until must be after since", field="until")
    items = await service.queries.satisfaction(by, since, until)
    return {"by": by, "since": since, "until": until, "items": items}
