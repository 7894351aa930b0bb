"""The ledger's command handlers on the kernel's in-memory backend: what they store, what they
refuse (and then store nothing), and how a repeated Idempotency-Key is answered."""

from __future__ import annotations

from datetime import date

import pytest
from ledger.app.commands import (
    LedgerCommands,
    OpenAccount,
    PostJournalEntry,
    RenameAccount,
    ReverseJournalEntry,
    account_id_for,
)
from ledger.bootstrap import ledger_codec
from ledger.domain import AccountRenamed, EntryDetails, LineInput
from shared_kernel.commands import CommandBus, PreconditionFailed
from shared_kernel.errors import DomainError, NotFound
from shared_kernel.identity import Caller
from shared_kernel.memory import InMemoryBackend
from shared_kernel.roles import Role
from shared_kernel.unit_of_work import CommandContext, Idempotency

pytestmark = pytest.mark.unit

CODEC = ledger_codec()  # built once: building a codec takes a moment
DAY = date(2026, 11, 26)


def anna(key: str | None = None, request: str = "r") -> CommandContext:
    return CommandContext(
        Caller("user:anna", {Role.ACCOUNTANT}, "back"),
        idempotency=Idempotency(key, request) if key else None,
    )


async def ledger_with_accounts() -> tuple[LedgerCommands, CommandBus, InMemoryBackend]:
    backend = InMemoryBackend(CODEC, source="/ledger")
    commands, bus = LedgerCommands(), CommandBus(backend.make_uow)
    for code, kind, constraint in (
        ("1200", "asset", "credits_must_not_exceed_debits"),
        ("8000", "revenue", "none"),
    ):
        command = OpenAccount(code, f"Account {code}", kind, "EUR", balance_constraint=constraint)
        await bus.execute(anna(), commands.open_account, command)
    return commands, bus, backend


def entry(voucher: str, amount: int) -> PostJournalEntry:
    """Cash in: debit the bank (1200), credit revenue (8000)."""
    return PostJournalEntry(
        EntryDetails(voucher, DAY, "sale"),
        (
            LineInput(account_id_for("1200"), "debit", amount, "EUR"),
            LineInput(account_id_for("8000"), "credit", amount, "EUR"),
        ),
    )


async def test_a_posting_is_stored_with_its_position_and_a_repeat_gets_the_first_answer() -> None:
    commands, bus, backend = await ledger_with_accounts()
    before = len(backend.events())

    first = await bus.execute(anna("k1"), commands.post_journal_entry, entry("V-1", 100))
    again = await bus.execute(anna("k1"), commands.post_journal_entry, entry("V-1", 100))

    stored = backend.events()[before:]
    assert first.position == stored[-1].position and not first.replayed
    assert again.replayed and (again.aggregate_id, again.position) == (
        first.aggregate_id,
        first.position,
    )
    assert len(backend.events()) == len(stored) + before  # the repeat stored nothing
    assert [e.event_type for e in backend.events(first.aggregate_id)] == [
        "ledger.JournalEntryPosted"
    ]


async def test_a_refused_posting_stores_nothing() -> None:
    commands, bus, backend = await ledger_with_accounts()
    await bus.execute(anna(), commands.post_journal_entry, entry("V-1", 100))
    before = len(backend.events())
    overdraw = PostJournalEntry(
        EntryDetails("V-2", DAY, "refund"),
        (
            LineInput(account_id_for("8000"), "debit", 500, "EUR"),
            LineInput(account_id_for("1200"), "credit", 500, "EUR"),
        ),
    )

    with pytest.raises(DomainError) as refused:
        await bus.execute(anna(), commands.post_journal_entry, overdraw)

    assert refused.value.code == "InsufficientFunds"
    assert len(backend.events()) == before


async def test_an_entry_is_reversed_once() -> None:
    commands, bus, backend = await ledger_with_accounts()
    posted = await bus.execute(anna(), commands.post_journal_entry, entry("V-1", 100))
    reverse = ReverseJournalEntry(posted.aggregate_id, "typo")

    await bus.execute(anna(), commands.reverse_journal_entry, reverse)
    with pytest.raises(DomainError) as refused:
        await bus.execute(anna(), commands.reverse_journal_entry, reverse)

    assert refused.value.code == "EntryAlreadyReversed"
    types = [e.event_type for e in backend.events(posted.aggregate_id)]
    assert types == ["ledger.JournalEntryPosted", "ledger.JournalEntryReversed"]


async def test_a_rename_is_stored_with_who_and_why_and_a_stale_version_stores_nothing() -> None:
    commands, bus, backend = await ledger_with_accounts()
    bank = account_id_for("1200")
    stale = RenameAccount(bank, "Bank Sparkasse", "merger", expected_version=7)

    with pytest.raises(PreconditionFailed) as refused:
        await bus.execute(anna(), commands.rename_account, stale)
    assert (refused.value.status, refused.value.field) == (412, "If-Match")
    current = RenameAccount(bank, "Bank Sparkasse", "merger", expected_version=1)
    renamed = await bus.execute(anna(), commands.rename_account, current)

    stored = backend.events(bank)
    assert [e.event_type for e in stored] == ["ledger.AccountOpened", "ledger.AccountRenamed"]
    assert (renamed.aggregate_id, renamed.version, renamed.position) == (
        bank,
        2,
        stored[-1].position,
    )
    event = CODEC.decode_envelope(stored[-1])
    assert event == AccountRenamed(bank, "Bank Sparkasse", "user:anna", "merger")


async def test_renaming_an_unknown_account_is_not_found_naming_the_account() -> None:
    commands, bus, backend = await ledger_with_accounts()
    before = len(backend.events())

    with pytest.raises(NotFound) as refused:
        await bus.execute(anna(), commands.rename_account, RenameAccount("nope", "X", "why"))

    assert refused.value.field == "account_id"
    assert len(backend.events()) == before
