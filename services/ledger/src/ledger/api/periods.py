"""Routes for accounting periods (months) and their closing (Festschreibung)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from shared_kernel.identity import require_any_role
from shared_kernel.web import IdempotencyKeyHeader, command_context

from ledger.api.dependencies import BOOKKEEPERS, Caller, Consistent, LedgerDep
from ledger.api.schemas import PeriodList, PeriodView, Written
from ledger.app.commands import ClosePeriod

router = APIRouter(prefix="/v1/periods", tags=["periods"])

PeriodName = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])]


@router.post("/{period}/closing", response_model=Written)
async def close_period(
    period: PeriodName,
    request: Request,
    ledger: LedgerDep,
    caller: Caller,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Close the month for good: nothing may be booked into it afterwards, not even by
    back-dating. There is no reopening."""
    require_any_role(caller, BOOKKEEPERS, "closing a period")
    context = command_context(caller, request, None, idempotency_key)
    result = await ledger.commands.execute(
        context, ledger.commands.close_period, ClosePeriod(period)
    )
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


@router.get("", response_model=PeriodList, dependencies=[Consistent])
async def list_periods(ledger: LedgerDep, _: Caller) -> Any:
    return PeriodList(items=await ledger.queries.periods())


@router.get("/{period}", response_model=PeriodView, dependencies=[Consistent])
async def get_period(period: PeriodName, ledger: LedgerDep, _: Caller) -> Any:
    return await ledger.queries.period(period)
