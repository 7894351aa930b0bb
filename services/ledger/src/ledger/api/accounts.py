"""Routes for the chart of accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from shared_kernel.identity import require_any_role
from shared_kernel.unit_of_work import run_command
from shared_kernel.web import IdempotencyKeyHeader, command_context

from ledger.api.dependencies import Caller, Consistent, LedgerDep
from ledger.api.schemas import AccountPage, AccountView, LinePage, OpenAccountBody, Written
from ledger.app.commands import OpenAccount, open_account
from ledger.app.queries import MAX_PAGE

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

BOOKKEEPERS = frozenset({"accountant", "controller"})
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
AccountId = Annotated[str, Path(max_length=64)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Written)
async def open_account_route(
    body: OpenAccountBody,
    request: Request,
    ledger: LedgerDep,
    caller: Caller,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    require_any_role(caller, BOOKKEEPERS, "opening an account")
    context = command_context(caller, request, body, idempotency_key)
    result = await run_command(
        ledger.runtime.unit_of_work,
        context,
        open_account,
        OpenAccount(body.code, body.name, body.account_type, body.currency),
    )
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


@router.get("", response_model=AccountPage, dependencies=[Consistent])
async def list_accounts(
    ledger: LedgerDep, _: Caller, cursor: str | None = None, limit: Limit = 50
) -> Any:
    page = await ledger.queries.accounts(cursor, limit)
    return AccountPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/{account_id}", response_model=AccountView, dependencies=[Consistent])
async def get_account(account_id: AccountId, ledger: LedgerDep, _: Caller) -> Any:
    return await ledger.queries.account(account_id)


@router.get("/{account_id}/lines", response_model=LinePage, dependencies=[Consistent])
async def account_lines(
    account_id: AccountId,
    ledger: LedgerDep,
    _: Caller,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Any:
    page = await ledger.queries.account_lines(account_id, cursor, limit)
    return LinePage(items=page.items, next_cursor=page.next_cursor)
