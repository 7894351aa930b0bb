"""FastAPI dependencies of the risk service: the service container, the caller, command
routes, consistency waits, and who may do what (enforced again behind the gateway)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from shared_kernel.command_api import CommandCall, CommandRoutes
from shared_kernel.commands import CommandBus
from shared_kernel.errors import PermissionDenied
from shared_kernel.identity import Caller as SignedCaller
from shared_kernel.identity import IdentityVerifier, require_any_role
from shared_kernel.readmodel import PositionWaiter
from shared_kernel.roles import Office, Role
from shared_kernel.web import IfMatch, identity_dependency, read_your_writes

from risk.bootstrap import Risk

# Back office: the risk officer maintains register, limits and KRIs and approves.
RISK_OFFICERS = frozenset({Role.RISK_OFFICER})
# Who may read the register, limits, KRIs and reports.
READERS = RISK_OFFICERS | {Role.CONTROLLER, Role.AUDITOR}
# Who records the measures taken on a limit breach.
MEASURE_RECORDERS = RISK_OFFICERS | {Role.CONTROLLER}
# Who may check a deal against the limits before making it (the front office too).
PRE_DEAL_CALLERS = READERS | {Role.TRADER, Role.CUSTOMER_SERVICE}
# Who posts KRI measurements (monitoring systems too) and who reads KRIs.
MEASURERS = RISK_OFFICERS | {Role.MONITORING}
KRI_READERS = READERS | {Role.MONITORING}


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
Caller = Annotated[SignedCaller, Depends(_identity)]


def require_back_office(caller: SignedCaller, allowed: frozenset[Role], action: str) -> None:
    """One of ``allowed`` roles, acting for the back office (front office never maintains
    the register or approves)."""
    require_any_role(caller, allowed, action)
    if caller.office is not Office.BACK:
        raise PermissionDenied(
            f"{action} is back-office work; {caller.subject} acts for the {caller.office} office",
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
