"""The period close guard on the in-memory backend: a month with pending booking requests
dated in it is not closed (409 naming them) until they are decided; requests of other months
do not count; the write side decides, whatever the read model's candidates say."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from uuid import uuid4

import pytest
from ledger.app.commands import (
    ClosePeriod,
    DecideBookingRequest,
    LedgerCommands,
    OpenAccount,
    SubmitBookingRequest,
    account_id_for,
)
from ledger.app.period_close import PendingSnapshot
from ledger.bootstrap import ledger_codec
from ledger.domain import EntryDetails, LineInput
from shared_kernel.commands import CommandBus
from shared_kernel.domain import Aggregate
from shared_kernel.errors import Conflict, DomainError
from shared_kernel.identity import Caller
from shared_kernel.memory import InMemoryBackend, InMemoryUnitOfWork
from shared_kernel.roles import Role
from shared_kernel.unit_of_work import CommandContext, CommandResult

pytestmark = pytest.mark.unit

CODEC = ledger_codec()
ANNA = CommandContext(Caller("user:anna", frozenset({Role.ACCOUNTANT}), "back"))
CARLA = CommandContext(Caller("user:carla", frozenset({Role.CONTROLLER}), "back"))
FIONA = CommandContext(Caller("user:fiona", frozenset({Role.TRADER}), "front"))


@dataclass
class FixedIndex:
    """A read model's answer: candidates complete up to ``position``."""

    snapshot: PendingSnapshot

    async def pending_in(self, period: str) -> PendingSnapshot:
        return self.snapshot


async def books(
    commands: LedgerCommands | None = None,
) -> tuple[LedgerCommands, CommandBus, InMemoryBackend]:
    backend = InMemoryBackend(CODEC, "/ledger")
    commands = commands or LedgerCommands()
    bus = CommandBus(backend.make_uow)
    for code, kind in (("1400", "asset"), ("8000", "revenue")):
        await bus.execute(ANNA, commands.open_account, OpenAccount(code, code, kind, "EUR"))
    return commands, bus, backend


async def submit(commands: LedgerCommands, bus: CommandBus, day: date) -> str:
    command = SubmitBookingRequest(
        EntryDetails(f"R-{uuid4().hex[:8]}", day, "expense"),
        (
            LineInput(account_id_for("1400"), "debit", 10_00, "EUR"),
            LineInput(account_id_for("8000"), "credit", 10_00, "EUR"),
        ),
    )
    return (await bus.execute(FIONA, commands.submit_booking_request, command)).aggregate_id


async def test_pending_requests_dated_in_a_month_hold_its_close_until_decided() -> None:
    commands, bus, _ = await books()
    first = await submit(commands, bus, date(2026, 10, 5))
    second = await submit(commands, bus, date(2026, 10, 30))
    await submit(commands, bus, date(2026, 11, 1))  # November's: does not hold October

    with pytest.raises(Conflict) as held:
        await bus.execute(CARLA, commands.close_period, ClosePeriod("2026-10"))
    assert (held.value.code, held.value.field) == ("PendingBookingRequests", "period")
    assert first in held.value.detail and second in held.value.detail

    await bus.execute(ANNA, commands.approve_booking_request, DecideBookingRequest(first))
    reject = DecideBookingRequest(second, "not ours")
    await bus.execute(ANNA, commands.reject_booking_request, reject)
    closed = await bus.execute(CARLA, commands.close_period, ClosePeriod("2026-10"))
    assert closed.aggregate_id == "period:2026-10"

    with pytest.raises(DomainError) as late:
        await submit(commands, bus, date(2026, 10, 31))
    assert late.value.code == "PeriodClosed"


async def test_the_write_side_decides_over_stale_candidates_and_sees_later_submissions() -> None:
    index = FixedIndex(PendingSnapshot())
    commands, bus, backend = await books(LedgerCommands(pending_requests=index))
    decided = await submit(commands, bus, date(2026, 9, 3))
    await bus.execute(ANNA, commands.reject_booking_request, DecideBookingRequest(decided, "no"))

    # The read model still shows the decided request pending, complete up to now.
    head = backend.events()[-1].position
    index.snapshot = PendingSnapshot((decided,), head)
    late = await submit(commands, bus, date(2026, 9, 4))  # after the read model's position

    with pytest.raises(Conflict) as held:
        await bus.execute(CARLA, commands.close_period, ClosePeriod("2026-09"))
    assert late in held.value.detail and decided not in held.value.detail

    await bus.execute(ANNA, commands.reject_booking_request, DecideBookingRequest(late, "no"))
    await bus.execute(CARLA, commands.close_period, ClosePeriod("2026-09"))


async def test_a_submission_committing_while_a_close_decides_meets_the_closed_month() -> None:
    """The narrowest race: the close has found nothing pending and is about to commit when a
    submission for its month commits. It must not: it waits for the close, then its guard on
    the period fails and, rerun, it is refused for the closed month."""
    commands, bus, backend = await books()
    racing: list[asyncio.Task[str]] = []

    class CloseAboutToCommit(InMemoryUnitOfWork):
        async def commit(self, result_for: Aggregate | None = None) -> CommandResult:
            racing.append(asyncio.create_task(submit(commands, bus, date(2026, 8, 14))))
            await asyncio.sleep(0.05)  # room for the submission to run to its commit
            return await super().commit(result_for)

    def closing_uow(context: CommandContext) -> InMemoryUnitOfWork:
        return CloseAboutToCommit(backend.database, backend.store, backend.codec, context)

    closed = await CommandBus(closing_uow).execute(
        CARLA, commands.close_period, ClosePeriod("2026-08")
    )

    assert closed.aggregate_id == "period:2026-08"
    with pytest.raises(DomainError) as refused:
        await racing[0]
    assert refused.value.code == "PeriodClosed"
    assert not [e for e in backend.events() if e.stream_type == "booking_request"]
