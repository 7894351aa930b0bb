"""Command handlers: load, call the domain, save. Each runs in one unit of work.

``LedgerCommands`` holds what handlers need besides the unit of work (the clock, how long a
booking request lives); the kernel's ``CommandBus`` runs them (once per Idempotency-Key,
rerun on a ``ConcurrencyConflict``), see ``shared_kernel.commands``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import NAMESPACE_URL, uuid5

from shared_kernel.commands import Clock, check_version, utc_now
from shared_kernel.errors import Conflict, NotFound
from shared_kernel.eventstore import new_event_id
from shared_kernel.roles import Office
from shared_kernel.unit_of_work import CommandResult, UnitOfWork, approver_of

from ledger.app.bulk import PostJournalEntries, post_journal_entries
from ledger.app.loading import (
    get_entry,
    guard_unconstrained,
    load_accounts,
    load_period,
    load_voucher,
    prefetch_booking,
)
from ledger.app.period_close import NoPendingIndex, PendingRequestIndex, pending_requests_in
from ledger.domain import (
    Account,
    BookingRequest,
    EntryDetails,
    InsufficientFunds,
    LineInput,
    Period,
    approve_request,
    expire_request,
    parent_code_of,
    post_entry,
    reject_request,
    reverse_entry,
    submit_request,
    touched_accounts,
)

# Account ids derive from the account code, so a code can be opened only once: a second
# "open" meets an existing stream, even when two arrive at the same moment.
_ACCOUNT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:backoffice:ledger:account")


def account_id_for(code: str) -> str:
    return str(uuid5(_ACCOUNT_NAMESPACE, code.strip()))


@dataclass(frozen=True)
class OpenAccount:
    code: str
    name: str
    account_type: str
    currency: str
    balance_constraint: str = "none"
    credit_limit: int = 0


@dataclass(frozen=True)
class CloseAccount:
    account_id: str
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True)
class RenameAccount:
    account_id: str
    name: str
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True)
class PostJournalEntry:
    details: EntryDetails
    lines: tuple[LineInput, ...]
    entry_id: str | None = None


@dataclass(frozen=True)
class ReverseJournalEntry:
    entry_id: str
    reason: str
    booking_date: date | None = None
    voucher_number: str | None = None
    voucher_date: date | None = None
    text: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class SubmitBookingRequest:
    details: EntryDetails
    lines: tuple[LineInput, ...]


@dataclass(frozen=True)
class DecideBookingRequest:
    request_id: str
    reason: str = ""
    expected_version: int | None = None


@dataclass(frozen=True)
class ExpireBookingRequest:
    request_id: str


@dataclass(frozen=True)
class ClosePeriod:
    period: str


@dataclass
class LedgerCommands:
    """The ledger's command handlers, with their clock and settings."""

    request_ttl: timedelta = timedelta(days=3)
    clock: Clock = utc_now
    # Where a period close finds the pending requests of its month fast (the read model).
    pending_requests: PendingRequestIndex = field(default_factory=NoPendingIndex)

    async def open_account(self, command: OpenAccount, uow: UnitOfWork) -> CommandResult:
        account_id = account_id_for(command.code)
        parent_code = parent_code_of(command.code.strip())
        async with uow:
            if await uow.find(Account, account_id) is not None:
                raise Conflict(
                    f"an account with code {command.code.strip()!r} is already open",
                    field="code",
                    code="AccountCodeInUse",
                )
            parent = await uow.find(Account, account_id_for(parent_code)) if parent_code else None
            if parent is not None:
                uow.expect_unchanged(parent)
            account = Account.open(
                account_id,
                command.code,
                command.name,
                command.account_type,
                command.currency,
                parent=parent,
                balance_constraint=command.balance_constraint,
                credit_limit=command.credit_limit,
            )
            uow.add(account)
            return await uow.commit(account)

    async def close_account(self, command: CloseAccount, uow: UnitOfWork) -> CommandResult:
        async with uow:
            account = await _get_account(uow, command.account_id, command.expected_version)
            account.close(uow.context.actor.subject, command.reason)
            return await uow.commit(account)

    async def rename_account(self, command: RenameAccount, uow: UnitOfWork) -> CommandResult:
        async with uow:
            account = await _get_account(uow, command.account_id, command.expected_version)
            account.rename(command.name, uow.context.actor.subject, command.reason)
            return await uow.commit(account)

    async def post_journal_entry(self, command: PostJournalEntry, uow: UnitOfWork) -> CommandResult:
        entry_id = command.entry_id or str(new_event_id())
        details = command.details.checked()
        async with uow:
            account_ids = touched_accounts(command.lines)
            await prefetch_booking(uow, account_ids, details)
            accounts = await load_accounts(uow, account_ids)
            period = await load_period(uow, details.booking_date)
            entry = post_entry(
                entry_id,
                details,
                command.lines,
                accounts,
                period,
                recorded_by=uow.context.actor.subject,
            )
            (await load_voucher(uow, details)).claim(entry_id=entry_id)
            guard_unconstrained(uow, accounts)
            uow.add(entry)
            return await uow.commit(entry)

    async def post_journal_entries(
        self, command: PostJournalEntries, uow: UnitOfWork
    ) -> CommandResult:
        return await post_journal_entries(command, uow)

    async def reverse_journal_entry(
        self, command: ReverseJournalEntry, uow: UnitOfWork
    ) -> CommandResult:
        reversal_id = str(new_event_id())
        async with uow:
            original = await get_entry(uow, command.entry_id)
            check_version(original.version, command.expected_version, f"entry {original.id}")
            assert original.booking_date is not None
            details = EntryDetails(
                voucher_number=command.voucher_number or f"ST-{original.voucher_number}",
                booking_date=command.booking_date or original.booking_date,
                text=command.text or f"Storno: {original.text}"[:500],
                voucher_date=command.voucher_date,
            ).checked()
            account_ids = touched_accounts(original.lines)
            await prefetch_booking(uow, account_ids, details)
            accounts = await load_accounts(uow, account_ids)
            period = await load_period(uow, details.booking_date)
            # A reversal continues the case of the entry it reverses.
            with uow.continuing_case(original):
                reversal = reverse_entry(
                    original,
                    reversal_id,
                    details,
                    accounts,
                    period,
                    reversed_by=uow.context.actor.subject,
                    reason=command.reason,
                )
                (await load_voucher(uow, details)).claim(entry_id=reversal_id)
            guard_unconstrained(uow, accounts)
            uow.add(reversal)
            return await uow.commit(reversal)

    async def submit_booking_request(
        self, command: SubmitBookingRequest, uow: UnitOfWork
    ) -> CommandResult:
        request_id = str(new_event_id())
        details = command.details.checked()
        async with uow:
            account_ids = touched_accounts(command.lines)
            await prefetch_booking(uow, account_ids, details)
            accounts = await load_accounts(uow, account_ids)
            period = await load_period(uow, details.booking_date)
            try:
                request = submit_request(
                    request_id,
                    details,
                    command.lines,
                    accounts,
                    period,
                    submitted_by=uow.context.actor.subject,
                    expires_at=self.clock() + self.request_ttl,
                )
            except InsufficientFunds as refused:
                # The front office learns that a request cannot be reserved, never an
                # account's balance: that would let a trader probe any account.
                if uow.context.caller.office is Office.FRONT:
                    raise refused.without_figures() from None
                raise
            (await load_voucher(uow, details)).claim(request_id=request_id)
            guard_unconstrained(uow, accounts)
            uow.add(request)
            return await uow.commit(request)

    async def approve_booking_request(
        self, command: DecideBookingRequest, uow: UnitOfWork
    ) -> CommandResult:
        entry_id = str(new_event_id())
        async with uow:
            request = await _get_request(uow, command)
            assert request.details is not None
            accounts = await load_accounts(uow, touched_accounts(request.lines))
            period = await load_period(uow, request.details.booking_date)
            # The approval and its posted entry continue the case the submission started.
            with uow.continuing_case(request):
                entry = approve_request(
                    request, entry_id, accounts, period, approver_of(uow.context), self.clock()
                )
                voucher = await load_voucher(uow, request.details)
                voucher.claim(entry_id=entry_id, request_id=request.id)
            guard_unconstrained(uow, accounts)
            uow.add(entry)  # last: its position is the one to wait for to read the balance
            return await uow.commit(entry)

    async def reject_booking_request(
        self, command: DecideBookingRequest, uow: UnitOfWork
    ) -> CommandResult:
        async with uow:
            request = await _get_request(uow, command)
            accounts = await load_accounts(uow, touched_accounts(request.lines))
            with uow.continuing_case(request):
                reject_request(
                    request, accounts, approver_of(uow.context), command.reason, self.clock()
                )
                await _release_voucher(uow, request, "rejected")
            uow.add(request)
            return await uow.commit(request)

    async def expire_booking_request(
        self, command: ExpireBookingRequest, uow: UnitOfWork
    ) -> CommandResult:
        async with uow:
            request = await _get_request(uow, DecideBookingRequest(command.request_id))
            accounts = await load_accounts(uow, touched_accounts(request.lines))
            with uow.continuing_case(request):
                expire_request(request, accounts, self.clock())
                await _release_voucher(uow, request, "expired")
            uow.add(request)
            return await uow.commit(request)

    async def close_period(self, command: ClosePeriod, uow: UnitOfWork) -> CommandResult:
        """Close a month that has no pending booking requests (see ``app.period_close``)."""
        period = Period.of(command.period)
        snapshot = await self.pending_requests.pending_in(period.period)
        async with uow:
            period = await uow.find(Period, period.id) or period
            # From here no submission commits before the close: each either shows below or
            # meets the closed period at its own commit (its guard), never both unnoticed.
            await uow.hold_appends()
            pending = await pending_requests_in(uow, period.period, snapshot)
            period.close(uow.context.actor.subject, pending)
            uow.add(period)
            return await uow.commit(period)


async def _release_voucher(uow: UnitOfWork, request: BookingRequest, outcome: str) -> None:
    """A request that ends without an entry frees the voucher number it reserved."""
    assert request.details is not None
    (await load_voucher(uow, request.details)).release(request.id, outcome)


async def _get_account(uow: UnitOfWork, account_id: str, expected_version: int | None) -> Account:
    """The account (404 naming ``account_id`` when there is none), at the version the client
    decided on (412 otherwise)."""
    account = await uow.find(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist", field="account_id")
    check_version(account.version, expected_version, f"account {account.code}")
    return account


async def _get_request(uow: UnitOfWork, command: DecideBookingRequest) -> BookingRequest:
    request = await uow.find(BookingRequest, command.request_id)
    if request is None or not request.exists:
        raise NotFound(f"booking request {command.request_id} does not exist", field="request_id")
    check_version(request.version, command.expected_version, f"booking request {request.id}")
    return request
