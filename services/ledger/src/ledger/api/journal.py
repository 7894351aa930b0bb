"""Routes for the journal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from shared_kernel.identity import require_any_role
from shared_kernel.unit_of_work import run_command
from shared_kernel.web import IdempotencyKeyHeader, command_context

from ledger.api.dependencies import Caller, Consistent, LedgerDep
from ledger.api.schemas import EntryPage, EntryView, PostJournalEntryBody, Written
from ledger.app.commands import PostJournalEntry, post_journal_entry
from ledger.app.queries import MAX_PAGE
from ledger.domain import LineInput

router = APIRouter(prefix="/v1/journal-entries", tags=["journal"])

BOOKKEEPERS = frozenset({"accountant", "controller"})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Written)
async def post_entry(
    body: PostJournalEntryBody,
    request: Request,
    ledger: LedgerDep,
    caller: Caller,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    require_any_role(caller, BOOKKEEPERS, "posting a journal entry")
    context = command_context(caller, request, body, idempotency_key)
    command = PostJournalEntry(
        voucher_number=body.voucher_number,
        booking_date=body.booking_date,
        text=body.text,
        lines=tuple(LineInput(ln.account_id, ln.side, ln.amount, ln.currency) for ln in body.lines),
    )
    result = await run_command(ledger.runtime.unit_of_work, context, post_journal_entry, command)
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


@router.get("", response_model=EntryPage, dependencies=[Consistent])
async def list_entries(
    ledger: LedgerDep,
    _: Caller,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Any:
    page = await ledger.queries.entries(cursor, limit)
    return EntryPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/{entry_id}", response_model=EntryView, dependencies=[Consistent])
async def get_entry(
    entry_id: Annotated[str, Path(max_length=64)], ledger: LedgerDep, _: Caller
) -> Any:
    return await ledger.queries.entry(entry_id)
