"""The acceptance-expiry sweeper: acceptances whose time is up expire, and their risks are
due for review at once. Runs in the service (a background task of the lifespan).

Candidates come from the read model; each is then expired by a command that decides on the
write model (only an open acceptance whose ``until`` day is over expires), so a stale read
model, a restart, a second sweeper or a decision at the same moment can never expire an
acceptance twice: the second command finds it expired, or meets a changed stream and loses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from shared_kernel.commands import CommandBus
from shared_kernel.identity import Caller
from shared_kernel.sweeper import Sweeper
from shared_kernel.unit_of_work import CommandContext

from risk.app.register import DecideAcceptance, RegisterCommands
from risk.app.register_queries import RegisterQueries

SWEEPER = Caller.system("risk-acceptance-expiry")


class AcceptanceExpirySweeper(Sweeper[tuple[str, str]]):
    """Candidates are (risk id, acceptance id) pairs."""

    caller = SWEEPER
    name = "expiry"
    service = "risk"

    def __init__(
        self,
        bus: CommandBus,
        commands: RegisterCommands,
        queries: RegisterQueries,
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

    def key(self, candidate: tuple[str, str]) -> str:
        return candidate[1]

    async def candidates(self, now: datetime, limit: int) -> Sequence[tuple[str, str]]:
        return await self._queries.acceptances_due_to_expire(now, limit)

    async def handle(self, candidate: tuple[str, str], context: CommandContext) -> bool:
        risk_id, acceptance_id = candidate
        await self._bus.execute(
            context,
            self._commands.expire_acceptance,
            DecideAcceptance(risk_id, acceptance_id=acceptance_id),
        )
        return True
