"""Loading what a ledger command decides on, inside its unit of work.

Accounts: all lines' accounts are loaded; constrained ones are then locked (``ACCOUNT_LOCK``)
and read again, so their booked and reserved totals are current when the
command checks them, and the command records events on them (optimistic concurrency per
account stream makes the check exact). Unconstrained accounts are only guarded: a concurrent
close makes the command fail rather than book onto a closed account.

Periods: read and guarded, so a concurrent close of the month makes the command fail.

Vouchers: read so that the command can claim (or release) a voucher number; the claim is an
event on the voucher's stream, so a concurrent claim of the same number makes one fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from shared_kernel.errors import NotFound
from shared_kernel.unit_of_work import UnitOfWork

from ledger.domain import (
    Account,
    EntryDetails,
    JournalEntry,
    Period,
    Voucher,
    period_of,
    period_stream_id,
    voucher_key,
)
from ledger.domain.vouchers import voucher_stream_id

# Under heavy contention on one constrained account (say 200 concurrent postings) optimistic
# concurrency alone means many retries; with this lock the contenders queue instead. Only an
# optimisation: versions decide. Deadlock-free: a command takes all its account locks at once,
# in one global order, and the event store's position lock comes last, at commit.
ACCOUNT_LOCK = "ledger.account"


async def load_accounts(uow: UnitOfWork, account_ids: Iterable[str]) -> dict[str, Account]:
    """The accounts by id (unknown ids are absent); constrained ones locked and current."""
    ids = sorted(set(account_ids))
    accounts = await uow.find_many(Account, ids)
    constrained = [i for i, account in accounts.items() if account.is_constrained]
    if constrained:
        await uow.lock(ACCOUNT_LOCK, *constrained)
        accounts.update(await uow.find_many(Account, constrained))
    return accounts


async def prefetch_booking(
    uow: UnitOfWork, account_ids: Iterable[str], details: EntryDetails
) -> None:
    """Read what a booking (an entry, a reversal, a request) loads, its accounts, period and
    voucher, in one round trip; ``load_accounts``, ``load_period`` and ``load_voucher`` then
    take them from there (constrained accounts are still read again under their lock)."""
    await uow.prefetch(
        [
            *sorted(set(account_ids)),
            period_stream_id(period_of(details.booking_date)),
            voucher_stream_id(*voucher_key(details)),
        ]
    )


def guard_unconstrained(uow: UnitOfWork, accounts: Mapping[str, Account]) -> None:
    """Expect the unconstrained accounts unchanged at commit (constrained ones get events)."""
    for account in accounts.values():
        if not account.is_constrained:
            uow.expect_unchanged(account)


async def load_period(uow: UnitOfWork, day: date) -> Period:
    """The period of a booking date (a new stream is an open period), guarded."""
    periods = await load_periods(uow, [period_of(day)])
    return periods[period_of(day)]


async def load_periods(uow: UnitOfWork, names: Iterable[str]) -> dict[str, Period]:
    wanted = sorted(set(names))
    found = await uow.find_many(Period, [period_stream_id(name) for name in wanted])
    periods: dict[str, Period] = {}
    for name in wanted:
        period = found.get(period_stream_id(name)) or Period.of(name)
        uow.expect_unchanged(period)
        periods[name] = period
    return periods


async def load_voucher(uow: UnitOfWork, details: EntryDetails) -> Voucher:
    """The voucher of checked entry details (a new stream is a free number), tracked."""
    vouchers = await load_vouchers(uow, [voucher_key(details)])
    return vouchers[voucher_key(details)]


async def load_vouchers(
    uow: UnitOfWork, keys: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], Voucher]:
    """The vouchers by (fiscal year, number); each is saved with the unit of work.

    A number found taken may have been taken by a command that also changed what this one
    read before (two reversals of one entry): then this one reruns on fresh state instead of
    being refused for the number (``ensure_current``)."""
    wanted = sorted(set(keys))
    found = await uow.find_many(Voucher, [voucher_stream_id(*key) for key in wanted])
    if any(not voucher.is_free for voucher in found.values()):
        await uow.ensure_current()
    vouchers: dict[tuple[int, str], Voucher] = {}
    for key in wanted:
        voucher = found.get(voucher_stream_id(*key)) or Voucher.of(*key)
        uow.add(voucher)
        vouchers[key] = voucher
    return vouchers


async def get_entry(uow: UnitOfWork, entry_id: str) -> JournalEntry:
    entry = await uow.find(JournalEntry, entry_id)
    if entry is None:
        raise NotFound(f"journal entry {entry_id} does not exist", field="entry_id")
    return entry
