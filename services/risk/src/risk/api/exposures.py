"""Exposures (read) and the pre-deal check: would a deal of this amount for this
counterparty and/or desk fit every active limit it would count under? No active limit: no
("no deal without a limit").

Front office (traders, customer service) may ask the pre-deal check before they deal; risk
officers, controllers and auditors too. The answer reveals only the limits the deal would
touch. Exposures are read by risk officers, controllers and auditors.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator
from shared_kernel.api_types import JSON_INTEGER
from shared_kernel.identity import require_any_role

from risk.api.dependencies import PRE_DEAL_CALLERS, READERS, Caller, Consistent, RiskDep
from risk.app.limits_queries import MAX_PAGE, LimitFilter, PreDealCheck
from risk.domain.limits import Dimension

router = APIRouter(tags=["pre-deal checks"])

PLAIN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
KeyValue = Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN)]


def _named(field: str) -> dict[str, Any]:
    """JSON Schema: ``field`` is present and holds more than blanks."""
    return {"required": [field], "properties": {field: {"type": "string", "pattern": r"\S"}}}


class PreDealCheckBody(BaseModel):
    """A deal to check: its amount, and whom it is with (a counterparty, a desk, or both)."""

    # The schema says what the validator below checks: one of the two names is given.
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"anyOf": [_named("counterparty"), _named("desk")]}
    )

    counterparty: KeyValue | None = None
    desk: KeyValue | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
    amount: Annotated[
        int, Field(strict=True, gt=0, le=10**17, description="minor units"), JSON_INTEGER
    ]

    @model_validator(mode="after")
    def _names_something(self) -> PreDealCheckBody:
        if not (self.counterparty or "").strip() and not (self.desk or "").strip():
            raise ValueError("name a counterparty, a desk, or both")
        return self


class LimitHeadroom(BaseModel):
    limit_id: str
    limit_version: int
    dimension: str
    amount: int
    exposure: int
    headroom: int
    utilisation_after: float
    utilisation_after_bp: int
    state_after: str


class PreDealAnswer(BaseModel):
    allowed: bool
    reasons: list[str]
    limits: list[LimitHeadroom]


@router.post("/v1/pre-deal-checks", response_model=PreDealAnswer, dependencies=[Consistent])
async def pre_deal_check(body: PreDealCheckBody, risk: RiskDep, caller: Caller) -> Any:
    """Answers ``allowed`` and, per limit touched, the headroom and utilisation after the
    deal. Changes nothing (a check, not a reservation)."""
    require_any_role(caller, PRE_DEAL_CALLERS, "checking a deal against limits")
    check = PreDealCheck(
        currency=body.currency,
        amount=body.amount,
        counterparty=(body.counterparty or "").strip() or None,
        desk=(body.desk or "").strip() or None,
    )
    return await risk.limit_queries.pre_deal_check(check, risk.clock())


class ExposurePage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


@router.get("/v1/exposures", response_model=ExposurePage, dependencies=[Consistent])
async def list_exposures(
    risk: RiskDep,
    caller: Caller,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    counterparty: Annotated[str | None, Query(max_length=200)] = None,
    desk: Annotated[str | None, Query(max_length=200)] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    dimension: Dimension | None = None,
) -> Any:
    """Exposures counted from the ledger, per counterparty, desk, or counterparty on a desk,
    per currency: posted, pending (booking requests awaiting a decision) and their total."""
    require_any_role(caller, READERS, "reading exposures")
    where = LimitFilter(counterparty, desk, currency, dimension.value if dimension else None)
    page = await risk.limit_queries.exposures(where, cursor, limit)
    return ExposurePage(items=page.items, next_cursor=page.next_cursor)
