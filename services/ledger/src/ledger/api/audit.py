"""Routes for auditors: the GoBD Z3 export and the verification of the hash-chained journal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from shared_kernel.identity import require_any_role

from ledger.api.dependencies import AUDITORS, Caller, Consistent, LedgerDep
from ledger.api.schemas import Verification

router = APIRouter(prefix="/v1", tags=["audit"])

PeriodName = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])]
CSV = "text/csv; charset=utf-8"


@router.get("/exports/periods/{period}/index.json", dependencies=[Consistent])
async def export_index(period: PeriodName, ledger: LedgerDep, caller: Caller) -> Any:
    """The machine-readable description of the period's export (files, columns, keys)."""
    require_any_role(caller, AUDITORS, "exporting the books")
    return await ledger.exports.index(period)


@router.get(
    "/exports/periods/{period}/journal.csv",
    dependencies=[Consistent],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_journal(period: PeriodName, ledger: LedgerDep, caller: Caller) -> Response:
    """The period's journal, one row per line, as described in ``index.json``."""
    require_any_role(caller, AUDITORS, "exporting the books")
    return Response(await ledger.exports.journal_csv(period), media_type=CSV)


@router.get(
    "/exports/periods/{period}/accounts.csv",
    dependencies=[Consistent],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_accounts(period: PeriodName, ledger: LedgerDep, caller: Caller) -> Response:
    """The chart of accounts, as described in ``index.json``."""
    require_any_role(caller, AUDITORS, "exporting the books")
    return Response(await ledger.exports.accounts_csv(), media_type=CSV)


@router.get("/verification", response_model=Verification)
async def verify_journal(ledger: LedgerDep, caller: Caller) -> Any:
    """Recompute the journal's hash chain and name the first entry that does not match."""
    require_any_role(caller, AUDITORS, "verifying the journal")
    return await ledger.verifier.verify()
