"""Routes for the chart of accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from shared_kernel.identity import require_any_role

from ledger.api.dependencies import (
    BOOKKEEPERS,
    READERS,
    REQUESTERS,
    Caller,
    CommandCall,
    Consistent,
    LedgerDep,
    command_call,
)
from ledger.api.schemas import (
    ID_PATTERN,
    PLAIN,
    AccountPage,
    AccountView,
    BookingAccountPage,
    CloseAccountBody,
    IsoDate,
    LinePage,
    OpenAccountBody,
    RenameAccountBody,
    Statement,
    Written,
)
from ledger.app.commands import CloseAccount, OpenAccount, RenameAccount
from ledger.app.queries import MAX_PAGE

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])
# What a booking request may name: open accounts by code and name, without balances, for the
# front office too (which reads no balances and no chart with figures).
booking_accounts = APIRouter(prefix="/v1/booking-accounts", tags=["booking requests"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
AccountId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Written)
async def open_account_route(
    body: OpenAccountBody,
    ledger: LedgerDep,
    cmd: Annotated[CommandCall, Depends(command_call(BOOKKEEPERS, "opening an account"))],
) -> Any:
    command = OpenAccount(
        body.code,
        body.name,
        body.account_type,
        body.currency,
        balance_constraint=body.balance_constraint,
        credit_limit=body.credit_limit,
    )
    return await cmd.written(ledger.commands.open_account, command, location="/v1/accounts/{id}")


@router.post("/{account_id}/closing", response_model=Written)
async def close_account_route(
    account_id: AccountId,
    body: CloseAccountBody,
    ledger: LedgerDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(BOOKKEEPERS, "closing an account", if_match=True))
    ],
) -> Any:
    """Close the account: nothing may be booked on it afterwards."""
    command = CloseAccount(account_id, body.reason, expected_version=cmd.expected_version)
    return await cmd.written(ledger.commands.close_account, command)


@router.put("/{account_id}/name", response_model=Written)
async def rename_account_route(
    account_id: AccountId,
    body: RenameAccountBody,
    ledger: LedgerDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(BOOKKEEPERS, "renaming an account", if_match=True))
    ],
) -> Any:
    """Give the account a new name; its code, type and currency stay."""
    command = RenameAccount(account_id, body.name, body.reason, cmd.expected_version)
    return await cmd.written(ledger.commands.rename_account, command)


@router.get("", response_model=AccountPage, dependencies=[Consistent])
async def list_accounts(
    ledger: LedgerDep,
    _: Caller,
    cursor: str | None = None,
    limit: Limit = 50,
    parent_code: Annotated[str | None, Query(max_length=20, pattern=PLAIN)] = None,
) -> Any:
    page = await ledger.queries.accounts(cursor, limit, parent_code)
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


@router.get("/{account_id}/statement", response_model=Statement, dependencies=[Consistent])
async def account_statement(
    account_id: AccountId,
    ledger: LedgerDep,
    caller: Caller,
    from_: Annotated[IsoDate, Query(alias="from", description="First booking date")],
    to: Annotated[IsoDate, Query(description="Last booking date")],
    cursor: str | None = None,
    limit: Limit = 100,
) -> Any:
    """Lines booked between two dates, each with the running balance; opening and closing
    balances of the range."""
    require_any_role(caller, READERS, "reading an account statement")
    return await ledger.reports.statement(account_id, from_, to, cursor, limit)


@booking_accounts.get("", response_model=BookingAccountPage, dependencies=[Consistent])
async def list_booking_accounts(
    ledger: LedgerDep,
    caller: Caller,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    """The open accounts a booking request may name (code, name, type, currency; no balances):
    what a trader picks from when submitting a request."""
    require_any_role(caller, REQUESTERS | READERS, "listing the accounts for booking requests")
    page = await ledger.queries.accounts(cursor, limit, open_only=True)
    fields = ("account_id", "code", "name", "account_type", "currency")
    items = [{name: item[name] for name in fields} for item in page.items]
    return BookingAccountPage(items=items, next_cursor=page.next_cursor)
