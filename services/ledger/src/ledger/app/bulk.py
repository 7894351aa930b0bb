"""Bulk posting: up to 10,000 entries in one unit of work, all or nothing.

Every entry is checked as if posted alone, in order (an entry sees the constrained balances
the earlier entries of the batch left). If any is refused, nothing is written and the answer
lists each refused entry's index with the rule it broke.

Entry ids derive from the first one (the batch id), so an idempotent replay, which only
knows the first id, can name them all again.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from shared_kernel.errors import DomainError
from shared_kernel.eventstore import new_event_id
from shared_kernel.unit_of_work import CommandResult, UnitOfWork

from ledger.app.loading import guard_unconstrained, load_accounts, load_periods
from ledger.domain import EntryDetails, JournalEntry, LineInput, post_entry

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


class BulkPostingRefused(DomainError):
    """At least one entry of a bulk posting was refused; nothing was posted (HTTP 422)."""

    title = "Bulk posting refused"

    def __init__(self, refusals: list[EntryRefusal], total: int) -> None:
        first = refusals[0]
        super().__init__(
            f"{len(refusals)} of {total} entries were refused, so none was posted; "
            f"the first, entry {first.index}: {first.detail}",
            field=f"entries[{first.index}]" + (f".{first.field}" if first.field else ""),
            code="BulkPostingRefused",
        )
        self.refusals = refusals


def bulk_entry_ids(first_id: str, count: int) -> list[str]:
    """The ids of a batch's entries, derived from the first one."""
    base = UUID(first_id)
    return [first_id, *(str(uuid5(base, str(index))) for index in range(1, count))]


async def post_journal_entries(command: PostJournalEntries, uow: UnitOfWork) -> CommandResult:
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
            refusals.append(EntryRefusal(index, exc.field, exc.code, exc.detail))
    async with uow:
        accounts = await load_accounts(
            uow, {line.account_id for entry in command.entries for line in entry.lines}
        )
        periods = await load_periods(uow, {d.period for d in details if d is not None})
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
            except DomainError as exc:
                refusals.append(EntryRefusal(index, exc.field, exc.code, exc.detail))
        if refusals:
            raise BulkPostingRefused(sorted(refusals, key=lambda r: r.index), count)
        guard_unconstrained(uow, accounts)
        for entry_posted in posted:
            uow.add(entry_posted)
        return await uow.commit(posted[0])
