"""Register reports: the heat map and what is overdue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from shared_kernel.identity import require_any_role

from risk.api.dependencies import READERS, Caller, Consistent, RiskDep
from risk.api.register_schemas import Category, HeatMap, OverdueReport

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/heat-map", response_model=HeatMap, dependencies=[Consistent])
async def heat_map(
    risk: RiskDep,
    caller: Caller,
    category: Category | None = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    """Open risks per likelihood (rows) x impact (columns) cell, inherent and residual."""
    require_any_role(caller, READERS, "reading the heat map")
    return await risk.register_queries.heat_map(category, owner)


@router.get("/overdue", response_model=OverdueReport, dependencies=[Consistent])
async def overdue(risk: RiskDep, caller: Caller, as_of: datetime | None = None) -> Any:
    """Reviews and open actions due on or before ``as_of`` (default: now)."""
    require_any_role(caller, READERS, "reading overdue reviews and actions")
    return await risk.register_queries.overdue(as_of or risk.clock())
