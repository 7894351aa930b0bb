"""The window roll: once a day, at 00:00 UTC, the rolling-window KRIs are measured again, so
that their values fall as SLA breaches and ratings leave the 30-day window although no new
tickets event comes. Runs in the service (a background task of the lifespan).

Candidates come from the read model (window KRIs with a value measured before today's 00:00);
each is then measured by a command that decides on the write model (``roll_due``) and names
its reading by KRI and instant, so a stale read model, a restart, a second process or an
inbox batch at the same moment never records a day's reading twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from shared_kernel.commands import CommandBus
from shared_kernel.identity import Caller
from shared_kernel.sweeper import Sweeper
from shared_kernel.unit_of_work import CommandContext

from risk.app.kri_commands import KriCommands, RollKriWindow
from risk.app.kri_queries import KriQueries
from risk.domain.kri_windows import WINDOW_RULES, start_of_day

ROLLER = Caller.system("risk-kri-window-roll")


class KriWindowRoll(Sweeper[tuple[str, datetime]]):
    """Candidates are (KRI id, today's 00:00 UTC) pairs."""

    caller = ROLLER
    name = "kri-window-roll"
    service = "risk"

    def __init__(
        self,
        bus: CommandBus,
        commands: KriCommands,
        queries: KriQueries,
        clock: Callable[[], datetime],
        *,
        interval_seconds: float,
    ) -> None:
        super().__init__(clock, interval_seconds=interval_seconds, batch=len(WINDOW_RULES))
        self._bus = bus
        self._commands = commands
        self._queries = queries

    def key(self, candidate: tuple[str, datetime]) -> str:
        kri_id, at = candidate
        return f"{kri_id}@{at.date().isoformat()}"

    async def candidates(self, now: datetime, limit: int) -> Sequence[tuple[str, datetime]]:
        at = start_of_day(now)
        kri_ids = [rule.kri_id for rule in WINDOW_RULES]
        return [(kri_id, at) for kri_id in await self._queries.measured_before(kri_ids, at)]

    async def handle(self, candidate: tuple[str, datetime], context: CommandContext) -> bool:
        kri_id, at = candidate
        await self._bus.execute(context, self._commands.roll_window, RollKriWindow(kri_id, at))
        return True
