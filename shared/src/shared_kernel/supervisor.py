"""Supervised background work: the one place where a service's loops are started and kept alive.

The outbox relay, the projection and inbox runners, sweepers and schedulers each expose ONE run
(a coroutine that works until it fails or is cancelled); a ``Supervisor`` runs it as a task,
logs every crash with its traceback, and starts it again after an exponential back-off (capped).
A run that lasted long enough counts as healthy: the next crash waits the shortest back-off
again. A run that returns has finished its work and is not started again. ``stop`` cancels
every task and waits for them; nothing is restarted once stopping has begun.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

#: makes one run of a piece of background work
RunFactory = Callable[[], Awaitable[None]]


class Supervisor:
    """Runs background work as tasks that restart with back-off after a crash."""

    def __init__(
        self,
        owner: str = "",
        *,
        initial_backoff: float = 0.5,
        max_backoff: float = 10.0,
        healthy_after: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.owner = owner
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.healthy_after = healthy_after
        self._sleep = sleep
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        #: crashes per name of work, for logs and tests
        self.crashes: dict[str, int] = {}

    def spawn(self, name: str, factory: RunFactory) -> asyncio.Task[None]:
        """Run ``factory()`` as a task named ``name``, again after every crash, until stopped."""
        if self._stopping:
            raise RuntimeError(f"{self.owner} supervisor is stopping: {name} not started")
        task = asyncio.create_task(self._supervise(name, factory), name=self._label(name))
        self._tasks.append(task)
        return task

    async def wait(self) -> None:
        """Until every task has finished (for a process that only runs background work)."""
        await asyncio.gather(*self._tasks)

    async def stop(self) -> None:
        """Cancel every task, the last spawned first, and wait until all have ended."""
        self._stopping = True
        try:
            for task in reversed(self._tasks):
                task.cancel()
            for task in self._tasks:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                except Exception:  # already logged by _supervise; stopping must go on
                    log.debug("%s ended with an error while stopping", task.get_name())
            self._tasks.clear()
        finally:
            self._stopping = False

    async def _supervise(self, name: str, factory: RunFactory) -> None:
        label = self._label(name)
        backoff = self.initial_backoff
        while not self._stopping:
            started = self._clock()
            try:
                await factory()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.crashes[name] = self.crashes.get(name, 0) + 1
                if self._clock() - started >= self.healthy_after:
                    backoff = self.initial_backoff  # it ran well for a while: a new failure
                log.exception("%s crashed; restarting in %.1fs", label, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            else:
                log.info("%s finished", label)
                return

    def _label(self, name: str) -> str:
        return f"{self.owner} {name}".strip()
