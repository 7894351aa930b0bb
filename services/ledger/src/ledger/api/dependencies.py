"""FastAPI dependencies of the ledger: the service container, the caller, consistency waits,
``If-Match`` versions, and who may do what (enforced again behind the gateway)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Response
from shared_kernel.errors import DomainError
from shared_kernel.identity import Identity, IdentityVerifier
from shared_kernel.web import Consistency, identity_dependency

from ledger.bootstrap import Ledger

BOOKKEEPERS = frozenset({"accountant", "controller"})
REQUESTERS = frozenset({"trader", "customer-service"}) | BOOKKEEPERS
READERS = BOOKKEEPERS | {"risk-officer", "auditor"}
AUDITORS = BOOKKEEPERS | {"auditor"}


def ledger_of(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def _verifier(request: Request) -> IdentityVerifier:
    return ledger_of(request).runtime.verifier


async def get_ledger(request: Request) -> Ledger:
    """Async so that FastAPI does not hop to a thread pool on every request."""
    return ledger_of(request)


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
Caller = Annotated[Identity, Depends(identity_dependency(_verifier))]


async def read_your_writes(
    ledger: LedgerDep, response: Response, consistency: Annotated[Consistency, Depends()]
) -> None:
    """When the client names a position, wait (bounded) for the read model to reach it and
    say in ``X-Consistent`` whether it did."""
    if consistency.min_position is None:
        return
    wait = min(consistency.wait_seconds, ledger.runtime.settings.read_wait_max_seconds)
    reached = await ledger.waiter.wait_for(consistency.min_position, wait)
    response.headers["X-Consistent"] = "true" if reached else "false"


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
