"""FastAPI dependencies of the ledger: the service container, the caller, consistency waits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from shared_kernel.identity import Identity, IdentityVerifier
from shared_kernel.web import Consistency, identity_dependency

from ledger.bootstrap import Ledger


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def _verifier(request: Request) -> IdentityVerifier:
    return get_ledger(request).runtime.verifier


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
