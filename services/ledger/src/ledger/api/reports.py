"""Routes for reports: trial balance, balances at a date, balance sheet, profit and loss."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from shared_kernel.identity import require_any_role

from ledger.api.dependencies import READERS, Caller, Consistent, LedgerDep
from ledger.api.report_schemas import Balances, BalanceSheet, ProfitAndLoss, TrialBalance
from ledger.api.schemas import IsoDate

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/trial-balance", response_model=TrialBalance, dependencies=[Consistent])
async def trial_balance(
    ledger: LedgerDep,
    caller: Caller,
    period: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])],
) -> Any:
    """Summen- und Saldenliste of a month: per account opening balance, debits, credits and
    closing balance; per currency the totals (debits equal credits)."""
    require_any_role(caller, READERS, "reading the trial balance")
    return await ledger.reports.trial_balance(period)


@router.get("/balances", response_model=Balances, dependencies=[Consistent])
async def balances_at(
    ledger: LedgerDep,
    caller: Caller,
    as_of: Annotated[IsoDate, Query(description="Booking date; balances at the end of that day")],
) -> Any:
    """Every account's balance at a past (or future) date."""
    require_any_role(caller, READERS, "reading balances")
    return await ledger.reports.balances_at(as_of)


@router.get("/balance-sheet", response_model=BalanceSheet, dependencies=[Consistent])
async def balance_sheet(
    ledger: LedgerDep,
    caller: Caller,
    as_of: Annotated[IsoDate, Query(description="Booking date; the sheet at the end of that day")],
) -> Any:
    """Assets against liabilities, equity and the result to date, per currency."""
    require_any_role(caller, READERS, "reading the balance sheet")
    return await ledger.reports.balance_sheet(as_of)


@router.get("/profit-and-loss", response_model=ProfitAndLoss, dependencies=[Consistent])
async def profit_and_loss(
    ledger: LedgerDep,
    caller: Caller,
    from_: Annotated[IsoDate, Query(alias="from")],
    to: Annotated[IsoDate, Query()],
) -> Any:
    """Revenue and expenses booked between two dates (inclusive) and the result."""
    require_any_role(caller, READERS, "reading profit and loss")
    return await ledger.reports.profit_and_loss(from_, to)
