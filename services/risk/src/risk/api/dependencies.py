"""FastAPI dependencies of the risk service: the service container, the caller, command
routes, consistency waits, and who may do what (enforced again behind the gateway)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from shared_kernel.command_api import CommandCall, CommandRoutes
from shared_kernel.commands import CommandBus
from shared_kernel.errors import PermissionDenied
from shared_kernel.identity import Identity, IdentityVerifier, require_any_role
from shared_kernel.readmodel import PositionWaiter
from shared_kernel.web import IfMatch, identity_dependency, read_your_writes

from risk.bootstrap import Risk

# Back office: the risk officer maintains register, limits and KRIs and approves.
RISK_OFFICERS = frozenset({"risk-officer"})
# Who may read the register, limits, KRIs and reports.
READERS = RISK_OFFICERS | {"controller", "auditor"}
BACK_OFFICE = "back"


def risk_of(request: Request) -> Risk:
    risk: Risk = request.app.state.risk
    return risk


def _verifier(request: Request) -> IdentityVerifier:
    return risk_of(request).runtime.verifier


async def get_risk(request: Request) -> Risk:
    """Async so that FastAPI does not hop to a thread pool on every request."""
    return risk_of(request)


RiskDep = Annotated[Risk, Depends(get_risk)]
_identity = identity_dependency(_verifier)
Caller = Annotated[Identity, Depends(_identity)]


def require_back_office(identity: Identity, allowed: frozenset[str], action: str) -> None:
    """One of ``allowed`` roles, acting for the back office (front office never maintains
    the register or approves)."""
    require_any_role(identity, allowed, action)
    if identity.office != BACK_OFFICE:
        raise PermissionDenied(
            f"{action} is back-office work; {identity.subject} acts for the "
            f"{identity.office} office",
            code="BackOfficeRequired",
        )


def _bus(request: Request) -> CommandBus:
    return risk_of(request).bus


# A command route's dependency: ``Depends(command_call(roles, "doing X", if_match=...))``;
# commands are back-office work unless a route says otherwise (``permit=require_any_role``).
command_call = CommandRoutes(_bus, _identity, permit=require_back_office)


def _waiters(request: Request) -> tuple[list[PositionWaiter], float]:
    risk = risk_of(request)
    return risk.waiters, risk.runtime.settings.read_wait_max_seconds


# Reads that name ``min_position`` wait (bounded) until every read model has reached it.
Consistent = read_your_writes(_waiters)

__all__ = ["Caller", "CommandCall", "Consistent", "IfMatch", "command_call"]
