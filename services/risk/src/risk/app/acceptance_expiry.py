"""The acceptance-expiry sweeper: acceptances whose time is up expire, and their risks are
due for review at once. Runs in the service (a background task of the lifespan).

Candidates come from the read model; each is then expired by a command that decides on the
write model (only an open acceptance whose ``until`` day is over expires), so a stale read
model, a restart, a second sweeper or a decision at the same moment can never expire an
acceptance twice: the second command finds it expired, or meets a changed stream and loses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from shared_kernel.envelope import Actor
from shared_kernel.errors import Conflict, DomainError
from shared_kernel.unit_of_work import CommandContext

from risk.app.register import DecideAcceptance, RegisterCommands
from risk.app.register_queries import RegisterQueries

log = logging.getLogger(__name__)

SWEEPER = Actor.system("risk-acceptance-expiry")


class AcceptanceExpirySweeper:
    def __init__(
        self,
        commands: RegisterCommands,
        queries: RegisterQueries,
        clock: Callable[[], datetime],
        *,
        interval_seconds: float,
        batch: int = 200,
    ) -> None:
        self._commands = commands
        self._queries = queries
        self._clock = clock
        self._interval = interval_seconds
        self._batch = batch
        self.expired = 0

    async def sweep_once(self) -> int:
        """Expire the due acceptances the read model knows of; returns how many."""
        done = 0
        for risk_id, acceptance_id in await self._queries.acceptances_due_to_expire(
            self._clock(), self._batch
        ):
            context = CommandContext(actor=SWEEPER, causation_id=f"expiry:{acceptance_id}")
            try:
                await self._commands.execute(
                    context,
                    self._commands.expire_acceptance,
                    DecideAcceptance(risk_id, acceptance_id=acceptance_id),
                )
                done += 1
            except Conflict as exc:
                # Expired, decided or closed meanwhile (the read model lagged): nothing to do.
                log.debug("acceptance %s not expired: %s", acceptance_id, exc.detail)
            except DomainError as exc:
                log.warning("acceptance %s not expired: %s", acceptance_id, exc.detail)
        self.expired += done
        return done

    async def run(self) -> None:
        """Sweep until cancelled; a failure (database away) is logged and retried."""
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("acceptance sweep failed; retrying in %.1fs", self._interval)
            await asyncio.sleep(self._interval)
