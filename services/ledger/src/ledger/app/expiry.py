"""The expiry sweeper: pending booking requests whose time is up are expired, which releases
their reservations. Runs in the service (started with the runtime).

Candidates come from the read model; each is then expired by a command that decides on the
write model (only a pending, overdue request expires), so a stale read model, a second
sweeper in another process, or an approval at the same moment can never expire a request
twice or expire a decided one: one of the two commands meets a changed stream and loses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from shared_kernel.envelope import Actor
from shared_kernel.errors import Conflict, DomainError
from shared_kernel.unit_of_work import CommandContext

from ledger.app.commands import ExpireBookingRequest, LedgerCommands
from ledger.app.queries import LedgerQueries

log = logging.getLogger(__name__)

SWEEPER = Actor.system("ledger-expiry")


class ExpirySweeper:
    def __init__(
        self,
        commands: LedgerCommands,
        queries: LedgerQueries,
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
        """Expire the overdue requests the read model knows of; returns how many."""
        done = 0
        for request_id in await self._queries.due_requests(self._clock(), self._batch):
            context = CommandContext(actor=SWEEPER, causation_id=f"expiry:{request_id}")
            try:
                await self._commands.execute(
                    context,
                    self._commands.expire_booking_request,
                    ExpireBookingRequest(request_id),
                )
                done += 1
            except Conflict as exc:
                # Decided or expired meanwhile (by someone else): nothing to do.
                log.debug("booking request %s not expired: %s", request_id, exc.detail)
            except DomainError as exc:
                log.warning("booking request %s not expired: %s", request_id, exc.detail)
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
                log.exception("expiry sweep failed; retrying in %.1fs", self._interval)
            await asyncio.sleep(self._interval)
