"""FastAPI dependencies of the ledger: the service container, the caller, command routes,
consistency waits, and who may do what (enforced again behind the gateway)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from shared_kernel.command_api import CommandCall, CommandRoutes
from shared_kernel.commands import CommandBus
from shared_kernel.identity import Caller as SignedCaller
from shared_kernel.identity import IdentityVerifier
from shared_kernel.readmodel import PositionWaiter
from shared_kernel.roles import Role
from shared_kernel.web import IfMatch, identity_dependency, read_your_writes

from ledger.bootstrap import Ledger

BOOKKEEPERS = frozenset({Role.ACCOUNTANT, Role.CONTROLLER})
REQUESTERS = frozenset({Role.TRADER, Role.CUSTOMER_SERVICE}) | BOOKKEEPERS
READERS = BOOKKEEPERS | {Role.RISK_OFFICER, Role.AUDITOR}
AUDITORS = BOOKKEEPERS | {Role.AUDITOR}


def ledger_of(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def _verifier(request: Request) -> IdentityVerifier:
    return ledger_of(request).runtime.verifier


async def get_ledger(request: Request) -> Ledger:
    """Async so that FastAPI does not hop to a thread pool on every request."""
    return ledger_of(request)


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
_identity = identity_dependency(_verifier)
Caller = Annotated[SignedCaller, Depends(_identity)]


def _bus(request: Request) -> CommandBus:
    return ledger_of(request).bus


# A command route's dependency: ``Depends(command_call(roles, "doing X", if_match=...))``.
command_call = CommandRoutes(_bus, _identity)


def _waiters(request: Request) -> tuple[list[PositionWaiter], float]:
    service = ledger_of(request)
    return [service.waiter], service.runtime.settings.read_wait_max_seconds


# Reads that name ``min_position`` wait for it (bounded) and answer ``X-Consistent``.
Consistent = read_your_writes(_waiters)

__all__ = ["Caller", "CommandCall", "Consistent", "IfMatch", "command_call"]
