"""The expiry sweeper: pending booking requests whose time is up are expired, which releases
their reservations. Runs in the service (started with the runtime).

Candidates come from the read model; each is then expired by a command that decides on the
write model (only a pending, overdue request expires), so a stale read model, a second
sweeper in another process, or an approval at the same moment can never expire a request
twice or expire a decided one: one of the two commands meets a changed stream and loses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from shared_kernel.commands import CommandBus
from shared_kernel.identity import Caller
from shared_kernel.sweeper import Sweeper
from shared_kernel.unit_of_work import CommandContext

from ledger.app.commands import ExpireBookingRequest, LedgerCommands
from ledger.app.queries import LedgerQueries


class ExpirySweeper(Sweeper[str]):
    caller = Caller.system("ledger-expiry")
    name = "expiry"
    service = "ledger"

    def __init__(
        self,
        bus: CommandBus,
        commands: LedgerCommands,
        queries: LedgerQueries,
        clock: Callable[[], datetime],
        *,
        interval_seconds: float,
        batch: int = 200,
    ) -> None:
        super().__init__(clock, interval_seconds=interval_seconds, batch=batch)
        self._bus = bus
        self._commands = commands
        self._queries = queries

    @property
    def expired(self) -> int:
        return self.handled

    async def candidates(self, now: datetime, limit: int) -> Sequence[str]:
        return await self._queries.due_requests(now, limit)

    async def handle(self, candidate: str, context: CommandContext) -> bool:
        await self._bus.execute(
            context, self._commands.expire_booking_request, ExpireBookingRequest(candidate)
        )
        return True
