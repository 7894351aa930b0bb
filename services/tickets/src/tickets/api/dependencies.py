"""FastAPI dependencies of the tickets service: the service container, the caller,
consistency waits, ``If-Match`` versions, and who may do what (enforced again behind the
gateway, which mirrors these sets in its policy)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Response
from shared_kernel.errors import DomainError
from shared_kernel.identity import Identity, IdentityVerifier
from shared_kernel.web import Consistency, identity_dependency

from tickets.bootstrap import Tickets

FRONT_OFFICE = frozenset({"trader", "customer-service"})
AGENTS = frozenset({"it-support"})
ADMINS = frozenset({"admin"})
OBSERVERS = frozenset({"auditor", "controller", "risk-officer"})
MONITORING = frozenset({"monitoring"})

REQUESTERS = FRONT_OFFICE | AGENTS
# Who sees every ticket with its internal notes.
FULL_READERS = AGENTS | ADMINS | OBSERVERS
READERS = FULL_READERS | FRONT_OFFICE
QUEUE_MANAGERS = ADMINS


def sees_everything(caller: Identity) -> bool:
    """Back-office readers see all tickets and internal notes; a front-office requester
    sees the tickets they requested, without internal notes."""
    return caller.has_any(FULL_READERS)


def tickets_of(request: Request) -> Tickets:
    service: Tickets = request.app.state.tickets
    return service


def _verifier(request: Request) -> IdentityVerifier:
    return tickets_of(request).runtime.verifier


async def get_tickets(request: Request) -> Tickets:
    return tickets_of(request)


TicketsDep = Annotated[Tickets, Depends(get_tickets)]
Caller = Annotated[Identity, Depends(identity_dependency(_verifier))]


async def read_your_writes(
    service: TicketsDep, response: Response, consistency: Annotated[Consistency, Depends()]
) -> None:
    """When the client names a position, wait (bounded) for the read model to reach it and
    say in ``X-Consistent`` whether it did."""
    if consistency.min_position is None:
        return
    wait = min(consistency.wait_seconds, service.runtime.settings.read_wait_max_seconds)
    reached = await service.waiter.wait_for(consistency.min_position, wait)
    response.headers["X-Consistent"] = "true" if reached else "false"


Consistent = Depends(read_your_writes)


def expected_version(
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> int | None:
    """The version named by ``If-Match`` (``3`` or ``"3"``), if the client sent one."""
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 9:
        raise DomainError(
            "If-Match must name the version the decision was based on, e.g. If-Match: 2",
            field="If-Match",
            code="InvalidIfMatch",
        )
    return int(value)


IfMatch = Annotated[int | None, Depends(expected_version)]
