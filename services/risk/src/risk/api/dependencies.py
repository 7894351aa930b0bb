"""FastAPI dependencies of the risk service: the service container, the caller, consistency
waits, ``If-Match`` versions, and who may do what (enforced again behind the gateway)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from shared_kernel.errors import DomainError, PermissionDenied
from shared_kernel.identity import Identity, IdentityVerifier, require_any_role
from shared_kernel.web import Consistency, identity_dependency

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
Caller = Annotated[Identity, Depends(identity_dependency(_verifier))]


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


async def read_your_writes(
    risk: RiskDep, response: Response, consistency: Annotated[Consistency, Depends()]
) -> None:
    """When the client names a position, wait (bounded) until every read model has reached
    it and say in ``X-Consistent`` whether they did."""
    if consistency.min_position is None:
        return
    wait = min(consistency.wait_seconds, risk.runtime.settings.read_wait_max_seconds)
    position = consistency.min_position
    reached = await asyncio.gather(*(w.wait_for(position, wait) for w in risk.waiters))
    response.headers["X-Consistent"] = "true" if all(reached) else "false"


Consistent = Depends(read_your_writes)


def expected_version(
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> int | None:
    """The version named by ``If-Match`` (``3`` or ``"3"``), if the client sent one."""
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise DomainError(
            "If-Match must name the version the decision was based on, e.g. If-Match: 2",
            field="If-Match",
            code="InvalidIfMatch",
        )
    return int(value)


IfMatch = Annotated[int | None, Depends(expected_version)]
