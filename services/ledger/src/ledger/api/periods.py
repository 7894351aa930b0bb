"""Routes for accounting periods (months) and their closing (Festschreibung)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from ledger.api.dependencies import (
    BOOKKEEPERS,
    Caller,
    CommandCall,
    Consistent,
    LedgerDep,
    command_call,
)
from ledger.api.schemas import PeriodList, PeriodView, Written
from ledger.app.commands import ClosePeriod

router = APIRouter(prefix="/v1/periods", tags=["periods"])

PeriodName = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])]


@router.post("/{period}/closing", response_model=Written)
async def close_period(
    period: PeriodName,
    ledger: LedgerDep,
    cmd: Annotated[CommandCall, Depends(command_call(BOOKKEEPERS, "closing a period"))],
) -> Any:
    """Close the month for good: nothing may be booked into it afterwards, not even by
    back-dating. There is no reopening."""
    return await cmd.written(ledger.commands.close_period, ClosePeriod(period))


@router.get("", response_model=PeriodList, dependencies=[Consistent])
async def list_periods(ledger: LedgerDep, _: Caller) -> Any:
    return PeriodList(items=await ledger.queries.periods())


@router.get("/{period}", response_model=PeriodView, dependencies=[Consistent])
async def get_period(period: PeriodName, ledger: LedgerDep, _: Caller) -> Any:
    return await ledger.queries.period(period)
