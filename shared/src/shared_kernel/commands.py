"""The one command path of every service: a handler, the bus that runs it, and the checks
every handler shares.

A handler is a method of a service's commands class (which holds the clock and the other
collaborators): ``async def handler(self, command, uow) -> CommandResult``. It opens the unit of
work, loads, calls the domain and commits. The ``CommandBus`` runs it once per Idempotency-Key
(a repeat gets the first answer back) and reruns it on a ``ConcurrencyConflict`` (another
command changed a stream it read) with jittered back-off, so it decides again on fresh state.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from shared_kernel.errors import ConcurrencyConflict, Conflict
from shared_kernel.group_commit import DuplicateRequest
from shared_kernel.unit_of_work import CommandContext, CommandResult, UnitOfWork

C = TypeVar("C")
Clock = Callable[[], datetime]
Handler = Callable[[C, UnitOfWork], Awaitable[CommandResult]]
MakeUnitOfWork = Callable[[CommandContext], UnitOfWork]


def utc_now() -> datetime:
    """The services' clock in production (tests pass their own ``Clock``)."""
    return datetime.now(UTC)


class PreconditionFailed(Conflict):
    """The client's ``If-Match`` names another version than the aggregate's current one: it
    decided on stale state (RFC 9110: 412 Precondition Failed). Not a ``ConcurrencyConflict``:
    rerunning the command cannot help, the client must reload and decide again."""

    status = 412
    title = "Precondition failed"
    code = "VersionMismatch"


def check_version(actual: int, expected: int | None, what: str) -> None:
    """Refuse with ``PreconditionFailed`` when the client named a version (``If-Match``) and
    ``what`` (say "ticket 42") is at another one."""
    if expected is not None and expected != actual:
        raise PreconditionFailed(
            f"{what} is at version {actual}, not {expected}; reload it and decide again.",
            field="If-Match",
            code="VersionMismatch",
        )


async def run_command(
    make_uow: MakeUnitOfWork, context: CommandContext, handler: Handler[C], command: C
) -> CommandResult:
    """Run ``handler`` once per Idempotency-Key: a repeat gets the first answer back."""
    if context.idempotency is not None:
        previous = await make_uow(context).answered_before()
        if previous is not None:
            return previous
    try:
        return await handler(command, make_uow(context))
    except DuplicateRequest:
        previous = await make_uow(context).answered_before()
        assert previous is not None, "a duplicate request must have left its answer"
        return previous


async def run_command_retrying(
    make_uow: MakeUnitOfWork,
    context: CommandContext,
    handler: Handler[C],
    command: C,
    *,
    attempts: int,
) -> CommandResult:
    """``run_command``, rerun (up to ``attempts`` times) when another command changed one of
    its streams first: the handler then decides again on the new state."""
    for attempt in range(1, attempts + 1):
        try:
            return await run_command(make_uow, context, handler, command)
        except ConcurrencyConflict:
            if attempt == attempts:
                raise
            # Full jitter, capped: contenders spread out instead of colliding again.
            await asyncio.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))
    raise AssertionError("unreachable")


@dataclass
class CommandBus:
    """Runs a service's command handlers, each in a fresh unit of work: once per
    Idempotency-Key, rerun up to ``attempts`` times on a concurrency conflict."""

    make_uow: MakeUnitOfWork
    attempts: int = 8

    async def execute(
        self, context: CommandContext, handler: Handler[C], command: C
    ) -> CommandResult:
        """Run ``handler`` on ``command`` for the caller described by ``context``."""
        return await run_command_retrying(
            self.make_uow, context, handler, command, attempts=self.attempts
        )
