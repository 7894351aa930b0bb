"""Command handlers: load, call the domain, save. Each runs in one unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from shared_kernel.errors import Conflict
from shared_kernel.eventstore import new_event_id
from shared_kernel.unit_of_work import CommandResult, UnitOfWork

from ledger.domain import Account, JournalEntry, LineInput

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


@dataclass(frozen=True)
class PostJournalEntry:
    voucher_number: str
    booking_date: date
    text: str
    lines: tuple[LineInput, ...]
    entry_id: UUID | None = None


async def open_account(command: OpenAccount, uow: UnitOfWork) -> CommandResult:
    account_id = account_id_for(command.code)
    async with uow:
        if await uow.find(Account, account_id) is not None:
            raise Conflict(
                f"an account with code {command.code.strip()!r} is already open",
                field="code",
                code="AccountCodeInUse",
            )
        account = Account.open(
            account_id, command.code, command.name, command.account_type, command.currency
        )
        uow.add(account)
        return await uow.commit(account)


async def post_journal_entry(command: PostJournalEntry, uow: UnitOfWork) -> CommandResult:
    entry_id = str(command.entry_id or new_event_id())
    async with uow:
        accounts = await uow.find_many(Account, sorted({line.account_id for line in command.lines}))
        entry = JournalEntry.post(
            entry_id,
            command.voucher_number,
            command.booking_date,
            command.text,
            command.lines,
            accounts,
        )
        uow.add(entry)
        return await uow.commit(entry)
