"""The clearance of deals ("no deal without a limit"): where risk's decision on a booking
request naming a counterparty or desk stands. Read by those who read limits and exposures
(risk officers, controllers, auditors); the front office sees the answer on its booking
request in the ledger.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel
from shared_kernel.identity import require_any_role

from risk.api.dependencies import READERS, Caller, Consistent, RiskDep

router = APIRouter(tags=["deal clearance"])

RequestId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]


class DealCheckView(BaseModel):
    limit_id: str
    dimension: str
    currency: str
    limit_amount: int
    exposure_before: int
    amount: int
    headroom_before: int
    headroom_after: int


class DealView(BaseModel):
    """``status``: cleared, refused, released (rejected or expired: ``outcome``) or posted
    (``entry_id``); ``decision`` the latest decision (cleared or refused). A refusal names
    its ``code`` (NoActiveLimit, LimitExceeded), ``reason``, the limit and the ``shortfall``;
    ``recheck``: decided by a re-check after a limit was created or raised."""

    request_id: str
    status: str
    decision: str
    counterparty: str | None
    desk: str | None
    amounts: dict[str, int]
    checks: list[DealCheckView]
    code: str | None
    reason: str | None
    limit_id: str | None
    currency: str | None
    limit_amount: int | None
    headroom_before: int | None
    amount: int | None
    shortfall: int | None
    recheck: bool
    decided_at: AwareDatetime
    outcome: str | None
    entry_id: str | None
    updated_at: AwareDatetime
    correlation_id: str
    position: int


@router.get("/v1/deals/{request_id}", response_model=DealView, dependencies=[Consistent])
async def get_deal(request_id: RequestId, risk: RiskDep, caller: Caller) -> Any:
    """The latest clearance decision of the deal of booking request ``request_id``."""
    require_any_role(caller, READERS, "reading deal clearances")
    return await risk.deal_queries.deal(request_id)
