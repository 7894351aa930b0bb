"""FastAPI dependencies of the tickets service: the service container, the caller,
command routes, consistency waits, and who may do what (enforced again behind the
gateway, which mirrors these sets in its policy)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from shared_kernel.command_api import CommandCall, CommandRoutes
from shared_kernel.commands import CommandBus
from shared_kernel.identity import Caller as SignedCaller
from shared_kernel.identity import IdentityVerifier
from shared_kernel.readmodel import PositionWaiter
from shared_kernel.roles import Role
from shared_kernel.visibility import Visibility
from shared_kernel.web import IfMatch, identity_dependency, read_your_writes

from tickets.bootstrap import Tickets

FRONT_OFFICE = frozenset({Role.TRADER, Role.CUSTOMER_SERVICE})
AGENTS = frozenset({Role.IT_SUPPORT})
ADMINS = frozenset({Role.ADMIN})
OBSERVERS = frozenset({Role.AUDITOR, Role.CONTROLLER, Role.RISK_OFFICER})
MONITORING = frozenset({Role.MONITORING})

REQUESTERS = FRONT_OFFICE | AGENTS
# Who sees every ticket with its internal notes.
FULL_READERS = AGENTS | ADMINS | OBSERVERS
READERS = FULL_READERS | FRONT_OFFICE
QUEUE_MANAGERS = ADMINS


def visibility(caller: SignedCaller) -> Visibility:
    """Back-office readers see all tickets and internal notes; a front-office requester
    sees the tickets they requested, without internal notes."""
    return Visibility.of(caller, FULL_READERS)


def tickets_of(request: Request) -> Tickets:
    service: Tickets = request.app.state.tickets
    return service


def _verifier(request: Request) -> IdentityVerifier:
    return tickets_of(request).runtime.verifier


async def get_tickets(request: Request) -> Tickets:
    return tickets_of(request)


TicketsDep = Annotated[Tickets, Depends(get_tickets)]
_identity = identity_dependency(_verifier)
Caller = Annotated[SignedCaller, Depends(_identity)]


def _bus(request: Request) -> CommandBus:
    return tickets_of(request).bus


# A command route's dependency: ``Depends(command_call(roles, "doing X", if_match=...))``.
command_call = CommandRoutes(_bus, _identity)


def _waiters(request: Request) -> tuple[list[PositionWaiter], float]:
    service = tickets_of(request)
    return [service.waiter], service.runtime.settings.read_wait_max_seconds


# Reads that name ``min_position`` wait for it (bounded) and answer ``X-Consistent``.
Consistent = read_your_writes(_waiters)

__all__ = ["Caller", "CommandCall", "Consistent", "IfMatch", "command_call"]
