"""Routes for the journal: posting, bulk posting, reversal (Storno), reading."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from ledger.api.dependencies import (
    BOOKKEEPERS,
    Caller,
    CommandCall,
    Consistent,
    LedgerDep,
    command_call,
)
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
    ledger: LedgerDep,
    cmd: Annotated[CommandCall, Depends(command_call(BOOKKEEPERS, "posting a journal entry"))],
) -> Any:
    command = PostJournalEntry(body.details(), body.line_inputs())
    return await cmd.written(
        ledger.commands.post_journal_entry, command, location="/v1/journal-entries/{id}"
    )


@batches.post("", status_code=status.HTTP_201_CREATED, response_model=BulkWritten)
async def post_entries_in_bulk(
    body: BulkPostBody,
    ledger: LedgerDep,
    cmd: Annotated[CommandCall, Depends(command_call(BOOKKEEPERS, "posting journal entries"))],
) -> Any:
    """Post up to 10,000 entries atomically: all of them, or (422) none, with the errors of
    every refused entry by its index."""
    command = PostJournalEntries(
        tuple(BulkEntry(entry.details(), entry.line_inputs()) for entry in body.entries)
    )
    # The batch is named by its first entry (every entry id derives from it).
    result = await cmd.run(
        ledger.commands.post_journal_entries, command, location="/v1/journal-entries/{id}"
    )
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
    ledger: LedgerDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(BOOKKEEPERS, "reversing a journal entry", if_match=True)),
    ],
) -> Any:
    """Reverse (Storno) a posted entry with a new entry of mirrored lines; answers the new
    entry. An entry is reversed at most once."""
    command = ReverseJournalEntry(
        entry_id,
        body.reason,
        booking_date=body.booking_date,
        voucher_number=body.voucher_number,
        voucher_date=body.voucher_date,
        text=body.text,
        expected_version=cmd.expected_version,
    )
    return await cmd.written(
        ledger.commands.reverse_journal_entry, command, location="/v1/journal-entries/{id}"
    )


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
