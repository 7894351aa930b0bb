"""Routes of limits (four-eyes requests and approvals, versions), breach measures, and the
limit reports (utilisation, breaches in a period).

Risk officers of the back office request, approve and reject; the approver is never the
requester (checked by the domain). Risk officers, controllers and auditors read. Back-office
risk officers and controllers record the measures taken about a breach.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from shared_kernel.api_types import JSON_INTEGER
from shared_kernel.identity import require_any_role

from risk.api.dependencies import (
    MEASURE_RECORDERS,
    READERS,
    RISK_OFFICERS,
    Caller,
    CommandCall,
    Consistent,
    RiskDep,
    command_call,
)
from risk.app.limits import (
    DecideLimitChange,
    RecordBreachMeasures,
    RequestLimit,
    RequestLimitChange,
)
from risk.app.limits_queries import MAX_PAGE, LimitFilter
from risk.domain.limits import Dimension, LimitScope, LimitTerms
from risk.domain.thresholds import DEFAULT_WARNING_BP, FULL_BP

router = APIRouter(tags=["limits"])

UUID_PATTERN = r"^[0-9a-fA-F-]{36}$"
PLAIN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

LimitId = Annotated[str, Path(pattern=UUID_PATTERN)]
BreachId = Annotated[str, Path(pattern=UUID_PATTERN)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE)]
KeyValue = Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
Amount = Annotated[
    int,
    Field(strict=True, gt=0, le=10**17, description="minor units", examples=[1_000_000_00]),
    JSON_INTEGER,
]
Share = Annotated[
    Decimal,
    Field(
        gt=0, le=1, max_digits=6, decimal_places=4, description="share of the amount, 0.8 = 80 %"
    ),
]
Reason = Annotated[str, Field(max_length=2000, pattern=PLAIN)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TermsBody(Body):
    amount: Amount
    valid_from: AwareDatetime | None = Field(default=None, description="default: now")
    valid_to: AwareDatetime | None = None
    warning_threshold: Share = Decimal(DEFAULT_WARNING_BP) / FULL_BP
    reason: Reason = ""

    def terms(self, now: datetime) -> LimitTerms:
        return LimitTerms(
            amount=self.amount,
            valid_from=self.valid_from or now,
            valid_to=self.valid_to,
            warning_threshold_bp=int(self.warning_threshold * FULL_BP),
        )


class LimitBody(TermsBody):
    dimension: Dimension
    counterparty: KeyValue | None = None
    desk: KeyValue | None = None
    currency: Currency

    def scope(self) -> LimitScope:
        return LimitScope(self.dimension, self.counterparty, self.desk, self.currency)


class DecisionBody(Body):
    reason: Reason = ""


class RejectionBody(Body):
    reason: Annotated[str, Field(min_length=1, max_length=2000, pattern=PLAIN)]


class MeasuresBody(Body):
    measures: Annotated[str, Field(min_length=1, max_length=2000, pattern=PLAIN)]


class Written(BaseModel):
    """What a command answers: the record, its new version, and the position to read at."""

    id: str
    version: int
    position: int


class LimitPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


@router.post("/v1/limits", status_code=status.HTTP_201_CREATED, response_model=Written)
async def request_limit(
    body: LimitBody,
    risk: RiskDep,
    cmd: Annotated[CommandCall, Depends(command_call(RISK_OFFICERS, "requesting a limit"))],
) -> Any:
    """Request a new limit: inactive until a second risk officer approves it."""
    command = RequestLimit(body.scope(), body.terms(risk.clock()), body.reason)
    return await cmd.written(risk.limits.request_limit, command, location="/v1/limits/{id}")


@router.post("/v1/limits/{limit_id}/change-requests", response_model=Written)
async def request_change(
    limit_id: LimitId,
    body: TermsBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(RISK_OFFICERS, "requesting a limit change", if_match=True)),
    ],
) -> Any:
    """Request new terms (amount, validity, warning threshold) for a limit."""
    terms = body.terms(risk.clock())
    command = RequestLimitChange(limit_id, terms, body.reason, cmd.expected_version)
    return await cmd.written(risk.limits.request_change, command)


@router.post("/v1/limits/{limit_id}/approval", response_model=Written)
async def approve(
    limit_id: LimitId,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "approving a limit change", if_match=True))
    ],
    body: DecisionBody | None = None,
) -> Any:
    """Approve the pending request (four-eyes: never the requester): a new version."""
    command = DecideLimitChange(limit_id, body.reason if body else "", cmd.expected_version)
    return await cmd.written(risk.limits.approve, command)


@router.post("/v1/limits/{limit_id}/rejection", response_model=Written)
async def reject(
    limit_id: LimitId,
    body: RejectionBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall, Depends(command_call(RISK_OFFICERS, "rejecting a limit change", if_match=True))
    ],
) -> Any:
    """Reject the pending request (or withdraw one's own), with a reason."""
    command = DecideLimitChange(limit_id, body.reason, cmd.expected_version)
    return await cmd.written(risk.limits.reject, command)


@router.get("/v1/limits", response_model=LimitPage, dependencies=[Consistent])
async def list_limits(
    risk: RiskDep,
    caller: Caller,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: PageSize = 50,
    counterparty: Annotated[str | None, Query(max_length=200)] = None,
    desk: Annotated[str | None, Query(max_length=200)] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    dimension: Dimension | None = None,
) -> Any:
    require_any_role(caller, READERS, "reading limits")
    where = LimitFilter(counterparty, desk, currency, dimension.value if dimension else None)
    page = await risk.limit_queries.limits(where, cursor, limit, risk.clock())
    return LimitPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/v1/limits/{limit_id}", dependencies=[Consistent])
async def get_limit(limit_id: LimitId, risk: RiskDep, caller: Caller) -> Any:
    require_any_role(caller, READERS, "reading a limit")
    return await risk.limit_queries.limit(limit_id, risk.clock())


@router.get("/v1/limits/{limit_id}/versions", dependencies=[Consistent])
async def limit_versions(limit_id: LimitId, risk: RiskDep, caller: Caller) -> Any:
    """Every approved version of the limit, oldest first."""
    require_any_role(caller, READERS, "reading limit versions")
    return {"limit_id": limit_id, "versions": await risk.limit_queries.versions(limit_id)}


@router.post("/v1/limit-breaches/{breach_id}/measures", response_model=Written)
async def record_measures(
    breach_id: BreachId,
    body: MeasuresBody,
    risk: RiskDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(MEASURE_RECORDERS, "recording breach measures", if_match=True)),
    ],
) -> Any:
    """Record the measures taken about a breach (back office). 200: the breach (If-Match
    names its version) changed; no new record is created."""
    command = RecordBreachMeasures(breach_id, body.measures, cmd.expected_version)
    return await cmd.written(risk.limits.record_measures, command)


@router.get("/v1/reports/limit-utilisation", response_model=LimitPage, dependencies=[Consistent])
async def limit_utilisation(
    risk: RiskDep,
    caller: Caller,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: PageSize = 100,
    counterparty: Annotated[str | None, Query(max_length=200)] = None,
    desk: Annotated[str | None, Query(max_length=200)] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
) -> Any:
    """Every limit with an approved version, with its exposure and utilisation."""
    require_any_role(caller, READERS, "reading the limit utilisation report")
    where = LimitFilter(counterparty, desk, currency)
    page = await risk.limit_queries.utilisation_report(where, cursor, limit, risk.clock())
    return LimitPage(items=page.items, next_cursor=page.next_cursor)


CrossingKind = Literal["breached", "warning_reached", "back_within_threshold"]


@router.get("/v1/reports/breaches", response_model=LimitPage, dependencies=[Consistent])
async def breaches(
    risk: RiskDep,
    caller: Caller,
    start: Annotated[AwareDatetime, Query(alias="from")],
    end: Annotated[AwareDatetime, Query(alias="to")],
    kind: Annotated[list[CrossingKind] | None, Query()] = None,
    limit_id: Annotated[str | None, Query(pattern=UUID_PATTERN)] = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: PageSize = 100,
) -> Any:
    """Crossings in [from, to): breaches by default (``kind`` may add warnings and returns
    below a threshold), each with the measures recorded about it."""
    require_any_role(caller, READERS, "reading the breach report")
    kinds: list[str] = [str(k) for k in kind] if kind else ["breached"]
    page = await risk.limit_queries.crossings(start, end, kinds, limit_id, cursor, limit)
    return LimitPage(items=page.items, next_cursor=page.next_cursor)
