"""The SLA scheduler: raises each SLA warning and breach once, also across restarts.

Candidates come from the read model (deadlines at or before now whose alarm has not fired);
each is then checked by a command on the ticket aggregate, which records only the alarms
that are due and not yet recorded in its own events. So a stale read model, a restart, a
replay or rebuild of the read model (projections never emit events), or a second scheduler
in another process cannot raise an alarm twice: the state is in the events, and of two
commands racing on one ticket only one commits (the other reruns and finds nothing due).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from shared_kernel.envelope import Actor
from shared_kernel.errors import DomainError
from shared_kernel.unit_of_work import CommandContext

from tickets.app.commands import RaiseSlaAlarms, TicketCommands
from tickets.app.queries import TicketQueries

log = logging.getLogger(__name__)

SCHEDULER = Actor.system("tickets-sla")


class SlaScheduler:
    def __init__(
        self,
        commands: TicketCommands,
        queries: TicketQueries,
        clock: Callable[[], datetime],
        *,
        interval_seconds: float,
        batch: int = 500,
    ) -> None:
        self._commands = commands
        self._queries = queries
        self._clock = clock
        self._interval = interval_seconds
        self._batch = batch
        self.checked = 0

    async def sweep_once(self) -> int:
        """Check every ticket the read model says is due; returns on how many tickets an
        alarm was recorded (0 when everything due had fired already)."""
        written = 0
        for ticket_id in await self._queries.sla_candidates(self._clock(), self._batch):
            context = CommandContext(actor=SCHEDULER, causation_id=f"sla:{ticket_id}")
            try:
                result = await self._commands.execute(
                    context, self._commands.raise_sla_alarms, RaiseSlaAlarms(ticket_id)
                )
                written += int(result.position > 0)  # 0: nothing was due any more
            except DomainError as exc:
                log.warning("SLA check of ticket %s failed: %s", ticket_id, exc.detail)
            self.checked += 1
        return written

    async def run(self) -> None:
        """Sweep until cancelled; a failure (database away) is logged and retried."""
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("SLA sweep failed; retrying in %.1fs", self._interval)
            await asyncio.sleep(self._interval)
