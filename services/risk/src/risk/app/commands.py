"""What every command handler of the risk service shares: the clock, ``If-Match`` checks and
running a handler once per Idempotency-Key with retries on concurrency conflicts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from shared_kernel.errors import Conflict
from shared_kernel.unit_of_work import (
    CommandContext,
    CommandResult,
    UnitOfWork,
    run_command_retrying,
)

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

    async def execute(
        self, context: CommandContext, handler: Handler[C], command: C
    ) -> CommandResult:
        """Run ``handler`` once per Idempotency-Key, rerunning it on concurrency conflicts."""
        return await run_command_retrying(
            self.make_uow, context, handler, command, attempts=self.attempts
        )
