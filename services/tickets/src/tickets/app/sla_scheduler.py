"""The SLA scheduler: raises each SLA warning and breach once, also across restarts.

Candidates come from the read model (deadlines at or before now whose alarm has not fired);
each is then checked by a command on the ticket aggregate, which records only the alarms
that are due and not yet recorded in its own events. So a stale read model, a restart, a
replay or rebuild of the read model (projections never emit events), or a second scheduler
in another process cannot raise an alarm twice: the state is in the events, and of two
commands racing on one ticket only one commits (the other reruns and finds nothing due).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from shared_kernel.commands import CommandBus
from shared_kernel.identity import Caller
from shared_kernel.sweeper import Sweeper
from shared_kernel.unit_of_work import CommandContext

from tickets.app.commands import RaiseSlaAlarms, TicketCommands
from tickets.app.queries import TicketQueries


class SlaScheduler(Sweeper[str]):
    """``sweep_once`` answers on how many tickets an alarm was recorded (0 when everything
    due had fired already)."""

    caller = Caller.system("tickets-sla")
    name = "sla"
    service = "tickets"

    def __init__(
        self,
        bus: CommandBus,
        commands: TicketCommands,
        queries: TicketQueries,
        clock: Callable[[], datetime],
        *,
        interval_seconds: float,
        batch: int = 500,
    ) -> None:
        super().__init__(clock, interval_seconds=interval_seconds, batch=batch)
        self._bus = bus
        self._commands = commands
        self._queries = queries

    async def candidates(self, now: datetime, limit: int) -> Sequence[str]:
        return await self._queries.sla_candidates(now, limit)

    async def handle(self, candidate: str, context: CommandContext) -> bool:
        result = await self._bus.execute(
            context, self._commands.raise_sla_alarms, RaiseSlaAlarms(candidate)
        )
        return result.position > 0  # 0: nothing was due any more
