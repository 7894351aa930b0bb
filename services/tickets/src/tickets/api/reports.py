"""Reports: the backlog and mean time to resolve, per queue and priority."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from shared_kernel.identity import require_any_role

from tickets.api.dependencies import FULL_READERS, Caller, Consistent, TicketsDep
from tickets.api.views import Backlog, ResolutionTimes

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
