"""Routes for the journal: posting, bulk posting, reversal (Storno), reading."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from shared_kernel.identity import require_any_role
from shared_kernel.web import IdempotencyKeyHeader, command_context

from ledger.api.dependencies import BOOKKEEPERS, Caller, Consistent, IfMatch, LedgerDep
from ledger.api.schemas import (
    ID_PATTERN,
    BulkPostBody,
    BulkWritten,
    EntryPage,
    EntryView,
    PostJournalEntryBody,
    ReverseEntryBody,
    Written,
)
from ledger.app.bulk import BulkEntry, PostJournalEntries, bulk_entry_ids
from ledger.app.commands import PostJournalEntry, ReverseJournalEntry
from ledger.app.queries import MAX_PAGE

router = APIRouter(prefix="/v1/journal-entries", tags=["journal"])
# A batch is a resource of its own (not /journal-entries/bulk, which {entry_id} would shadow).
batches = APIRouter(prefix="/v1/journal-entry-batches", tags=["journal"])

EntryId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Written)
async def post_entry(
    body: PostJournalEntryBody,
    request: Request,
    response: Response,
    ledger: LedgerDep,
    caller: Caller,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    require_any_role(caller, BOOKKEEPERS, "posting a journal entry")
    context = command_context(caller, request, body, idempotency_key)
    command = PostJournalEntry(body.details(), body.line_inputs())
    result = await ledger.commands.execute(context, ledger.commands.post_journal_entry, command)
    response.headers["Location"] = f"/v1/journal-entries/{result.aggregate_id}"
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


@batches.post("", status_code=status.HTTP_201_CREATED, response_model=BulkWritten)
async def post_entries_in_bulk(
    body: BulkPostBody,
    request: Request,
    response: Response,
    ledger: LedgerDep,
    caller: Caller,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Post up to 10,000 entries atomically: all of them, or (422) none, with the errors of
    every refused entry by its index."""
    require_any_role(caller, BOOKKEEPERS, "posting journal entries")
    context = command_context(caller, request, body, idempotency_key)
    command = PostJournalEntries(
        tuple(BulkEntry(entry.details(), entry.line_inputs()) for entry in body.entries)
    )
    result = await ledger.commands.execute(context, ledger.commands.post_journal_entries, command)
    # The batch is named by its first entry (every entry id derives from it).
    response.headers["Location"] = f"/v1/journal-entries/{result.aggregate_id}"
    return BulkWritten(
        batch_id=result.aggregate_id,
        count=len(body.entries),
        entry_ids=bulk_entry_ids(result.aggregate_id, len(body.entries)),
        position=result.position,
    )


@router.post("/{entry_id}/reversal", status_code=status.HTTP_201_CREATED, response_model=Written)
async def reverse_entry(
    entry_id: EntryId,
    body: ReverseEntryBody,
    request: Request,
    response: Response,
    ledger: LedgerDep,
    caller: Caller,
    version: IfMatch,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Reverse (Storno) a posted entry with a new entry of mirrored lines; answers the new
    entry. An entry is reversed at most once."""
    require_any_role(caller, BOOKKEEPERS, "reversing a journal entry")
    context = command_context(caller, request, body, idempotency_key)
    command = ReverseJournalEntry(
        entry_id,
        body.reason,
        booking_date=body.booking_date,
        voucher_number=body.voucher_number,
        voucher_date=body.voucher_date,
        text=body.text,
        expected_version=version,
    )
    result = await ledger.commands.execute(context, ledger.commands.reverse_journal_entry, command)
    response.headers["Location"] = f"/v1/journal-entries/{result.aggregate_id}"
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


@router.get("", response_model=EntryPage, dependencies=[Consistent])
async def list_entries(
    ledger: LedgerDep,
    _: Caller,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> Any:
    page = await ledger.queries.entries(cursor, limit, period)
    return EntryPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/{entry_id}", response_model=EntryView, dependencies=[Consistent])
async def get_entry(entry_id: EntryId, ledger: LedgerDep, _: Caller) -> Any:
    return await ledger.queries.entry(entry_id)
