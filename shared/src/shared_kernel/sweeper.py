"""Sweepers: background loops that act when time passes (a request expires, an SLA is due).

Candidates come from a read model; each is then handled by a command that decides on the write
model, so a stale read model, a restart, a second sweeper in another process, or a user acting
at the same moment can never act twice: the decision is the aggregate's, and of two commands
racing on one stream only one commits. A candidate that was decided meanwhile is a conflict and
is skipped quietly; a refusal is logged; a failure of the whole sweep (database away) ends the
run, and the ``Supervisor`` that runs it logs it and starts it again after a back-off.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Generic, TypeVar

from shared_kernel.errors import Conflict, DomainError
from shared_kernel.identity import Caller
from shared_kernel.metrics import SWEEPER_ACTIONS, SWEEPER_RUNS
from shared_kernel.unit_of_work import CommandContext

log = logging.getLogger(__name__)

K = TypeVar("K")


class Sweeper(ABC, Generic[K]):
    """Runs :meth:`handle` for every candidate :meth:`candidates` finds, every interval."""

    #: who runs the sweeper's commands (``Caller.system(name)``), recorded as their actor
    caller: Caller
    #: the causation of each command: ``<name>:<key of the candidate>``
    name: str
    #: the service whose work it does (the ``service`` label of its metrics)
    service: str = ""

    def __init__(
        self, clock: Callable[[], datetime], *, interval_seconds: float, batch: int = 200
    ) -> None:
        self.clock = clock
        self.interval = interval_seconds
        self.batch = batch
        self.handled = 0

    @abstractmethod
    async def candidates(self, now: datetime, limit: int) -> Sequence[K]:
        """Up to ``limit`` candidates that look due at ``now`` (from a read model)."""

    @abstractmethod
    async def handle(self, candidate: K, context: CommandContext) -> bool:
        """Act on one candidate by a command; True when it changed something."""

    def key(self, candidate: K) -> str:
        """How a candidate is named in the command's causation and in logs."""
        return str(candidate)

    async def sweep_once(self) -> int:
        """One pass over the due candidates; returns how many were acted on."""
        done = 0
        for candidate in await self.candidates(self.clock(), self.batch):
            key = self.key(candidate)
            context = CommandContext(self.caller, causation_id=f"{self.name}:{key}")
            try:
                done += int(await self.handle(candidate, context))
            except Conflict as exc:
                log.debug("%s: %s skipped: %s", self.name, key, exc.detail)
            except DomainError as exc:
                log.warning("%s: %s refused: %s", self.name, key, exc.detail)
        self.handled += done
        SWEEPER_RUNS.labels(self.service, self.name).inc()
        SWEEPER_ACTIONS.labels(self.service, self.name).inc(done)
        return done

    async def run(self) -> None:
        """Sweep every interval until cancelled or until a sweep fails (run it under a
        ``Supervisor``, which restarts it)."""
        while True:
            await self.sweep_once()
            await asyncio.sleep(self.interval)
