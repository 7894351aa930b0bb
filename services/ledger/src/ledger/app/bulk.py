"""Bulk posting: up to 10,000 entries in one unit of work, all or nothing.

Every entry is checked as if posted alone, in order (an entry sees the constrained balances
the earlier entries of the batch left). If any is refused, nothing is written and the answer
lists each refused entry's index with the rule it broke.

Voucher numbers are claimed in order too: a number already taken in its fiscal year, or given
twice within the batch, refuses the later entry (409 when every refusal is such a conflict).

Entry ids derive from the first one (the batch id), so an idempotent replay, which only
knows the first id, can name them all again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from uuid import UUID, uuid5

from shared_kernel.errors import Conflict, DomainError
from shared_kernel.eventstore import new_event_id
from shared_kernel.gc_pause import collection_paused
from shared_kernel.unit_of_work import CommandResult, UnitOfWork

from ledger.app.loading import guard_unconstrained, load_accounts, load_periods, load_vouchers
from ledger.domain import (
    EntryDetails,
    JournalEntry,
    LineInput,
    VoucherNumberInUse,
    post_entry,
    voucher_key,
)

MAX_BULK_ENTRIES = 10_000


@dataclass(frozen=True)
class BulkEntry:
    details: EntryDetails
    lines: tuple[LineInput, ...]


@dataclass(frozen=True)
class PostJournalEntries:
    entries: tuple[BulkEntry, ...]


@dataclass(frozen=True)
class EntryRefusal:
    """Why the entry at ``index`` of a bulk posting was refused."""

    index: int
    field: str | None
    code: str
    detail: str
    status: int = 422

    @classmethod
    def of(cls, index: int, error: DomainError) -> EntryRefusal:
        return cls(index, error.field, error.code, error.detail, error.status)


class BulkPostingRefused(DomainError):
    """At least one entry of a bulk posting was refused; nothing was posted (HTTP 422, or
    409 when every refusal is a conflict with the books, such as a voucher number in use)."""

    title = "Bulk posting refused"

    def __init__(self, refusals: list[EntryRefusal], total: int) -> None:
        first = refusals[0]
        if all(r.status == Conflict.status for r in refusals):
            self.status = Conflict.status
        super().__init__(
            f"{len(refusals)} of {total} entries were refused, so none was posted; "
            f"the first, entry {first.index}: {first.detail}",
            field=f"entries[{first.index}]" + (f".{first.field}" if first.field else ""),
            code="BulkPostingRefused",
        )
        self.refusals = refusals


def _repeated_voucher(key: tuple[int, str], first_index: int) -> VoucherNumberInUse:
    year, number = key
    return VoucherNumberInUse(
        f"Voucher number {number!r} is already used in fiscal year {year} by entry "
        f"{first_index} of this batch; a voucher number identifies one voucher, so give this "
        "one its own number.",
        field="voucher_number",
        code="VoucherNumberInUse",
    )


def bulk_entry_ids(first_id: str, count: int) -> list[str]:
    """The ids of a batch's entries, derived from the first one."""
    return list(_derived_ids(first_id, count))


@lru_cache(maxsize=8)
def _derived_ids(first_id: str, count: int) -> tuple[str, ...]:
    # Kept for a moment: the command derives them, then its answer names them again (10,000
    # SHA-1 hashes each time).
    base = UUID(first_id)
    return (first_id, *(str(uuid5(base, str(index))) for index in range(1, count)))


async def post_journal_entries(command: PostJournalEntries, uow: UnitOfWork) -> CommandResult:
    # Up to 10,000 entries' aggregates and events at once: without the collector's passes
    # over them (a third of the command's CPU time, none of them garbage yet).
    with collection_paused():
        return await _post_journal_entries(command, uow)


async def _post_journal_entries(command: PostJournalEntries, uow: UnitOfWork) -> CommandResult:
    count = len(command.entries)
    if not 1 <= count <= MAX_BULK_ENTRIES:
        raise DomainError(
            f"A bulk posting holds 1 to {MAX_BULK_ENTRIES} entries, not {count}.",
            field="entries",
            code="BulkSize",
        )
    ids = bulk_entry_ids(str(new_event_id()), count)
    refusals: list[EntryRefusal] = []
    details: list[EntryDetails | None] = []
    for index, entry in enumerate(command.entries):
        try:
            details.append(entry.details.checked())
        except DomainError as exc:
            details.append(None)
            refusals.append(EntryRefusal.of(index, exc))
    async with uow:
        accounts = await load_accounts(
            uow, {line.account_id for entry in command.entries for line in entry.lines}
        )
        periods = await load_periods(uow, {d.period for d in details if d is not None})
        vouchers = await load_vouchers(uow, {voucher_key(d) for d in details if d is not None})
        claimed_at: dict[tuple[int, str], int] = {}
        posted: list[JournalEntry] = []
        for index, (entry, checked) in enumerate(zip(command.entries, details, strict=True)):
            if checked is None:
                continue
            try:
                posted.append(
                    post_entry(
                        ids[index],
                        checked,
                        entry.lines,
                        accounts,
                        periods[checked.period],
                        recorded_by=uow.context.actor.subject,
                        batch_id=ids[0],
                    )
                )
                key = voucher_key(checked)
                if key in claimed_at:
                    raise _repeated_voucher(key, claimed_at[key])
                vouchers[key].claim(entry_id=ids[index])
                claimed_at[key] = index
            except DomainError as exc:
                refusals.append(EntryRefusal.of(index, exc))
        if refusals:
            raise BulkPostingRefused(sorted(refusals, key=lambda r: r.index), count)
        guard_unconstrained(uow, accounts)
        for entry_posted in posted:
            uow.add(entry_posted)
        return await uow.commit(posted[0])
