"""What every command handler of the risk service shares: the clock, ``If-Match`` checks and
running a handler once per Idempotency-Key with retries on concurrency conflicts."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from shared_kernel.errors import ConcurrencyConflict, Conflict
from shared_kernel.unit_of_work import CommandContext, CommandResult, UnitOfWork, run_command

C = TypeVar("C")
Clock = Callable[[], datetime]
Handler = Callable[[C, UnitOfWork], Awaitable[CommandResult]]
MakeUnitOfWork = Callable[[CommandContext], UnitOfWork]


def utc_now() -> datetime:
    return datetime.now(UTC)


class StaleVersion(Conflict):
    """The client's ``If-Match`` names an older version: it decided on stale state (409).

    Not a ``ConcurrencyConflict``: rerunning the command cannot help, the client must reload."""

    code = "VersionMismatch"


def check_version(actual: int, expected: int | None, what: str) -> None:
    if expected is not None and expected != actual:
        raise StaleVersion(
            f"{what} is at version {actual}, not {expected}; reload it and decide again",
            field="If-Match",
            code="VersionMismatch",
        )


@dataclass
class CommandRunner:
    """Runs command handlers: once per Idempotency-Key, rerun on a concurrency conflict."""

    make_uow: MakeUnitOfWork
    attempts: int = 8
    _random: random.Random = field(default_factory=random.Random)

    async def execute(
        self, context: CommandContext, handler: Handler[C], command: C
    ) -> CommandResult:
        for attempt in range(1, self.attempts + 1):
            try:
                return await run_command(self.make_uow, context, handler, command)
            except ConcurrencyConflict:
                if attempt == self.attempts:
                    raise
                await asyncio.sleep(self._random.uniform(0, min(0.2, 0.002 * 2**attempt)))
        raise AssertionError("unreachable")
